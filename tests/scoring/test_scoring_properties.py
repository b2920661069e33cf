"""Property tests (hypothesis): propriety of every score, exact decomposition identities,
order independence, finiteness, and refusal of NaN inputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import roots_jacobi

from predtrack.errors import ScoringInputError
from predtrack.scoring import (
    bootstrap_ci,
    brier,
    brier_multi,
    corp,
    crps_beta,
    crps_lognormal,
    crps_normal,
    crps_quantiles,
    ece,
    interval_score,
    log_multi,
    log_score,
    log_score_normal,
    murphy,
    paired_compare,
    pinball,
    quantile_cdf,
    rps,
    score_continuous,
    spherical,
    spiegelhalter,
)

pytestmark = pytest.mark.filterwarnings("error")

SETTINGS = settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

open_prob = st.floats(min_value=1e-6, max_value=1 - 1e-6)
any_prob = st.one_of(
    st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0]), st.floats(min_value=0, max_value=1)
)


@st.composite
def forecasts_outcomes(draw: Any, probs: Any = any_prob, max_size: int = 60) -> Any:
    n = draw(st.integers(min_value=1, max_value=max_size))
    p = draw(st.lists(probs, min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return np.array(p, dtype=float), np.array(y, dtype=float)


@st.composite
def prob_vector(draw: Any, k: int) -> Any:
    w = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)))
    return w / w.sum()


# ------------------------------------------------------------------------ propriety


@SETTINGS
@given(p=open_prob, q=open_prob)
def test_binary_scores_are_proper(p: float, q: float) -> None:
    def expected(fn: Callable[..., Any], f: float) -> float:
        return q * float(fn(f, 1)) + (1 - q) * float(fn(f, 0))

    assert expected(brier, p) >= expected(brier, q) - 1e-12
    assert expected(log_score, p) >= expected(log_score, q) - 1e-12
    # spherical is positively oriented
    assert expected(spherical, p) <= expected(spherical, q) + 1e-12


@SETTINGS
@given(data=st.data(), k=st.integers(2, 6))
def test_categorical_scores_are_proper(data: Any, k: int) -> None:
    p = data.draw(prob_vector(k))
    q = data.draw(prob_vector(k))
    idx = np.arange(k)
    for fn in (brier_multi, log_multi, rps):
        e_p = float(np.dot(q, fn(np.tile(p, (k, 1)), idx)))
        e_q = float(np.dot(q, fn(np.tile(q, (k, 1)), idx)))
        assert e_p >= e_q - 1e-12, fn.__name__


_GH_X, _GH_W = hermegauss(200)
_GH_W = _GH_W / _GH_W.sum()


@SETTINGS
@given(mu=st.floats(-3, 3), sigma=st.floats(0.2, 5))
def test_crps_normal_is_proper(mu: float, sigma: float) -> None:
    # truth N(0, 1); expectation by 200-node Gauss-Hermite quadrature
    e_true = float(np.dot(_GH_W, crps_normal(0.0, 1.0, _GH_X)))
    e_wrong = float(np.dot(_GH_W, crps_normal(mu, sigma, _GH_X)))
    assert e_true == pytest.approx(1 / math.sqrt(math.pi), abs=1e-12)  # sigma / sqrt(pi)
    assert e_wrong >= e_true - 1e-8
    # the log score as well: expected score of the truth is the entropy 0.5 ln(2 pi e)
    l_true = float(np.dot(_GH_W, log_score_normal(0.0, 1.0, _GH_X)))
    assert l_true == pytest.approx(0.5 * math.log(2 * math.pi * math.e), abs=1e-10)
    assert float(np.dot(_GH_W, log_score_normal(mu, sigma, _GH_X))) >= l_true - 1e-10


@SETTINGS
@given(a0=st.floats(0.75, 10), b0=st.floats(0.75, 10), a=st.floats(0.5, 10), b=st.floats(0.5, 10))
def test_crps_beta_is_proper(a0: float, b0: float, a: float, b: float) -> None:
    # truth Beta(a0, b0); expectation by 300-node Gauss-Jacobi quadrature on its own weight
    # (truth shapes >= 0.75 keep scipy's Jacobi recurrence away from alpha + beta = -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t, w = roots_jacobi(300, b0 - 1, a0 - 1)
    assert np.all(np.isfinite(t)) and np.all(np.isfinite(w))
    x = (1 + t) / 2
    w = w / w.sum()
    e_true = float(np.dot(w, crps_beta(a0, b0, x)))
    e_wrong = float(np.dot(w, crps_beta(a, b, x)))
    assert e_wrong >= e_true - 1e-8


@SETTINGS
@given(mu=st.floats(-1, 1), sigma=st.floats(0.3, 2))
def test_crps_lognormal_is_proper(mu: float, sigma: float) -> None:
    # truth lognormal(0, 0.5): X = exp(0.5 Z), Z by Gauss-Hermite
    x = np.exp(0.5 * _GH_X)
    e_true = float(np.dot(_GH_W, crps_lognormal(0.0, 0.5, x)))
    e_wrong = float(np.dot(_GH_W, crps_lognormal(mu, sigma, x)))
    assert e_wrong >= e_true - 1e-8


@SETTINGS
@given(
    atoms=st.lists(st.floats(-10, 10), min_size=1, max_size=8),
    levels=st.lists(st.floats(0.01, 0.99), min_size=1, max_size=5, unique=True),
    guess=st.lists(st.floats(-12, 12), min_size=5, max_size=5),
)
def test_quantile_scores_are_proper(
    atoms: list[float], levels: list[float], guess: list[float]
) -> None:
    # truth: uniform on the atoms (exact expectations); a tau-quantile of it minimises pinball
    y = np.array(atoms)
    tau = np.sort(np.array(levels))
    k = tau.size
    q_true = np.quantile(y, tau, method="inverted_cdf")
    q_wrong = np.sort(np.array(guess[:k]))
    for j in range(k):
        e_t = float(np.mean(pinball(q_true[j], y, tau[j])))
        e_w = float(np.mean(pinball(q_wrong[j], y, tau[j])))
        assert e_w >= e_t - 1e-12
    e_true = float(np.mean(crps_quantiles(tau, np.tile(q_true, (y.size, 1)), y)))
    e_wrong = float(np.mean(crps_quantiles(tau, np.tile(q_wrong, (y.size, 1)), y)))
    assert e_wrong >= e_true - 1e-12


# ----------------------------------------------------------------- decompositions


@SETTINGS
@given(fo=forecasts_outcomes(), bins=st.integers(1, 20))
def test_murphy_with_within_bin_terms_is_exact(fo: Any, bins: int) -> None:
    p, y = fo
    m = murphy(p, y, bins=bins)
    assert m.rel - m.res + m.unc + m.wbv - m.wbc == pytest.approx(m.brier, abs=1e-12)
    assert m.brier == pytest.approx(float(np.mean(brier(p, y))), abs=1e-12)
    assert int(m.n.sum()) == p.size
    assert m.rel >= 0 and m.res >= 0 and m.wbv >= 0
    assert 0 <= ece(p, y, bins=bins) <= 1


@SETTINGS
@given(data=st.data(), bins=st.integers(1, 20))
def test_murphy_three_terms_exact_with_one_value_per_bin(data: Any, bins: int) -> None:
    n = data.draw(st.integers(1, 60))
    idx = np.array(data.draw(st.lists(st.integers(0, bins - 1), min_size=n, max_size=n)))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    p = (idx + 0.5) / bins  # one forecast value per bin, at the bin centre
    m = murphy(p, y, bins=bins)
    assert m.rel - m.res + m.unc == pytest.approx(m.brier, abs=1e-12)
    assert abs(m.wbv) < 1e-14 and abs(m.wbc) < 1e-14
    # CORP's isotonic recalibration can do no better than the unconstrained per-value one, so
    # MCB <= REL and DSC <= RES, with equality when the event frequencies increase with p
    r = corp(p, y)
    assert r.mcb <= m.rel + 1e-12
    assert r.dsc <= m.res + 1e-12
    freq = m.obs_freq[m.n > 0]
    if np.all(np.diff(freq) >= 0):
        assert (r.mcb, r.dsc) == pytest.approx((m.rel, m.res), abs=1e-12)


@SETTINGS
@given(fo=forecasts_outcomes(), score=st.sampled_from(["brier", "log"]))
def test_corp_identity(fo: Any, score: str) -> None:
    p, y = fo
    r = corp(p, y, score=score)
    elementwise = brier(p, y) if score == "brier" else log_score(p, y)
    if math.isfinite(r.score):
        assert r.score == pytest.approx(float(np.mean(elementwise)), abs=1e-12)
        assert r.mcb - r.dsc + r.unc == pytest.approx(r.score, abs=1e-12)
        assert r.mcb >= -1e-12
    else:
        assert r.mcb == math.inf
        assert r.n_inf == int(np.sum(np.isinf(elementwise))) > 0
    assert r.dsc >= -1e-12 and r.unc >= 0
    assert math.isfinite(r.dsc)
    assert np.all(np.diff(r.cep) >= 0)


@SETTINGS
@given(fo=forecasts_outcomes(), score=st.sampled_from(["brier", "log"]))
def test_corp_mcb_zero_when_forecast_is_its_recalibration(fo: Any, score: str) -> None:
    p, y = fo
    r = corp(p, y)
    recal = r.cep[np.searchsorted(r.x, p)]
    r2 = corp(recal, y, score=score)
    assert math.isfinite(r2.score)
    assert r2.mcb == pytest.approx(0.0, abs=1e-12)
    assert r2.dsc == pytest.approx(corp(p, y, score=score).dsc, abs=1e-12)


@SETTINGS
@given(fo=forecasts_outcomes(), seed=st.integers(0, 2**32 - 1))
def test_corp_order_independent(fo: Any, seed: int) -> None:
    p, y = fo
    perm = np.random.default_rng(seed).permutation(p.size)
    for score in ("brier", "log"):
        a = corp(p, y, score=score)
        b = corp(p[perm], y[perm], score=score)
        assert (a.score, a.mcb, a.dsc, a.unc) == pytest.approx(
            (b.score, b.mcb, b.dsc, b.unc), abs=1e-12
        )
        np.testing.assert_array_equal(a.cep, b.cep)


# -------------------------------------------------------------------- finiteness


@SETTINGS
@given(fo=forecasts_outcomes(probs=open_prob))
def test_scores_finite_inside_unit_interval(fo: Any) -> None:
    p, y = fo
    assert np.all(np.isfinite(log_score(p, y)))
    assert np.all(np.isfinite(spherical(p, y)))
    r = corp(p, y, score="log")
    assert math.isfinite(r.score) and r.n_inf == 0
    z, pv = spiegelhalter(p, y)
    assert math.isnan(z) or (0.0 <= pv <= 1.0)


@SETTINGS
@given(
    mu=st.floats(-1e3, 1e3),
    sigma=st.floats(1e-3, 1e3),
    x=st.floats(-1e4, 1e4),
)
def test_crps_normal_nonnegative_and_finite(mu: float, sigma: float, x: float) -> None:
    c = float(crps_normal(mu, sigma, x))
    assert math.isfinite(c) and c >= -1e-12 * sigma
    # lower bound: CRPS >= |x - mu| - sigma / sqrt(pi) (Jensen on E|X - x|)
    assert c >= abs(x - mu) - sigma / math.sqrt(math.pi) - 1e-9 * (1 + abs(x - mu))


@SETTINGS
@given(
    lo=st.floats(-5, 5),
    w=st.floats(0.01, 5),
    x=st.floats(-20, 20),
    alpha=st.floats(0.01, 0.99),
)
def test_interval_score_equals_sum_of_pinballs(lo: float, w: float, x: float, alpha: float) -> None:
    # Gneiting & Raftery (2007): IS_alpha = (2 / alpha) * (rho_{alpha/2}(l) + rho_{1-alpha/2}(u))
    hi = lo + w
    is_ = float(interval_score(lo, hi, x, alpha))
    via_pinball = (2 / alpha) * (
        float(pinball(lo, x, alpha / 2)) + float(pinball(hi, x, 1 - alpha / 2))
    )
    assert is_ == pytest.approx(via_pinball, rel=1e-9, abs=1e-9)


@SETTINGS
@given(
    values=st.lists(st.floats(-100, 100), min_size=2, max_size=7, unique=True),
    x=st.floats(-300, 300),
)
def test_quantile_cdf_monotone_and_bounded(values: list[float], x: float) -> None:
    v = np.sort(np.array(values))
    assume(np.all(np.diff(v) > 1e-6))
    levels = np.linspace(0.05, 0.95, v.size)
    xs = np.sort(np.r_[x, v, v - 1, v + 1])
    f = quantile_cdf(levels, v, xs)
    assert np.all(np.diff(f) >= -1e-12)
    assert np.all((f >= 0) & (f <= 1))
    np.testing.assert_allclose(quantile_cdf(levels, v, v), levels, atol=1e-12)


# ------------------------------------------------------------------- NaN refused

NAN = float("nan")
NAN_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("brier", lambda: brier([NAN], [1])),
    ("log_score", lambda: log_score([0.5], [NAN])),
    ("spherical", lambda: spherical([NAN], [0])),
    ("murphy", lambda: murphy([0.2, NAN], [1, 0])),
    ("corp", lambda: corp([0.2, NAN], [1, 0])),
    ("spiegelhalter", lambda: spiegelhalter([NAN], [1])),
    ("ece", lambda: ece([NAN], [1])),
    ("crps_normal", lambda: crps_normal(NAN, 1, 0)),
    ("crps_lognormal", lambda: crps_lognormal(0, 1, NAN)),
    ("crps_beta", lambda: crps_beta(1, NAN, 0.5)),
    ("pinball", lambda: pinball(NAN, 1, 0.5)),
    ("crps_quantiles", lambda: crps_quantiles([0.1, 0.9], [0, NAN], 0.5)),
    ("quantile_cdf", lambda: quantile_cdf([0.1, 0.9], [0, 1], NAN)),
    ("brier_multi", lambda: brier_multi([[0.5, NAN]], [0])),
    ("rps", lambda: rps([[0.5, 0.5]], [NAN])),
    ("bootstrap_ci", lambda: bootstrap_ci([NAN, 1.0])),
    ("paired_compare", lambda: paired_compare([1.0], [NAN])),
    (
        "score_continuous",
        lambda: score_continuous([{"family": "normal", "mu": NAN, "sigma": 1}], [0]),
    ),
]


@pytest.mark.parametrize(("name", "call"), NAN_CALLS, ids=[n for n, _ in NAN_CALLS])
def test_nan_refused(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ScoringInputError) as exc:
        call()
    assert "\n" not in str(exc.value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1),
            st.integers(1, 40).map(float) | st.floats(0.01, 5),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_python_pav_is_scipys_fit_to_the_last_bit(pairs: list[tuple[float, float]]) -> None:
    # Small CORP fits run in Python (no scipy.optimize import); they must be scipy's floats.
    from scipy.optimize import isotonic_regression

    from predtrack.scoring.reliability import pav_small

    x = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    expected = isotonic_regression(x, weights=w).x
    assert np.array_equal(pav_small(x.tolist(), w.tolist()), expected)


@pytest.mark.parametrize("order", ["random", "increasing", "decreasing", "tied"])
def test_python_pav_is_scipys_fit_at_the_sizes_it_now_takes(order: str) -> None:
    # Python fits up to PY_PAV_MAX pooled values: long inputs too must give scipy's floats.
    from scipy.optimize import isotonic_regression

    from predtrack.scoring.reliability import PY_PAV_MAX, pav_small

    rng = np.random.default_rng(7)
    n = PY_PAV_MAX
    x = np.clip(np.sort(rng.random(n)) + rng.normal(0.0, 0.2, n), 0.0, 1.0)
    if order == "increasing":
        x = np.sort(x)
    elif order == "decreasing":
        x = np.sort(x)[::-1].copy()
    elif order == "tied":
        x = np.round(x, 1)
    w = rng.integers(1, 6, n).astype(float)
    expected = isotonic_regression(x, weights=w).x
    assert np.array_equal(pav_small(x.tolist(), w.tolist()), expected)


def test_a_large_corp_fit_needs_no_scipy_optimize() -> None:
    # A report's team forecasts have tens of thousands of distinct values: fitted in Python
    # unless scipy.optimize is loaded already, whose import would cost more than the fit.
    from fresh_process import loads

    code = (
        "import numpy as np; from predtrack.scoring import corp_pair\n"
        "rng = np.random.default_rng(3); p = rng.random(50_000)\n"
        "corp_pair(p, (rng.random(50_000) < p).astype(float))"
    )
    assert not loads(code, "scipy.optimize")
