"""Distribution scores: reference values, quantile sets, counts, specs and batch scoring.

Sources: "reference set" (closed forms and SciPy quadrature, cross-checked against the test
suites of scoringrules and properscoring); scoringrules 0.7 / properscoring 0.1 run once while writing the
test; scipy.stats log-densities; scipy.integrate.quad of the CRPS integral
int (F(t) - 1{t >= x})^2 dt; or hand calculation, as named per case.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from predtrack.errors import ScoringInputError
from predtrack.scoring import (
    Beta,
    Lognormal,
    Normal,
    QuantileSet,
    betabinom_log_score,
    binom_log_score,
    crps_beta,
    crps_lognormal,
    crps_normal,
    crps_quantiles,
    from_spec,
    interval_score,
    log_score_beta,
    log_score_lognormal,
    log_score_normal,
    log_score_quantiles,
    pinball,
    pit,
    quantile_cdf,
    quantile_pdf,
    quantile_ppf,
    rps,
    rps_counts_betabinom,
    rps_counts_binom,
    score_continuous,
)

pytestmark = pytest.mark.filterwarnings("error")

TOL = 1e-6
WIS_LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


# ------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(
    ("mu", "sigma", "x", "expected"),
    [
        (0.0, 1.0, 0.0, 0.233695),  # reference set
        (0.1, 0.4, 0.0, 0.103400),  # reference set
        (0.0, 1.0, 2.0, 1.452792),  # reference set
        (2.0, 3.0, -1.0, 1.807324072882849),  # scoringrules.crps_normal = properscoring
    ],
)
def test_crps_normal_reference(mu: float, sigma: float, x: float, expected: float) -> None:
    assert crps_normal(mu, sigma, x) == pytest.approx(expected, abs=TOL)


def test_crps_normal_vectorised() -> None:
    out = crps_normal([0.0, 0.1, 0.0], [1.0, 0.4, 1.0], [0.0, 0.0, 2.0])
    np.testing.assert_allclose(out, [0.233695, 0.103400, 1.452792], atol=TOL)
    assert crps_normal(0.0, 1.0, np.zeros((2, 3))).shape == (2, 3)
    with pytest.raises(ScoringInputError, match="sigma"):
        crps_normal(0.0, 0.0, 1.0)
    with pytest.raises(ScoringInputError, match="broadcast"):
        crps_normal([0.0, 1.0], 1.0, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("mu", "sigma", "x", "expected"),
    [
        (0.1, 0.9, 3.0, 1.135526),  # reference set
        (0.0, 1.0, 1.0, 0.267405),  # reference set
        (1.0, 0.5, 2.0, 0.4903849087666323),  # scoringrules = quad
        (0.0, 1.0, -0.5, 1.2905620507528528),  # quad (x below the support)
    ],
)
def test_crps_lognormal_reference(mu: float, sigma: float, x: float, expected: float) -> None:
    assert crps_lognormal(mu, sigma, x) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    ("a", "b", "x", "expected"),
    [
        (0.7, 1.1, 0.3, 0.085010),  # reference set
        (6.0, 4.0, 0.8, 0.124002),  # reference set
        (2.0, 5.0, 0.1, 0.10397633866133864),  # scoringrules = quad
        (2.0, 5.0, 1.3, 0.9243756243756245),  # quad (above the support; scoringrules gives NaN)
        (0.5, 0.5, -0.2, 0.4973576327153246),  # quad (below the support)
    ],
)
def test_crps_beta_reference(a: float, b: float, x: float, expected: float) -> None:
    assert crps_beta(a, b, x) == pytest.approx(expected, abs=TOL)


def test_crps_beta_equals_quadrature() -> None:
    for a, b, x in [(0.5, 3.0, 0.02), (10.0, 2.0, 0.9), (1.0, 1.0, 0.5)]:
        cdf = stats.beta(a, b).cdf
        left = integrate.quad(lambda t, c=cdf: c(t) ** 2, 0, x, limit=200)[0]
        right = integrate.quad(lambda t, c=cdf: (1 - c(t)) ** 2, x, 1, limit=200)[0]
        assert crps_beta(a, b, x) == pytest.approx(left + right, abs=1e-8)


@pytest.mark.parametrize(
    ("mu", "sigma", "x", "expected"),
    [
        (0.0, 1.0, 2.0, 2.9189385332046727),  # scipy.stats.norm.logpdf
        (2.0, 3.0, -1.0, 2.5175508218727822),  # scipy.stats.norm.logpdf
        (0.1, 0.05, 0.3, 5.92320625965068),  # scipy.stats.norm.logpdf
    ],
)
def test_log_score_normal_reference(mu: float, sigma: float, x: float, expected: float) -> None:
    assert log_score_normal(mu, sigma, x) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    ("mu", "sigma", "x", "expected"),
    [
        (0.1, 0.9, 3.0, 2.5277622216957956),  # scipy.stats.lognorm.logpdf
        (0.0, 1.0, 1.0, 0.9189385332046727),  # scipy.stats.lognorm.logpdf
        (-1.0, 0.5, 0.2, -0.6408174215653049),  # scipy.stats.lognorm.logpdf
        (0.0, 1.0, 0.0, math.inf),  # outside the support
        (0.0, 1.0, -2.0, math.inf),  # outside the support
    ],
)
def test_log_score_lognormal_reference(mu: float, sigma: float, x: float, expected: float) -> None:
    assert log_score_lognormal(mu, sigma, x) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    ("a", "b", "x", "expected"),
    [
        (0.7, 1.1, 0.3, -0.043445668717708275),  # scipy.stats.beta.logpdf
        (6.0, 4.0, 0.8, -0.2785447741980187),  # scipy.stats.beta.logpdf
        (2.0, 2.0, 0.5, -0.4054651081081644),  # scipy.stats.beta.logpdf
        (1.0, 3.0, 0.0, -1.0986122886681098),  # scipy.stats.beta.logpdf (density 3 at 0)
        (2.0, 2.0, 0.0, math.inf),  # density 0 at the edge
        (0.5, 2.0, 0.0, -math.inf),  # infinite density at the edge
        (2.0, 2.0, 1.2, math.inf),  # outside the support
    ],
)
def test_log_score_beta_reference(a: float, b: float, x: float, expected: float) -> None:
    assert log_score_beta(a, b, x) == pytest.approx(expected, abs=TOL)


# ----------------------------------------------------------------- pinball and IS


@pytest.mark.parametrize(
    ("q", "y", "tau", "expected"),
    [
        (0.5, 0.3, 0.2, 0.16),  # reference set
        (0.1, 0.3, 0.2, 0.04),  # reference set
        (5.0, 7.0, 0.5, 1.0),  # hand: 0.5 * |7 - 5|
        (8.0, 7.0, 0.9, 0.1),  # hand: 0.1 * 1
    ],
)
def test_pinball_reference(q: float, y: float, tau: float, expected: float) -> None:
    assert pinball(q, y, tau) == pytest.approx(expected, abs=TOL)


def test_interval_score_reference() -> None:
    # reference set: interval [0, 0.4]
    out = interval_score(0.0, 0.4, [0.1, 0.5, -1.0], [0.5, 0.1, 0.2])
    np.testing.assert_allclose(out, [0.4, 2.4, 10.4], atol=TOL)
    with pytest.raises(ScoringInputError, match="reversed"):
        interval_score(1.0, 0.0, 0.5, 0.1)
    with pytest.raises(ScoringInputError, match="alpha"):
        interval_score(0.0, 1.0, 0.5, 1.0)


def test_crps_quantiles_reference() -> None:
    # reference set (the WIS trap: half the absolute error of the median, not of the median)
    assert crps_quantiles(WIS_LEVELS, [1, 2, 4, 5, 6, 8, 10], 7) == pytest.approx(1.014286, abs=TOL)
    # hand: pinballs 0.25, 0.5, 0.75 -> 2 * mean = 1.0
    assert crps_quantiles([0.25, 0.5, 0.75], [2, 4, 6], 3) == pytest.approx(1.0, abs=TOL)
    # hand, in Bracher et al.'s WIS form: (0.5 |12 - 5| + 0.1 * IS_0.2([1, 9], 12)) / 1.5
    # = (3.5 + 0.1 * 38) / 1.5 = 4.866667
    assert crps_quantiles([0.1, 0.5, 0.9], [1, 5, 9], 12) == pytest.approx(4.866667, abs=TOL)


def test_crps_quantiles_batch() -> None:
    vals = np.array([[1, 2, 4, 5, 6, 8, 10], [1, 2, 4, 5, 6, 8, 10]], dtype=float)
    out = crps_quantiles(WIS_LEVELS, vals, [7.0, 5.0])
    assert out.shape == (2,)
    assert out[0] == pytest.approx(1.014286, abs=TOL)
    with pytest.raises(ScoringInputError, match="increasing"):
        crps_quantiles([0.5, 0.1], [1, 2], 1.0)


# ------------------------------------------------------------------ quantile sets

LV = [0.05, 0.5, 0.95]
VS = [10.0, 14.0, 20.0]


def test_quantile_cdf_hand_values() -> None:
    # hand: lower tail slope 0.45/4 reaches 0 at 10 - 0.05/0.1125 = 9.5556; upper tail slope
    # 0.45/6 reaches 1 at 20 + 0.05/0.075 = 20.6667
    x = [0.0, 9.5, 10.0, 12.0, 14.0, 17.0, 20.0, 20.5, 30.0]
    expected = [0, 0, 0.05, 0.275, 0.5, 0.725, 0.95, 0.9875, 1]
    np.testing.assert_allclose(quantile_cdf(LV, VS, x), expected, atol=1e-12)
    np.testing.assert_allclose(
        quantile_pdf(LV, VS, [9.0, 9.6, 12.0, 15.0, 20.6, 21.0]),
        [0, 0.1125, 0.1125, 0.075, 0.075, 0],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        quantile_ppf(LV, VS, [0.0, 0.05, 0.275, 0.5, 0.95, 1.0]),
        [10 - 0.05 / 0.1125, 10, 12, 14, 20, 20 + 0.05 / 0.075],
        atol=1e-12,
    )


def test_quantile_tails_truncated_at_bounds() -> None:
    # hand: with bounds (9.8, 20.2) both tails would cross, so they are redrawn to reach 0 at
    # 9.8 (slope 0.05/0.2 = 0.25) and 1 at 20.2 (slope 0.25): no mass outside, no point mass
    b = (9.8, 20.2)
    np.testing.assert_allclose(
        quantile_cdf(LV, VS, [9.7, 9.8, 9.9, 10, 14, 20, 20.1, 20.2, 21], bounds=b),
        [0, 0, 0.025, 0.05, 0.5, 0.95, 0.975, 1, 1],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        quantile_pdf(LV, VS, [9.7, 9.8, 9.9, 12, 20.1, 20.2, 21], bounds=b),
        [0, 0.25, 0.25, 0.1125, 0.25, 0.25, 0],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        quantile_ppf(LV, VS, [0, 0.025, 0.5, 0.975, 1], bounds=b),
        [9.8, 9.9, 14, 20.1, 20.2],
        atol=1e-12,
    )
    # bounds that do not bind change nothing
    np.testing.assert_allclose(
        quantile_cdf(LV, VS, [9.6, 20.6], bounds=(0, 100)), quantile_cdf(LV, VS, [9.6, 20.6])
    )
    # one-sided bounds
    assert quantile_ppf(LV, VS, 0.0, bounds=(9.9, None)) == pytest.approx(9.9)
    assert quantile_ppf(LV, VS, 1.0, bounds=(None, 20.1)) == pytest.approx(20.1)


def test_quantile_pdf_integrates_to_cdf() -> None:
    for bounds in (None, (9.8, 20.2), (0.0, 30.0)):
        lo = float(quantile_ppf(LV, VS, 0.0, bounds=bounds))
        for x in (11.0, 14.0, 19.5, 20.15):
            area = integrate.quad(
                lambda t, b=bounds: float(quantile_pdf(LV, VS, t, bounds=b)),
                lo,
                x,
                points=[10, 14, 20],
                limit=200,
            )[0]
            assert area == pytest.approx(float(quantile_cdf(LV, VS, x, bounds=bounds)), abs=1e-9)


def test_quantile_cdf_ppf_inverse() -> None:
    q = np.linspace(0.001, 0.999, 200)
    for bounds in (None, (9.8, 20.2)):
        x = quantile_ppf(LV, VS, q, bounds=bounds)
        np.testing.assert_allclose(quantile_cdf(LV, VS, x, bounds=bounds), q, atol=1e-12)


def test_quantile_on_bound_is_point_mass() -> None:
    # a fraction forecast whose 5% quantile is 0: P(X = 0) = 0.05 at the lower bound
    lv, vs, b = [0.05, 0.5, 0.95], [0.0, 0.1, 0.3], (0.0, 1.0)
    np.testing.assert_allclose(quantile_cdf(lv, vs, [-0.1, 0.0, 0.05], bounds=b), [0, 0.05, 0.275])
    np.testing.assert_allclose(quantile_ppf(lv, vs, [0.0, 0.04, 0.05], bounds=b), [0, 0, 0])
    # the density at the bound is that of the adjacent segment (the atom is not a density)
    assert quantile_pdf(lv, vs, 0.0, bounds=b) == pytest.approx(4.5)
    assert math.isfinite(float(log_score_quantiles(lv, vs, 0.0, bounds=b)))
    # same at the upper bound
    assert quantile_cdf([0.05, 0.5, 0.95], [0.5, 0.8, 1.0], 0.999, bounds=b) < 0.95
    assert quantile_cdf([0.05, 0.5, 0.95], [0.5, 0.8, 1.0], 1.0, bounds=b) == 1.0
    assert quantile_pdf([0.05, 0.5, 0.95], [0.5, 0.8, 1.0], 1.0, bounds=b) == pytest.approx(2.25)


def test_log_score_quantiles() -> None:
    # hand: density 0.1125 on [9.56, 10] and [10, 14]; 0 outside the support
    np.testing.assert_allclose(
        log_score_quantiles(LV, VS, [12.0, 15.0]), -np.log([0.1125, 0.075]), atol=1e-12
    )
    assert log_score_quantiles(LV, VS, 25.0) == math.inf
    assert log_score_quantiles(LV, VS, 9.0, bounds=(9.5, 21)) == math.inf


def test_quantile_validation() -> None:
    with pytest.raises(ScoringInputError, match="strictly increasing"):
        quantile_cdf([0.1, 0.5, 0.9], [1, 1, 2], 1.0)
    with pytest.raises(ScoringInputError, match="levels"):
        quantile_cdf([0.1, 0.5, 1.0], [1, 2, 3], 1.0)
    with pytest.raises(ScoringInputError, match="at least 2"):
        quantile_cdf([0.5], [1], 1.0)
    with pytest.raises(ScoringInputError, match="bounds"):
        quantile_cdf(LV, VS, 1.0, bounds=(11, 30))
    with pytest.raises(ScoringInputError, match="lo < hi"):
        quantile_cdf(LV, VS, 1.0, bounds=(30, 0))
    with pytest.raises(ScoringInputError, match=r"\[0, 1\]"):
        quantile_ppf(LV, VS, 1.5)


# ------------------------------------------------------------------------ counts


def test_counts_reference() -> None:
    # reference set: 8 of 10
    assert rps_counts_betabinom(6, 4, 8, 10) == pytest.approx(1.124273, abs=TOL)
    assert betabinom_log_score(6, 4, 8, 10) == pytest.approx(1.970990, abs=TOL)
    assert rps_counts_binom(0.9, 8, 10) == pytest.approx(0.668511, abs=TOL)
    assert binom_log_score(0.9, 8, 10) == pytest.approx(1.641392, abs=TOL)


def test_counts_more_reference() -> None:
    # scoringrules.crps_binomial and scipy.stats.binom.logpmf
    np.testing.assert_allclose(
        rps_counts_binom([0.4, 0.3], [3, 0], [7, 5]), [0.29586892570623996, 0.9422322929999999]
    )
    np.testing.assert_allclose(
        binom_log_score([0.3, 0.4], [0, 3], [5, 7]), [1.7833747196936622, 1.2368266291970138]
    )
    # scipy.stats.betabinom; Beta(1, 1) is uniform on 0..7: -ln(1/8)
    np.testing.assert_allclose(
        betabinom_log_score([1, 2], [1, 3], [3, 0], [7, 5]), [math.log(8), 1.791759469228055]
    )
    np.testing.assert_allclose(
        rps_counts_betabinom([1, 2], [1, 3], [3, 0], [7, 5]), [0.6875, 1.2063492063492063]
    )


def test_counts_edges() -> None:
    assert binom_log_score(0.0, 1, 5) == math.inf
    assert binom_log_score(0.0, 0, 5) == pytest.approx(0.0)
    assert binom_log_score(1.0, 5, 5) == pytest.approx(0.0)
    assert rps_counts_binom(1.0, 5, 5) == pytest.approx(0.0)
    assert rps_counts_binom(0.5, 0, 0) == 0.0
    # large and mixed n in one call (chunked grid)
    n = np.array([1, 10_000, 3, 50])
    k = np.array([1, 4_000, 0, 25])
    out = rps_counts_binom(0.4, k, n)
    for i in range(4):
        assert out[i] == pytest.approx(float(rps_counts_binom(0.4, k[i], n[i])), rel=1e-10)
    with pytest.raises(ScoringInputError, match="exceed"):
        rps_counts_binom(0.5, 6, 5)
    with pytest.raises(ScoringInputError, match="whole"):
        betabinom_log_score(1, 1, 2.5, 5)


def test_rps_counts_equals_categorical_rps() -> None:
    # the pmf over 0..n as n + 1 ordered categories: RPS (unnormalised) = CRPS over counts
    n, p = 6, 0.35
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    pmf = pmf / pmf.sum()
    for k in range(n + 1):
        assert rps(pmf, k) == pytest.approx(float(rps_counts_binom(p, k, n)), abs=1e-12)


# ----------------------------------------------------------- objects and specs


def test_pit_reference() -> None:
    assert pit({"family": "normal", "mu": 0, "sigma": 1}, 1.5) == pytest.approx(0.933193, abs=TOL)
    assert Normal(0, 1).pit(1.5) == pytest.approx(0.933193, abs=TOL)
    # scipy.stats: lognorm(s=1).cdf(1) = 0.5, beta(2, 2).cdf(0.5) = 0.5
    assert pit({"family": "lognormal", "mu": 0, "sigma": 1}, 1.0) == pytest.approx(0.5)
    assert pit({"family": "beta", "alpha": 2, "beta": 2}, 0.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("spec", "frozen"),
    [
        ({"family": "normal", "mu": 14, "sigma": 2}, stats.norm(14, 2)),
        ({"family": "lognormal", "mu": 2.6, "sigma": 0.2}, stats.lognorm(0.2, scale=math.exp(2.6))),
        ({"family": "beta", "alpha": 6, "beta": 4}, stats.beta(6, 4)),
    ],
)
def test_parametric_objects_match_scipy(spec: dict[str, Any], frozen: Any) -> None:
    d = from_spec(spec)
    xs = frozen.ppf([0.01, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(d.cdf(xs), [0.01, 0.3, 0.5, 0.9], atol=1e-10)
    np.testing.assert_allclose(d.pdf(xs), frozen.pdf(xs), rtol=1e-10)
    np.testing.assert_allclose(d.ppf([0.05, 0.95]), frozen.ppf([0.05, 0.95]), rtol=1e-10)
    np.testing.assert_allclose(d.log_score(xs), -frozen.logpdf(xs), rtol=1e-10)
    lo, hi = d.interval(0.9)
    assert (float(lo), float(hi)) == pytest.approx(tuple(frozen.interval(0.9)), rel=1e-10)
    assert float(d.median()) == pytest.approx(frozen.median(), rel=1e-10)
    assert d.crps(xs).shape == (4,)


def test_quantile_object() -> None:
    d = from_spec({"family": "quantiles", "levels": LV, "values": VS}, bounds=(3, 25))
    assert isinstance(d, QuantileSet)
    assert float(d.median()) == 14.0
    lo, hi = d.interval(0.9)
    assert (float(lo), float(hi)) == (10.0, 20.0)
    assert float(d.crps(14.0)) == pytest.approx(float(crps_quantiles(LV, VS, 14.0)))  # WIS-style
    assert float(d.cdf(14.0)) == 0.5


def test_from_spec_validation() -> None:
    with pytest.raises(ScoringInputError, match="unknown distribution family"):
        from_spec({"family": "gamma", "shape": 1})
    with pytest.raises(ScoringInputError, match="missing 'sigma'"):
        from_spec({"family": "normal", "mu": 1})
    with pytest.raises(ScoringInputError, match="sigma"):
        from_spec({"family": "normal", "mu": 1, "sigma": -1})
    with pytest.raises(ScoringInputError, match="alpha"):
        from_spec({"family": "beta", "alpha": 0, "beta": 1})
    with pytest.raises(ScoringInputError, match="NaN"):
        from_spec({"family": "normal", "mu": float("nan"), "sigma": 1})
    assert isinstance(from_spec({"family": "beta", "alpha": 1, "beta": 2}), Beta)
    assert isinstance(from_spec({"family": "lognormal", "mu": 1, "sigma": 2}), Lognormal)


# ------------------------------------------------------------------ batch scoring

SPECS: list[dict[str, Any]] = [
    {"family": "normal", "mu": 0, "sigma": 1},
    {"family": "lognormal", "mu": 0.1, "sigma": 0.9},
    {"family": "beta", "alpha": 6, "beta": 4},
    {"family": "quantiles", "levels": LV, "values": VS},
    {"family": "quantiles", "levels": WIS_LEVELS, "values": [1, 2, 4, 5, 6, 8, 10]},
    {"family": "beta", "alpha": 0.7, "beta": 1.1},
]
X = [2.0, 3.0, 0.8, 14.0, 7.0, 0.3]


def test_score_continuous_matches_single_forecast_functions() -> None:
    bounds: list[Any] = [None, None, None, (9.8, 20.2), None, None]
    out = score_continuous(SPECS, X, bounds=bounds)
    # reference values (the reference set) come through the batch path
    np.testing.assert_allclose(
        out["crps"], [1.452792, 1.135526, 0.124002, out["crps"][3], 1.014286, 0.085010], atol=TOL
    )
    for i, (spec, x) in enumerate(zip(SPECS, X, strict=True)):
        d = from_spec(spec, bounds[i])
        assert out["crps"][i] == pytest.approx(float(d.crps(x)), abs=1e-12)
        assert out["log"][i] == pytest.approx(float(d.log_score(x)), abs=1e-12)
        assert out["pit"][i] == pytest.approx(float(d.cdf(x)), abs=1e-12)
        lo50, hi50 = d.interval(0.5)
        lo90, hi90 = d.interval(0.9)
        assert out["lo50"][i] == pytest.approx(float(lo50), abs=1e-10)
        assert out["hi50"][i] == pytest.approx(float(hi50), abs=1e-10)
        assert out["lo90"][i] == pytest.approx(float(lo90), abs=1e-10)
        assert out["hi90"][i] == pytest.approx(float(hi90), abs=1e-10)
        assert bool(out["cover90"][i]) == bool(lo90 <= x <= hi90)
        assert bool(out["cover50"][i]) == bool(lo50 <= x <= hi50)
        assert out["is90"][i] == pytest.approx(float(interval_score(lo90, hi90, x, 0.1)), abs=1e-10)
        assert out["is50"][i] == pytest.approx(float(interval_score(lo50, hi50, x, 0.5)), abs=1e-10)
    assert set(out) == {
        "crps", "log", "pit", "lo50", "hi50", "lo90", "hi90",
        "cover50", "cover90", "is50", "is90",
    }  # fmt: skip
    assert out["cover90"].dtype == np.bool_


def test_score_continuous_errors_name_the_spec() -> None:
    bad = [*SPECS, {"family": "normal", "mu": 0, "sigma": 0}]
    with pytest.raises(ScoringInputError, match=r"specs\[6\].*sigma"):
        score_continuous(bad, [*X, 1.0])
    with pytest.raises(ScoringInputError, match=r"specs\[1\] is missing 'sigma'"):
        score_continuous([SPECS[0], {"family": "normal", "mu": 0}], [1.0, 2.0])
    with pytest.raises(ScoringInputError, match=r"specs\[0\] is missing 'family'"):
        score_continuous([{"mu": 0, "sigma": 1}], [1.0])
    with pytest.raises(ScoringInputError, match="unknown distribution family"):
        score_continuous([{"family": "t"}], [1.0])
    with pytest.raises(ScoringInputError, match=r"specs\[1\].*strictly increasing"):
        score_continuous(
            [SPECS[3], {"family": "quantiles", "levels": LV, "values": [3, 2, 4]}], [1.0, 2.0]
        )
    with pytest.raises(ScoringInputError, match="2 specs"):
        score_continuous(SPECS[:2], [1.0])
    with pytest.raises(ScoringInputError, match="NaN"):
        score_continuous(SPECS[:1], [float("nan")])
    with pytest.raises(ScoringInputError, match=r"specs\[0\].*outside the bounds"):
        score_continuous([SPECS[3]], [12.0], bounds=[(11.0, 30.0)])


def test_score_continuous_empty_and_infinite() -> None:
    out = score_continuous([], [])
    assert out["crps"].shape == (0,)
    out = score_continuous(
        [{"family": "lognormal", "mu": 0, "sigma": 1}, {"family": "beta", "alpha": 2, "beta": 2}],
        [-1.0, 1.5],
    )
    assert np.all(np.isinf(out["log"]))
    assert np.all(np.isfinite(out["crps"]))


def test_beta_ppf_raw_is_betaincinv_with_repeated_pairs() -> None:
    # betaincinv runs once per distinct (a, b): the rows must be those of the direct call,
    # in order, including pairs that share a or b alone.
    from scipy.special import betaincinv

    from predtrack.scoring.families import beta_ppf_raw

    a = np.array([2.0, 3.5, 2.0, 2.0, 0.5, 3.5, 7.25])
    b = np.array([5.0, 1.0, 5.0, 1.0, 0.5, 1.0, 5.0])
    levels = np.array([0.05, 0.25, 0.5, 0.9])
    direct = betaincinv(a[:, None], b[:, None], levels[None, :])
    np.testing.assert_array_equal(beta_ppf_raw(a, b, levels), direct)
    assert beta_ppf_raw(a[:0], b[:0], levels).shape == (0, 4)
