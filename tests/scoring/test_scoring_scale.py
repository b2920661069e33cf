"""The per-question CRPS scale: reference values, errors, and unit invariance (hypothesis).

Reference widths were computed with scipy.stats at test-writing time
(``ppf(0.95) - ppf(0.05)``) or by hand for quantile sets (noted beside each).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predtrack.errors import ScoringInputError
from predtrack.scoring import crps_scale, crps_scales, score_continuous, spec_quantiles

N01 = {"family": "normal", "mu": 0.0, "sigma": 1.0}
N10 = {"family": "normal", "mu": 10.0, "sigma": 2.0}
LN = {"family": "lognormal", "mu": 1.0, "sigma": 0.5}
QS = {"family": "quantiles", "levels": [0.1, 0.5, 0.9], "values": [2.0, 5.0, 9.0]}
W_N01 = 3.289707253902945  # scipy.stats.norm(0, 1)
W_N10 = 6.5794145078058905  # scipy.stats.norm(10, 2)
W_LN = 4.992539125693876  # scipy.stats.lognorm(s=0.5, scale=e)
# by hand: lower tail slope 0.4/3, so q(0.05) = 2 - 0.05 / (0.4/3) = 1.625; upper slope
# 0.4/4, so q(0.95) = 9 + 0.05 / 0.1 = 9.5; width 7.875
W_QS = 7.875


def test_bounds_width_when_both_bounds() -> None:
    assert crps_scale([N01, N10], (-5.0, 15.0)) == pytest.approx(20.0, rel=1e-12)
    assert crps_scale([{"family": "beta", "alpha": 2, "beta": 5}], (0.0, 1.0)) == 1.0
    # the forecasts play no part then, and none are needed
    assert crps_scale([], (0, 1)) == 1.0


def test_median_width_without_bounds() -> None:
    assert crps_scale([N01]) == pytest.approx(W_N01, rel=1e-9)
    assert crps_scale([N01, N10, LN]) == pytest.approx(W_LN, rel=1e-9)
    assert crps_scale([N01, N10]) == pytest.approx(4.934560880854418, rel=1e-9)
    assert crps_scale([QS]) == pytest.approx(W_QS, rel=1e-12)
    assert crps_scale([N01, QS, LN, N10]) == pytest.approx(5.7859768167498835, rel=1e-9)
    # order of the forecasts does not matter
    assert crps_scale([N10, LN, N01]) == crps_scale([N01, N10, LN])


def test_one_bound_shapes_quantile_tails_only() -> None:
    # an infinite or missing end means "no bounds": the forecasts set the scale
    assert crps_scale([QS], (0.0, None)) == pytest.approx(W_QS, rel=1e-12)
    assert crps_scale([QS], (0.0, math.inf)) == pytest.approx(W_QS, rel=1e-12)
    # by hand: the tail is cut at 1.5, redrawn from (1.5, 0) to (2, 0.1): q(0.05) = 1.75
    assert crps_scale([QS], (1.5, None)) == pytest.approx(9.5 - 1.75, rel=1e-12)
    assert crps_scale([N01], (None, 100.0)) == pytest.approx(W_N01, rel=1e-9)


def test_beta_quantiles_against_scipy() -> None:
    q = spec_quantiles([{"family": "beta", "alpha": 2.0, "beta": 5.0}], [None], [0.05, 0.95])
    assert q[0, 1] - q[0, 0] == pytest.approx(0.5189535175436715, rel=1e-9)


def test_vectorised_equals_one_at_a_time() -> None:
    groups: list[list[dict[str, Any]]] = [[N01, N10], [QS], [LN, N01, QS], []]
    bounds: list[Any] = [None, (1.5, None), None, (0.0, 1.0)]
    got = crps_scales(groups, bounds)
    want = [crps_scale(g, b) for g, b in zip(groups, bounds, strict=True)]
    assert got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got[3] == 1.0


def test_errors_name_the_problem() -> None:
    with pytest.raises(ScoringInputError, match="no bounds and no forecasts"):
        crps_scale([])
    with pytest.raises(ScoringInputError, match=r"question 1: no bounds and no forecasts"):
        crps_scales([[N01], []], [None, None])
    with pytest.raises(ScoringInputError, match=r"bounds must satisfy lo < hi"):
        crps_scale([N01], (3.0, 1.0))
    with pytest.raises(ScoringInputError, match=r"bounds\[0\] must be a pair"):
        crps_scales([[N01]], [(1.0, 2.0, 3.0)])  # type: ignore[list-item]
    with pytest.raises(ScoringInputError, match="2 entries but there are 1 questions"):
        crps_scales([[N01]], [None, None])
    with pytest.raises(ScoringInputError, match="normal specs need numbers 'mu' and 'sigma'"):
        crps_scale([{"family": "normal", "mu": 1.0}])
    with pytest.raises(ScoringInputError, match="unknown distribution family"):
        crps_scale([{"family": "cauchy", "loc": 0}])
    with pytest.raises(ScoringInputError, match="finite positive CRPS scale"):
        crps_scale([{"family": "lognormal", "mu": 800.0, "sigma": 1.0}])


# ------------------------------------------------------------------ unit invariance


LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


@st.composite
def forecast(draw: st.DrawFn) -> dict[str, Any]:
    family = draw(st.sampled_from(["normal", "lognormal", "quantiles"]))
    if family == "normal":
        return {
            "family": "normal",
            "mu": draw(st.floats(-100, 100)),
            "sigma": draw(st.floats(0.01, 100)),
        }
    if family == "lognormal":
        return {
            "family": "lognormal",
            "mu": draw(st.floats(-3, 3)),
            "sigma": draw(st.floats(0.1, 1.5)),
        }
    start = draw(st.floats(-100, 100))
    gaps = draw(st.lists(st.floats(0.01, 50), min_size=4, max_size=4))
    return {"family": "quantiles", "levels": LEVELS, "values": list(start + np.cumsum([0, *gaps]))}


def rescaled(spec: dict[str, Any], c: float) -> dict[str, Any]:
    """The same forecast in a unit c times smaller (values multiplied by c)."""
    if spec["family"] == "normal":
        return {**spec, "mu": spec["mu"] * c, "sigma": spec["sigma"] * c}
    if spec["family"] == "lognormal":
        return {**spec, "mu": spec["mu"] + math.log(c)}
    return {**spec, "values": [v * c for v in spec["values"]]}


def scaled_crps(specs: list[dict[str, Any]], bounds: Any, x: float) -> np.ndarray:
    crps = score_continuous(specs, np.full(len(specs), x), [bounds] * len(specs))["crps"]
    return np.asarray(crps / crps_scale(specs, bounds))


@st.composite
def question(draw: st.DrawFn) -> tuple[list[dict[str, Any]], Any, float]:
    specs = draw(st.lists(forecast(), min_size=1, max_size=6))
    lo_all = (
        min(min(s["values"]) for s in specs if s["family"] == "quantiles")
        if any(s["family"] == "quantiles" for s in specs)
        else 0.0
    )
    hi_all = (
        max(max(s["values"]) for s in specs if s["family"] == "quantiles")
        if any(s["family"] == "quantiles" for s in specs)
        else 1.0
    )
    kind = draw(st.sampled_from(["none", "both", "lower"]))
    if kind == "both":
        bounds: Any = (lo_all - draw(st.floats(0, 100)), hi_all + draw(st.floats(0.01, 100)))
    elif kind == "lower":
        bounds = (lo_all - draw(st.floats(0, 100)), None)
    else:
        bounds = None
    x = draw(
        st.floats(0.01, 200)
        if any(s["family"] == "lognormal" for s in specs)
        else st.floats(-200, 200)
    )
    return specs, bounds, x


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question(), st.floats(1e-3, 1e3))
def test_crps_over_scale_is_unit_free(q: tuple[list[dict[str, Any]], Any, float], c: float) -> None:
    specs, bounds, x = q
    before = scaled_crps(specs, bounds, x)
    cb = None if bounds is None else tuple(None if b is None else b * c for b in bounds)
    after = scaled_crps([rescaled(s, c) for s in specs], cb, x * c)
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=0)
    # one scale per question: a forecaster with a lower CRPS keeps a scaled CRPS no higher
    raw = score_continuous(specs, np.full(len(specs), x), [bounds] * len(specs))["crps"]
    lower = raw[:, None] < raw[None, :]
    assert (before[:, None] <= before[None, :])[lower].all()


@settings(max_examples=100, deadline=None)
@given(st.lists(question(), min_size=2, max_size=5), st.data())
def test_mean_over_questions_ignores_one_questions_unit(
    qs: list[tuple[list[dict[str, Any]], Any, float]], data: st.DataObject
) -> None:
    """Two forecasters' mean scaled CRPS over questions, before and after one question's unit
    is rescaled by 1000: the means, and so the ranking, are unchanged."""
    which = data.draw(st.integers(0, len(qs) - 1))

    def means(questions: list[tuple[list[dict[str, Any]], Any, float]]) -> np.ndarray:
        # forecaster A gives each question's first forecast, forecaster B its last
        per_q = [scaled_crps(specs, bounds, x)[[0, -1]] for specs, bounds, x in questions]
        return np.mean(per_q, axis=0)

    specs, bounds, x = qs[which]
    cb = None if bounds is None else tuple(None if b is None else b * 1000.0 for b in bounds)
    moved = [*qs[:which], ([rescaled(s, 1000.0) for s in specs], cb, x * 1000.0), *qs[which + 1 :]]
    np.testing.assert_allclose(means(moved), means(qs), rtol=1e-9, atol=0)
