"""Comparison helpers and team aggregates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from predtrack.errors import ScoringInputError
from predtrack.scoring import (
    bootstrap_ci,
    climatology_loo,
    from_spec,
    paired_compare,
    skill,
    team_binary,
    team_categorical,
    team_quantiles,
)

pytestmark = pytest.mark.filterwarnings("error")


# ------------------------------------------------------------------------ bootstrap


def test_bootstrap_ci_basic() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(0.2, 0.05, size=200)
    lo, hi = bootstrap_ci(v, seed=1)
    assert lo < float(np.mean(v)) < hi
    # the percentile interval of the mean is close to mean -/+ 1.645 sd / sqrt(n)
    half = 1.645 * np.std(v, ddof=1) / math.sqrt(v.size)
    assert hi - lo == pytest.approx(2 * half, rel=0.15)
    assert bootstrap_ci(v, seed=1) == bootstrap_ci(v, seed=1)
    assert bootstrap_ci(v, seed=1, stat=np.median) != (lo, hi)


def _plain_percentile_ci(v: np.ndarray, seed: int, reps: int, level: float = 0.9) -> Any:
    """The interval drawn the plain way: one index matrix from default_rng(seed)."""
    idx = np.random.default_rng(seed).integers(0, v.size, size=(reps, v.size))
    boot = v[idx].mean(axis=1)
    return tuple(np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf"))


@pytest.mark.parametrize("n", [37, 5000, 20_000])
def test_bootstrap_ci_kept_indices_give_the_same_interval(n: int) -> None:
    # Indices are kept between calls of one (n, resamples, seed): other values of that size,
    # and a second call, must give what a fresh draw gives; a Generator seed is never kept.
    from predtrack.scoring import compare

    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.exponential(size=n)
    compare._kept.clear()
    with compare.kept_resamples():
        for values in (a, b, a):
            ci = bootstrap_ci(values, seed=7, n_resamples=300)
            assert ci == _plain_percentile_ci(values, 7, 300)
        assert (n, 300, 7) in compare._kept
        gen_first = bootstrap_ci(b, seed=np.random.default_rng(7), n_resamples=300)
        assert gen_first == _plain_percentile_ci(b, 7, 300)
        assert len(compare._kept) == 1
    assert not compare._kept  # forgotten at the end
    bootstrap_ci(a, seed=7, n_resamples=300)
    assert not compare._kept  # outside, nothing is kept


@pytest.mark.parametrize("n", [1, 2, 999, 4097])
@pytest.mark.parametrize("kept", [True, False])
def test_bootstrap_ci_blocks_and_gathers_give_the_plain_interval(
    n: int, kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Indices are drawn as int32 in blocks and gathered a few rows at a time; odd sizes and
    # many small blocks must still give exactly the one-matrix int64 draw.
    from predtrack.scoring import compare

    monkeypatch.setattr(compare, "_CHUNK", 3 * n + 1)
    monkeypatch.setattr(compare, "_GATHER", 2 * n)
    monkeypatch.setattr(compare, "_KEEP", compare._KEEP if kept else 0)
    compare._kept.clear()
    v = np.random.default_rng(n).standard_t(3, size=n)
    with compare.kept_resamples():
        for _ in range(2):
            assert bootstrap_ci(v, seed=3, n_resamples=101) == _plain_percentile_ci(v, 3, 101)
        assert ((n, 101, 3) in compare._kept) == kept


def test_bootstrap_ci_kept_indices_are_bounded() -> None:
    from predtrack.scoring import compare

    compare._kept.clear()
    with compare.kept_resamples(), compare.kept_resamples():
        big = np.arange(compare._KEEP // 100 + 1, dtype=float)
        bootstrap_ci(big, seed=0, n_resamples=200)  # n x resamples above the bound: not kept
        assert not compare._kept
        sizes = [k * compare._KEEP // 10_000 for k in (3, 4, 5)]
        for n in sizes:  # 1.2 times the bound together: the oldest must go
            bootstrap_ci(np.arange(float(n)), seed=0, n_resamples=1000)
        assert sum(b.size for bs in compare._kept.values() for b in bs) <= compare._KEEP
        assert (sizes[2], 1000, 0) in compare._kept and (sizes[0], 1000, 0) not in compare._kept
    assert not compare._kept


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_bootstrap_cis_are_the_intervals_one_at_a_time(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Samples are split by size over threads that draw and keep indices at once (some sizes
    # kept, one above the bound): each interval must be the plain one, in the given order.
    import threading

    from predtrack.scoring import compare

    monkeypatch.setattr(compare, "_threads", lambda: threads)
    monkeypatch.setattr(compare, "_KEEP", 3000 * 300)
    rng = np.random.default_rng(threads)
    sizes = [3000, 40, 3000, 5000, 40, 2, 3000, 5000]
    samples = [rng.standard_t(4, size=n) for n in sizes]
    reps = [300 if n > 40 else 500 for n in sizes]
    compare._kept.clear()
    before = threading.active_count()
    found = compare.bootstrap_cis(samples, level=0.8, n_resamples=reps, seed=11)
    plain = [_plain_percentile_ci(v, 11, r, 0.8) for v, r in zip(samples, reps, strict=True)]
    assert found == plain
    assert threading.active_count() == before  # no thread outlives the call
    assert not compare._kept
    with pytest.raises(ScoringInputError, match="2 samples but 1 resample counts"):
        compare.bootstrap_cis(samples[:2], n_resamples=[300])


def test_bootstrap_cis_raise_what_a_thread_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from predtrack.scoring import compare

    monkeypatch.setattr(compare, "_threads", lambda: 2)
    with pytest.raises(ScoringInputError, match="NaN"):
        compare.bootstrap_cis([[1.0, 2.0], [1.0, float("nan")]], n_resamples=[200, 300], seed=0)


def test_bootstrap_ci_constant_and_single() -> None:
    assert bootstrap_ci([0.3] * 10, seed=0) == pytest.approx((0.3, 0.3), abs=1e-15)
    assert bootstrap_ci([0.7], seed=0) == (0.7, 0.7)


def test_bootstrap_ci_with_infinite_score() -> None:
    v = np.r_[np.full(99, 0.5), math.inf]
    lo, hi = bootstrap_ci(v, seed=3)
    # P(a resample misses the inf) = 0.99^100 = 0.37 > 0.05: finite lower limit, infinite upper
    assert lo == pytest.approx(0.5) and hi == math.inf
    # the median ignores a single inf
    assert bootstrap_ci(v, seed=3, stat=np.median) == (0.5, 0.5)


def test_bootstrap_ci_stat_without_axis() -> None:
    def spread(a: np.ndarray) -> float:
        return float(np.max(a) - np.min(a))

    lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0], seed=0, stat=spread, n_resamples=200)
    assert 0.0 <= lo <= hi <= 3.0


def test_bootstrap_ci_validation() -> None:
    with pytest.raises(ScoringInputError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ScoringInputError, match="NaN"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ScoringInputError, match="level"):
        bootstrap_ci([1.0], level=0)


# --------------------------------------------------------------------------- paired


def test_paired_compare_reference() -> None:
    # hand: all five differences positive -> exact two-sided Wilcoxon p = 2 / 2^5 = 0.0625
    r = paired_compare([2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 1.0, 1.0, 1.0, 1.0], seed=0)
    assert r.n == 5 and r.mean_diff == pytest.approx(3.0)
    assert r.p_value == pytest.approx(0.0625)
    assert r.ci_lo <= 3.0 <= r.ci_hi
    assert not r.meaningful


def test_paired_compare_meaningful_and_sign() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0.0, 0.2, size=30)
    b = a + 0.1
    r = paired_compare(a, b, seed=0)
    assert r.meaningful and r.n == 30
    assert r.mean_diff == pytest.approx(-0.1)
    assert r.ci_hi < 0 and r.p_value < 1e-5


def test_paired_compare_degenerate() -> None:
    r = paired_compare([0.1, 0.2], [0.1, 0.2])
    assert r.mean_diff == 0.0 and r.p_value == 1.0 and (r.ci_lo, r.ci_hi) == (0.0, 0.0)
    r = paired_compare([], [])
    assert r.n == 0 and math.isnan(r.mean_diff) and math.isnan(r.p_value) and not r.meaningful
    # two infinite scores differ by 0, one infinite score gives an infinite difference
    r = paired_compare([math.inf, 0.3, 0.2], [math.inf, 0.1, 0.1], seed=0)
    assert r.mean_diff == pytest.approx(0.1) and math.isfinite(r.p_value)
    r = paired_compare([math.inf, 0.3, 0.2], [0.5, 0.1, 0.1], seed=0)
    assert r.mean_diff == math.inf and r.ci_hi == math.inf
    with pytest.raises(ScoringInputError, match="shapes"):
        paired_compare([1.0, 2.0], [1.0])
    with pytest.raises(ScoringInputError, match="NaN"):
        paired_compare([float("nan")], [1.0])


# ------------------------------------------------------------------ skill, baseline


def test_skill() -> None:
    assert skill(0.1, 0.25) == pytest.approx(0.6)  # hand
    assert skill(0.25, 0.25) == 0.0
    assert math.isnan(skill(0.1, 0.0))
    assert skill(math.inf, 0.25) == -math.inf
    np.testing.assert_allclose(skill([0.1, 0.5], 0.25), [0.6, -1.0])


def test_climatology_loo() -> None:
    # hand: (2 - y_i) / 3
    np.testing.assert_allclose(climatology_loo([1, 0, 0, 1]), [1 / 3, 2 / 3, 2 / 3, 1 / 3])
    np.testing.assert_array_equal(climatology_loo([1]), [0.5])
    assert climatology_loo([]).shape == (0,)
    # the only event gets p = 0 with no pseudocount; (0 + 0.5) / (3 + 1) with Jeffreys' 0.5
    assert climatology_loo([1, 0, 0, 0])[0] == 0.0
    assert climatology_loo([1, 0, 0, 0], pseudocount=0.5)[0] == pytest.approx(0.125)
    with pytest.raises(ScoringInputError, match="0 or 1"):
        climatology_loo([0.5])


# ------------------------------------------------------------------------ aggregates


def test_team_binary_reference() -> None:
    # hand: mean log-odds of 0.5 and 0.8 is ln(4)/2 = ln 2 -> p = 2/3
    assert team_binary([0.5, 0.8]) == pytest.approx(2 / 3)
    # hand: logit(0.9) * (2 - 1) / 3
    assert team_binary([0.9, 0.9, 0.1]) == pytest.approx(float(expit(logit(0.9) / 3)))
    # matrix: rows forecasters, columns questions; NaN = did not answer
    out = team_binary(np.array([[0.5, 0.2], [0.8, np.nan]]))
    np.testing.assert_allclose(out, [2 / 3, 0.2])
    # list of arrays (one per forecaster)
    np.testing.assert_allclose(
        team_binary([np.array([0.5, 0.2]), np.array([0.8, 0.2])]), [2 / 3, 0.2]
    )


def test_team_binary_certainty_is_clipped_for_the_aggregate_only() -> None:
    eps = 1e-9
    expected = float(expit((math.log((1 - eps) / eps) + 0.0) / 2))
    assert team_binary([1.0, 0.5]) == pytest.approx(expected)
    assert team_binary([1.0, 0.0]) == pytest.approx(0.5)
    assert team_binary([1.0]) == pytest.approx(1 - eps)
    with pytest.raises(ScoringInputError, match="at least one"):
        team_binary(np.array([[0.5, np.nan]]))
    with pytest.raises(ScoringInputError, match="probability"):
        team_binary([0.5, 1.5])


def test_team_categorical() -> None:
    probs = [[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.1, 0.8, 0.1]]
    # hand: medians (0.5, 0.3, 0.1) sum 0.9
    np.testing.assert_allclose(team_categorical(probs), np.array([0.5, 0.3, 0.1]) / 0.9)
    # all medians zero: fall back to the mean
    eye = np.eye(3)
    np.testing.assert_allclose(team_categorical(eye), [1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ScoringInputError, match="sum to 1"):
        team_categorical([[0.5, 0.2]])


def test_team_quantiles() -> None:
    specs = [
        {"family": "normal", "mu": 0.0, "sigma": 1.0},
        {"family": "normal", "mu": 2.0, "sigma": 1.0},
        {"family": "normal", "mu": 1.0, "sigma": 1.0},
    ]
    t = team_quantiles(specs)
    assert t["family"] == "quantiles"
    np.testing.assert_allclose(t["levels"], [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    np.testing.assert_allclose(t["values"], from_spec(specs[2]).ppf(t["levels"]))
    mixed: list[dict[str, Any]] = [
        {"family": "quantiles", "levels": [0.05, 0.5, 0.95], "values": [10, 14, 20]},
        {"family": "lognormal", "mu": 2.6, "sigma": 0.2},
    ]
    t2 = team_quantiles(mixed, levels=(0.05, 0.5, 0.95), bounds=(3, 25))
    assert len(t2["values"]) == 3 and np.all(np.diff(t2["values"]) > 0)
    assert from_spec(t2, bounds=(3, 25)).cdf(t2["values"][1]) == pytest.approx(0.5)
    with pytest.raises(ScoringInputError, match="at least one"):
        team_quantiles([])


def test_team_quantiles_ties_on_a_bound() -> None:
    # both forecasters put 10% at the lower bound 0: the tie keeps the highest level
    specs = [
        {"family": "quantiles", "levels": [0.1, 0.5, 0.9], "values": [0.0, 0.2, 0.5]},
        {"family": "quantiles", "levels": [0.1, 0.5, 0.9], "values": [0.0, 0.3, 0.6]},
    ]
    t = team_quantiles(specs, levels=(0.05, 0.1, 0.5, 0.9), bounds=(0.0, 1.0))
    assert t["levels"] == [0.1, 0.5, 0.9]
    assert t["values"][0] == 0.0


def test_team_quantiles_many_is_team_quantiles_per_question() -> None:
    # Groups of one size are reduced together: the result must be each question's own median.
    from predtrack.scoring import team_quantiles_many

    rng = np.random.default_rng(4)
    groups: list[list[dict[str, Any]]] = []
    bounds: list[tuple[float, float] | None] = []
    for i in range(60):
        size = 1 + i % 5
        group: list[dict[str, Any]] = []
        for j in range(size):
            mu = float(rng.normal(3, 1))
            if (i + j) % 3 == 0:
                group.append({"family": "normal", "mu": mu, "sigma": float(rng.uniform(0.5, 2))})
            elif (i + j) % 3 == 1:
                group.append({"family": "beta", "alpha": 2.0 + j, "beta": float(rng.uniform(1, 9))})
            else:
                group.append({"family": "quantiles", "levels": [0.1, 0.5, 0.9],
                              "values": [mu - 1, mu, mu + 2]})  # fmt: skip
        groups.append(group)
        bounds.append((-20.0, 40.0) if i % 2 else None)
    many = team_quantiles_many(groups, bounds)
    assert many == [team_quantiles(g, bounds=b) for g, b in zip(groups, bounds, strict=True)]
    with pytest.raises(ScoringInputError, match="at least one"):
        team_quantiles_many([groups[0], []], [None, None])


@settings(max_examples=200, deadline=None)
@given(
    # from 14 the approximation runs here (with ties or zeros; from 51 always); below, SciPy
    n=st.sampled_from([1, 5, 14, 20, 50, 51, 80, 400, 3000]),
    style=st.sampled_from(["smooth", "rounded", "few values", "with zeros", "infinite"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_wilcoxon_p_is_scipys_to_the_bit(n: int, style: str, seed: int) -> None:
    """The normal approximation computed here gives SciPy's floats; small samples go to SciPy."""
    import warnings

    from scipy import stats

    from predtrack.scoring import wilcoxon_p

    rng = np.random.default_rng(seed)
    d = {
        "smooth": lambda: rng.normal(size=n),
        "rounded": lambda: np.round(rng.normal(size=n), 1),
        "few values": lambda: rng.choice([0.0, 0.01, -0.01, 0.02, -0.03], size=n),
        "with zeros": lambda: np.round(rng.normal(size=n) * 0.1, 2) * (rng.random(n) < 0.7),
        # an infinite log score on one side: infinite differences, tied among themselves
        "infinite": lambda: np.where(rng.random(n) < 0.2, np.inf, np.round(rng.normal(size=n), 1)),
    }[style]()
    if not np.any(d != 0):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(stats.wilcoxon(d).pvalue)
    assert wilcoxon_p(d) == expected


def test_paired_compare_of_a_large_sample_needs_no_scipy_stats() -> None:
    from fresh_process import loads

    code = (
        "import numpy as np\n"
        "from predtrack.scoring import paired_compare, binomial_quantile\n"
        "a = np.random.default_rng(0).random(500)\n"
        "paired_compare(a, a[::-1], n_resamples=50, seed=1)\n"
        "binomial_quantile(0.05, 1000, 0.1)"
    )
    assert not loads(code, "scipy.stats")
