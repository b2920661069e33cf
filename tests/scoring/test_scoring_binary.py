"""Binary scores, Murphy and CORP decompositions, calibration tests: reference values.

Sources of the numbers are named next to each case: "reference set" (values computed
independently in closed form or by SciPy quadrature and cross-checked against the test suites of
scoringrules, properscoring and model-diagnostics), hand calculation, or a reference library run
once while writing the test (model-diagnostics 1.5 `decompose`, which quotes R's reliabilitydiag).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from predtrack.errors import ScoringInputError
from predtrack.scoring import (
    bin_edges,
    bin_index,
    brier,
    corp,
    corp_band,
    corp_pair,
    ece,
    log_score,
    murphy,
    spherical,
    spiegelhalter,
    wilson_interval,
)

pytestmark = pytest.mark.filterwarnings("error")

TOL = 1e-6

CORP_P = [0.4, 0.3, 0.2, 0.1, 0.5, 0.9]
CORP_Y = [0, 0, 0, 1, 1, 1]


# ------------------------------------------------------------------ elementary scores


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        (0.271, 0, 0.073441),  # reference set
        (0.7, 1, 0.09),  # hand: 0.3^2
        (0.2, 1, 0.64),  # hand: 0.8^2
        (1.0, 1, 0.0),  # hand
    ],
)
def test_brier_reference(p: float, y: int, expected: float) -> None:
    assert brier(p, y) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        (0.481, 0, 0.655851),  # reference set: -ln(0.519)
        (0.9, 1, 0.105360516),  # hand: -ln 0.9
        (0.25, 0, 0.287682072),  # hand: -ln 0.75
        (0.0, 1, math.inf),  # reference set
        (1.0, 0, math.inf),  # hand
        (1.0, 1, 0.0),  # hand
    ],
)
def test_log_score_reference(p: float, y: int, expected: float) -> None:
    assert log_score(p, y) == pytest.approx(expected, abs=TOL)


def test_log_score_bits() -> None:
    assert log_score(0.5, 1, base=2) == pytest.approx(1.0, abs=1e-12)  # hand
    assert log_score(0.25, 1, base=2) == pytest.approx(2.0, abs=1e-12)  # hand
    with pytest.raises(ScoringInputError, match="base"):
        log_score(0.5, 1, base=1)


def test_log_score_infinite_without_warning_or_clipping() -> None:
    s = log_score([0.0, 1.0, 0.0, 1.0], [1, 0, 0, 1])
    assert s[0] == math.inf and s[1] == math.inf
    assert s[2] == 0.0 and s[3] == 0.0
    assert not np.signbit(s[2])  # +0.0, not -0.0


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        (0.7, 1, 0.919145),  # reference set
        (0.7, 0, 0.393919),  # reference set
        (0.5, 1, 0.707106781),  # hand: 0.5 / sqrt(0.5)
        (0.2, 0, 0.970142500),  # hand: 0.8 / sqrt(0.68)
    ],
)
def test_spherical_reference(p: float, y: int, expected: float) -> None:
    assert spherical(p, y) == pytest.approx(expected, abs=TOL)


def test_scores_vectorised_and_broadcast() -> None:
    p = np.array([0.1, 0.5, 0.9])
    assert brier(p, 1).shape == (3,)
    np.testing.assert_allclose(brier(p, [1, 1, 1]), (p - 1) ** 2)
    assert log_score(p, np.array([True, False, True])).shape == (3,)


@pytest.mark.parametrize("f", [brier, log_score, spherical])
def test_scores_refuse_bad_input(f: Callable[..., Any]) -> None:
    with pytest.raises(ScoringInputError, match="NaN"):
        f([0.5, float("nan")], [1, 0])
    with pytest.raises(ScoringInputError, match=r"\[0, 1\]"):
        f([0.5, 1.2], [1, 0])
    with pytest.raises(ScoringInputError, match="0 or 1"):
        f([0.5, 0.2], [1, 2])
    with pytest.raises(ScoringInputError, match="shapes"):
        f([0.5, 0.2, 0.1], [1, 0])
    with pytest.raises(ScoringInputError, match="NaN or infinity"):
        f([0.5, 0.2], [1, float("inf")])


def test_error_messages_are_one_line() -> None:
    with pytest.raises(ScoringInputError) as exc:
        brier([0.5, 1.5], [1, 0])
    msg = str(exc.value)
    assert "\n" not in msg and "index 1" in msg and "1.5" in msg


# ------------------------------------------------------------------------- binning


def test_bin_rule_edges_exact() -> None:
    np.testing.assert_array_equal(bin_edges(10)[[0, 3, 10]], [0.0, 0.3, 1.0])
    assert bin_edges(10)[3] == 0.3  # not 0.30000000000000004 as from linspace
    # a forecast exactly on an edge goes to the upper bin; 1.0 to the last bin
    np.testing.assert_array_equal(
        bin_index([0.0, 0.29999, 0.3, 0.7, 0.99, 1.0], 10), [0, 2, 3, 7, 9, 9]
    )
    np.testing.assert_array_equal(bin_index([0.5, 0.49, 1.0], 2), [1, 0, 1])
    with pytest.raises(ScoringInputError, match="bins"):
        bin_index([0.5], 0)


def test_murphy_forecast_on_edge_lands_in_upper_bin() -> None:
    m = murphy([0.3, 0.3, 0.29], [1, 0, 0], bins=10)
    assert m.n[3] == 2 and m.n[2] == 1
    assert m.mean_forecast[3] == pytest.approx(0.3) and m.obs_freq[3] == pytest.approx(0.5)
    assert np.isnan(m.mean_forecast[0]) and np.isnan(m.obs_freq[9])


# -------------------------------------------------------------------------- Murphy


def test_murphy_reference_two_bins() -> None:
    # reference set: bins [0,.5), [.5,1]: REL 0.03, RES 0.125, UNC 0.25, within-bin variance
    # 0.021667 and covariance term 0.05 close the gap to the Brier score 0.226667.  With
    # Stephenson et al.'s (2008) sign convention WBC = (2/N) sum (f - fbar)(o - obar) = -0.05 and
    # BS = REL - RES + UNC + WBV - WBC (hand check: bin 1 sum of products = -0.15).
    m = murphy(CORP_P, CORP_Y, bins=2)
    assert m.rel == pytest.approx(0.03, abs=TOL)
    assert m.res == pytest.approx(0.125, abs=TOL)
    assert m.unc == pytest.approx(0.25, abs=TOL)
    assert m.wbv == pytest.approx(0.021667, abs=TOL)
    assert -m.wbc == pytest.approx(0.05, abs=TOL)
    assert m.brier == pytest.approx(0.226667, abs=TOL)
    assert m.rel - m.res + m.unc == pytest.approx(0.155, abs=TOL)
    assert m.rel - m.res + m.unc + m.wbv - m.wbc == pytest.approx(m.brier, abs=1e-12)
    np.testing.assert_array_equal(m.n, [4, 2])
    np.testing.assert_allclose(m.mean_forecast, [0.25, 0.7])
    np.testing.assert_allclose(m.obs_freq, [0.25, 1.0])
    np.testing.assert_allclose(m.edges, [0.0, 0.5, 1.0])


def test_murphy_reference_one_value_per_bin() -> None:
    # reference set "CORP = Murphy" row: REL 0.006667, RES 0.016667, S 0.24.
    p = [0.2, 0.2, 0.2, 0.6, 0.6, 0.6, 0.6, 0.6]
    y = [0, 0, 1, 1, 1, 0, 1, 0]
    m = murphy(p, y)
    assert m.rel == pytest.approx(0.006667, abs=TOL)
    assert m.res == pytest.approx(0.016667, abs=TOL)
    assert m.brier == pytest.approx(0.24, abs=TOL)
    assert m.wbv == pytest.approx(0.0, abs=1e-15) and m.wbc == pytest.approx(0.0, abs=1e-15)
    assert m.rel - m.res + m.unc == pytest.approx(m.brier, abs=1e-12)


def test_murphy_hand_case() -> None:
    # hand: one forecast per bin, so REL = mean (p - y)^2 = 0.75/4, RES = mean (y - .75)^2,
    # UNC = .75 * .25; all three 0.1875, Brier 0.1875.
    m = murphy([0.05, 0.15, 0.95, 0.85], [0, 1, 1, 1])
    assert (m.rel, m.res, m.unc, m.brier) == pytest.approx((0.1875,) * 4, abs=TOL)
    assert (m.wbv, m.wbc) == pytest.approx((0.0, 0.0), abs=1e-15)


def test_murphy_edge_cases() -> None:
    one = murphy([0.7], [1])
    assert one.brier == pytest.approx(0.09) and one.unc == 0.0 and one.res == 0.0
    allzero = murphy([0.1, 0.4, 0.4], [0, 0, 0])
    assert allzero.unc == 0.0 and allzero.res == 0.0
    assert allzero.rel - allzero.res + allzero.unc + allzero.wbv - allzero.wbc == pytest.approx(
        allzero.brier, abs=1e-12
    )
    with pytest.raises(ScoringInputError, match="empty"):
        murphy([], [])


def test_ece_reference() -> None:
    # hand: bins [0,.5) and [.5,1]: |0.25 - 0.25| * 4/6 + |0.7 - 1| * 2/6 = 0.1
    assert ece(CORP_P, CORP_Y, bins=2) == pytest.approx(0.1, abs=TOL)
    # hand: one value per bin: mean |p - y| = (0.05 + 0.85 + 0.05 + 0.15) / 4 = 0.275
    assert ece([0.05, 0.15, 0.95, 0.85], [0, 1, 1, 1]) == pytest.approx(0.275, abs=TOL)
    # hand: bin 6 holds 0.6 x5 with 3 events: |0.6 - 0.6|; bin 2: |0.2 - 1/3| * 3/8 = 0.05
    assert ece([0.2] * 3 + [0.6] * 5, [0, 0, 1, 1, 1, 0, 1, 0]) == pytest.approx(0.05, abs=TOL)


# ---------------------------------------------------------------------------- CORP


def test_corp_brier_reference() -> None:
    # reference set (= R reliabilitydiag as quoted by model-diagnostics' tests)
    r = corp(CORP_P, CORP_Y)
    assert r.score == pytest.approx(0.226667, abs=TOL)
    assert r.mcb == pytest.approx(0.101667, abs=TOL)
    assert r.dsc == pytest.approx(0.125, abs=TOL)
    assert r.unc == pytest.approx(0.25, abs=TOL)
    np.testing.assert_allclose(r.x, [0.1, 0.2, 0.3, 0.4, 0.5, 0.9])
    np.testing.assert_array_equal(r.count, [1] * 6)
    np.testing.assert_allclose(r.cep, [0.25, 0.25, 0.25, 0.25, 1.0, 1.0])


def test_corp_log_reference() -> None:
    # reference set
    r = corp(CORP_P, CORP_Y, score="log")
    assert r.score == pytest.approx(0.698623, abs=TOL)
    assert r.mcb == pytest.approx(0.323733, abs=TOL)
    assert r.dsc == pytest.approx(0.318257, abs=TOL)
    assert r.unc == pytest.approx(0.693147, abs=TOL)
    assert r.n_inf == 0


def test_corp_ties_reference_and_order_independence() -> None:
    # reference set "CORP with ties": MCB 0.02 (an implementation without pooling gets 0.145)
    for p, y in [([0.5, 0.5, 0.2, 0.8], [0, 1, 0, 1]), ([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1])]:
        r = corp(p, y)
        assert r.score == pytest.approx(0.145, abs=TOL)
        assert r.mcb == pytest.approx(0.02, abs=TOL)
        assert r.dsc == pytest.approx(0.125, abs=TOL)
        assert r.unc == pytest.approx(0.25, abs=TOL)
        np.testing.assert_allclose(r.cep, [0.0, 0.5, 1.0])
        np.testing.assert_array_equal(r.count, [1, 2, 1])


def test_corp_log_ties_hand_case() -> None:
    # hand: PAV of the pooled frequencies (0, 1/2, 1) at (.2, .5, .8) is the identity, so
    # S = (2 ln(1/.8) + 2 ln 2) / 4 = 0.458145, S_rc = ln(2) / 2 = 0.346574, UNC = ln 2,
    # MCB = 0.111572, DSC = 0.346574
    r = corp([0.5, 0.5, 0.2, 0.8], [0, 1, 0, 1], score="log")
    assert r.score == pytest.approx(0.458145, abs=TOL)
    assert r.mcb == pytest.approx(0.111572, abs=TOL)
    assert r.dsc == pytest.approx(0.346574, abs=TOL)
    assert r.unc == pytest.approx(0.693147, abs=TOL)


def test_corp_equals_murphy_with_one_value_per_bin() -> None:
    # reference set: MCB = REL = 0.006667, DSC = RES = 0.016667, S 0.24
    p = [0.2, 0.2, 0.2, 0.6, 0.6, 0.6, 0.6, 0.6]
    y = [0, 0, 1, 1, 1, 0, 1, 0]
    r = corp(p, y)
    m = murphy(p, y)
    assert r.mcb == pytest.approx(0.006667, abs=TOL) and r.mcb == pytest.approx(m.rel, abs=1e-12)
    assert r.dsc == pytest.approx(0.016667, abs=TOL) and r.dsc == pytest.approx(m.res, abs=1e-12)
    assert r.score == pytest.approx(0.24, abs=TOL)


def test_corp_model_diagnostics_case() -> None:
    # model-diagnostics 1.5 decompose(SquaredError()) and decompose(LogLoss()), run once
    p = [0.63, 0.9, 0.78, 0.23, 0.3, 0.87, 0.01, 0.82, 0.8, 0.47, 0.3, 0.28]
    y = [1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1]
    b = corp(p, y)
    assert (b.mcb, b.dsc, b.unc, b.score) == pytest.approx(
        (0.040852777777777766, 0.12083333333333335, 0.24305555555555558, 0.163075), abs=TOL
    )
    lg = corp(p, y, score="log")
    assert (lg.mcb, lg.dsc, lg.unc, lg.score) == pytest.approx(
        (0.12452166722278701, 0.31156371411024425, 0.6791932659915257, 0.4921512191040685),
        abs=TOL,
    )


def test_corp_log_infinite_is_reported_not_crashing() -> None:
    r = corp([1.0, 0.0, 0.5, 1.0], [0, 0, 1, 1], score="log")
    assert r.score == math.inf and r.mcb == math.inf
    assert math.isfinite(r.dsc) and math.isfinite(r.unc)
    assert r.n_inf == 1
    # the recalibrated forecast uses 0 log 0 = 0 and is finite
    r2 = corp([0.0, 0.0, 1.0], [0, 0, 1], score="log")
    assert r2.score == 0.0 and r2.mcb == 0.0 and r2.n_inf == 0
    assert r2.dsc == pytest.approx(r2.unc)


def test_corp_edge_cases() -> None:
    one = corp([0.3], [1])
    assert one.unc == 0.0 and one.dsc == 0.0
    assert one.score == pytest.approx(0.49) and one.mcb == pytest.approx(0.49)
    for score in ("brier", "log"):
        allzero = corp([0.1, 0.5, 0.5, 0.9], [0, 0, 0, 0], score=score)
        assert allzero.unc == 0.0
        assert allzero.dsc == pytest.approx(0.0, abs=1e-15)
        np.testing.assert_array_equal(allzero.cep, [0.0, 0.0, 0.0])
    with pytest.raises(ScoringInputError, match="empty"):
        corp([], [])
    with pytest.raises(ScoringInputError, match="score"):
        corp([0.5], [1], score="spherical")
    with pytest.raises(ScoringInputError, match="shapes"):
        corp([0.5, 0.4], [1])


def test_corp_mcb_zero_for_calibrated_forecast() -> None:
    # p equals its PAV recalibration (the frequencies 1/3 and 3/5 are increasing)
    p = [1 / 3] * 3 + [0.6] * 5
    y = [0, 1, 0, 1, 1, 0, 1, 0]
    r = corp(p, y)
    assert r.mcb == 0.0
    assert corp(p, y, score="log").mcb == 0.0


# --------------------------------------------------------------------------- band


def test_corp_band_shape_and_reproducibility() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(size=400), 1)
    y = rng.uniform(size=400) < p
    b1 = corp_band(p, y, seed=42, n_resamples=300)
    b2 = corp_band(p[::-1], y[::-1], seed=42, n_resamples=300)
    np.testing.assert_array_equal(b1.x, np.unique(p))
    np.testing.assert_array_equal(b1.lower, b2.lower)
    np.testing.assert_array_equal(b1.upper, b2.upper)
    assert not b1.pooled
    assert np.all(b1.lower <= b1.upper)
    assert np.all((b1.lower >= 0) & (b1.upper <= 1))
    # the band is centred on the diagonal: it contains x in the interior
    inner = (b1.x > 0.05) & (b1.x < 0.95)
    assert np.all((b1.lower[inner] <= b1.x[inner]) & (b1.x[inner] <= b1.upper[inner]))


@pytest.mark.parametrize(("n", "decimals", "reps"), [(400, 1, 300), (3000, 2, 1000), (50, 3, 7)])
def test_corp_band_equals_one_fit_per_resample(n: int, decimals: int, reps: int) -> None:
    # The band fits every resample in one PAV call; each fit must be the one a separate
    # isotonic regression of that resample gives (the band as first written).
    from scipy.optimize import isotonic_regression

    rng = np.random.default_rng(n)
    p = np.round(rng.uniform(0.01, 0.99, size=n), decimals)
    y = rng.uniform(size=n) < p
    band = corp_band(p, y, seed=9, n_resamples=reps)
    x, count = np.unique(p, return_counts=True)
    draws = np.random.default_rng(9).binomial(count, x, size=(reps, x.size))
    fits = np.array([isotonic_regression(d / count, weights=count).x for d in draws])
    lower, upper = np.quantile(fits.T, [0.05, 0.95], axis=1)
    np.testing.assert_allclose(band.lower, lower, rtol=0, atol=1e-12)
    np.testing.assert_allclose(band.upper, upper, rtol=0, atol=1e-12)


def test_corp_band_coverage_level() -> None:
    # under calibration the band at a single large group is close to the binomial quantiles
    p = np.full(1000, 0.3)
    y = np.zeros(1000)
    b = corp_band(p, y, seed=1, n_resamples=2000, level=0.9)
    # binomial(1000, 0.3)/1000: 5% and 95% quantiles are 0.276 and 0.324 (scipy.stats.binom.ppf)
    assert b.lower[0] == pytest.approx(0.276, abs=0.002)
    assert b.upper[0] == pytest.approx(0.324, abs=0.002)


def test_corp_band_pooled_for_many_distinct_values() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(size=20_000)
    y = rng.uniform(size=20_000) < p
    b = corp_band(p, y, seed=0, n_resamples=200, max_points=500)
    assert b.pooled and b.x.size == 20_000
    assert np.all(b.lower <= b.upper)
    mid = (b.x > 0.2) & (b.x < 0.8)
    assert np.mean((b.lower[mid] <= b.x[mid]) & (b.x[mid] <= b.upper[mid])) > 0.95


def test_corp_band_validation() -> None:
    with pytest.raises(ScoringInputError, match="level"):
        corp_band([0.5], [1], level=1.5)
    with pytest.raises(ScoringInputError, match="n_resamples"):
        corp_band([0.5], [1], n_resamples=0)


# ----------------------------------------------------------------- Spiegelhalter


@pytest.mark.parametrize(
    ("p", "y", "z", "pv"),
    [
        ([0.2, 0.2], [1, 0], 1.060660, 0.288844),  # reference set
        ([0.4, 0.5], [1, 0], 1.224745, 0.220671),  # reference set
        (CORP_P, CORP_Y, 0.688530, 0.491119),  # reference set
    ],
)
def test_spiegelhalter_reference(p: list[float], y: list[int], z: float, pv: float) -> None:
    zz, pp = spiegelhalter(p, y)
    assert zz == pytest.approx(z, abs=TOL)
    assert pp == pytest.approx(pv, abs=TOL)


def test_spiegelhalter_degenerate() -> None:
    z, pv = spiegelhalter([0.5, 0.5], [1, 0])
    assert math.isnan(z) and math.isnan(pv)
    # a certain forecast that failed: sum (y - p)(1 - 2p) = (0 - 1)(1 - 2) = 1 > 0, variance 0
    z, pv = spiegelhalter([1.0, 0.0], [0, 0])
    assert z == math.inf and pv == 0.0
    z, pv = spiegelhalter([1.0, 0.0], [1, 0])
    assert math.isnan(z)


# ------------------------------------------------------------------------- Wilson


def test_wilson_reference() -> None:
    # roots of (k/n - p)^2 = z^2 p (1 - p) / n, solved with numpy.roots while writing the test
    lo, hi = wilson_interval(3, 10, level=0.95)
    assert (lo, hi) == pytest.approx((0.107791267406, 0.603221852539), abs=TOL)
    lo, hi = wilson_interval(3, 10, level=0.9)
    assert (lo, hi) == pytest.approx((0.126876583903, 0.55830020413), abs=TOL)
    lo, hi = wilson_interval(20, 20, level=0.9)
    assert (lo, hi) == pytest.approx((0.880842162639, 1.0), abs=TOL)


def test_wilson_vectorised_and_edges() -> None:
    lo, hi = wilson_interval([0, 3, 10, 0], [10, 10, 10, 0])
    assert lo.shape == (4,)
    assert lo[0] == 0.0 and hi[2] == 1.0
    assert (lo[3], hi[3]) == (0.0, 1.0)
    with pytest.raises(ScoringInputError, match="exceed"):
        wilson_interval(5, 3)
    with pytest.raises(ScoringInputError, match="whole"):
        wilson_interval(1.5, 3)


# ------------------------------------------------- one CORP fit, fast bins and pooling


def _same(a: Any, b: Any) -> None:
    """Two CorpResults equal field by field, bit for bit."""
    for name in ("score", "mcb", "dsc", "unc", "n", "n_inf", "score_name"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("x", "count", "events", "cep"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_corp_pair_reference() -> None:
    # reference set, both CORP rows from one fit
    b, lg = corp_pair(CORP_P, CORP_Y)
    assert (b.score_name, lg.score_name) == ("brier", "log")
    assert (b.score, b.mcb, b.dsc, b.unc) == pytest.approx(
        (0.226667, 0.101667, 0.125, 0.25), abs=TOL
    )
    assert (lg.score, lg.mcb, lg.dsc, lg.unc) == pytest.approx(
        (0.698623, 0.323733, 0.318257, 0.693147), abs=TOL
    )
    # reference set "CORP with ties", in both input orders
    for y in ([0, 1, 0, 1], [1, 0, 0, 1]):
        b, _ = corp_pair([0.5, 0.5, 0.2, 0.8], y)
        assert (b.score, b.mcb, b.dsc, b.unc) == pytest.approx((0.145, 0.02, 0.125, 0.25), abs=TOL)


def test_corp_pair_equals_two_corp_calls() -> None:
    rng = np.random.default_rng(7)
    p = np.round(rng.uniform(size=5000), 2)  # many ties
    p[:50] = 0.0
    p[50:100] = 1.0
    y = (rng.uniform(size=p.size) < p).astype(float)
    y[0], y[50] = 1.0, 0.0  # a certain forecast that was wrong: infinite log score
    b, lg = corp_pair(p, y)
    _same(b, corp(p, y, score="brier"))
    _same(lg, corp(p, y, score="log"))
    assert lg.n_inf == 2 and math.isinf(lg.score) and math.isinf(lg.mcb)
    with pytest.raises(ScoringInputError, match="p is empty"):
        corp_pair([], [])


def test_corp_pools_negative_zero_with_zero() -> None:
    r = corp([-0.0, 0.0, 1.0, 0.0], [0, 1, 1, 0])
    np.testing.assert_array_equal(r.x, [0.0, 1.0])
    assert not np.signbit(r.x[0])
    np.testing.assert_array_equal(r.count, [3, 1])
    np.testing.assert_array_equal(r.events, [1.0, 1.0])
    # hand: pooled frequencies (1/3, 1) are already increasing, so the recalibration keeps them
    np.testing.assert_allclose(r.cep, [1 / 3, 1.0])
    # Brier: mean of (0, 1, 0, 0) = 0.25; recalibrated: (3 * 2/9 + 0) / 4 = 1/6
    assert r.score == pytest.approx(0.25, abs=1e-12)
    assert r.mcb == pytest.approx(0.25 - 1 / 6, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 10, 12, 20, 49, 100])
def test_bin_index_equals_binary_search(k: int) -> None:
    """The fast bin rule gives exactly ``searchsorted(arange(1, k) / k, p, "right")``,
    for forecasts on the edges and one step either side of them."""
    edges = np.arange(1, k) / k
    rng = np.random.default_rng(k)
    p = np.concatenate(
        [
            [0.0, 1.0, np.nextafter(1.0, 0.0), 5e-324],
            edges,
            np.nextafter(edges, 0.0),
            np.nextafter(edges, 1.0),
            np.arange(0, k + 1) / k * (1 - 1e-16),
            rng.uniform(size=20_000),
        ]
    )
    p = np.clip(p, 0.0, 1.0)
    want = np.searchsorted(edges, p, side="right")
    np.testing.assert_array_equal(bin_index(p, k), want)
    m = murphy(p, (p > 0.5).astype(float), bins=k)
    np.testing.assert_array_equal(m.n, np.bincount(want, minlength=k))


@settings(max_examples=150, deadline=None)
@given(
    n=st.one_of(st.integers(0, 3000), st.integers(3000, 200_000)),
    p=st.one_of(st.sampled_from([0.1, 0.2]), st.floats(0.0, 1.0)),
    q=st.one_of(st.sampled_from([0.05, 0.95]), st.floats(1e-6, 1 - 1e-6)),
)
@example(n=7, p=0.5, q=0.5)  # an exact tie: P(X <= 3) = 64/128
def test_binomial_quantile_is_scipys(n: int, p: float, q: float) -> None:
    """As the PIT band uses it (q 0.05 and 0.95, p 1/10 and 1/5), and at random q and p; where
    P(X <= k) equals q exactly (a q of 0.5 at p 0.5) rounding may decide, see the docstring:
    then the two answers are neighbours and the CDF between them is q to rounding."""
    from scipy import special, stats

    from predtrack.scoring import binomial_quantile

    ours, theirs = binomial_quantile(q, n, p), int(stats.binom.ppf(q, n, p))
    if ours != theirs:
        assert abs(ours - theirs) == 1
        assert math.isclose(special.bdtr(min(ours, theirs), n, p), q, rel_tol=1e-12)


def test_binomial_quantile_reference_and_refusals() -> None:
    from predtrack.scoring import binomial_quantile

    # Binomial(10, 0.5): P(X <= 2) = 56/1024 = 0.0547 >= 0.05 > P(X <= 1) = 11/1024
    assert binomial_quantile(0.05, 10, 0.5) == 2
    assert binomial_quantile(0.95, 10, 0.5) == 8  # P(X <= 7) = 0.945, P(X <= 8) = 0.989
    for bad in ((0.0, 10, 0.5), (1.0, 10, 0.5), (0.5, -1, 0.5), (0.5, 10, 1.5)):
        with pytest.raises(ScoringInputError):
            binomial_quantile(*bad)
