"""Forecast strings parse to the right family and parameters (DESIGN §3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from predtrack.errors import ForecastError, PredtrackError
from predtrack.forecast import beta_cdf, describe, fit_beta_interval, infer_kind, parse_forecast

Z95 = 1.6448536269514722  # standard normal 95% quantile (scipy.stats.norm.ppf(0.95))


@pytest.mark.parametrize(
    ("text", "p"), [("0.7", 0.7), ("70%", 0.7), (".25", 0.25), ("0", 0.0), ("100%", 1.0)]
)
def test_binary_probabilities(text: str, p: float) -> None:
    forecast = parse_forecast(text)
    assert forecast.kind == "binary"
    assert forecast.distribution == {"family": "bernoulli", "p": pytest.approx(p)}


def test_certain_binary_forecast_warns_about_infinite_log_score() -> None:
    assert "infinite" in parse_forecast("1").warnings[0]
    assert parse_forecast("0.5").warnings == ()


def test_interval_at_90_percent_is_normal_with_the_right_sd() -> None:
    forecast = parse_forecast("10 to 20", kind="quantity")
    dist = forecast.distribution
    assert dist["family"] == "normal"
    assert dist["mu"] == 15.0
    assert dist["sigma"] == pytest.approx(5 / Z95, rel=1e-12)
    assert dist["fit"] == {"from": "interval", "lo": 10.0, "hi": 20.0, "level": 0.9}
    assert forecast.text == "10 to 20"


def test_interval_level_option() -> None:
    dist = parse_forecast("10 to 20", kind="quantity", level="50%").distribution
    assert dist["sigma"] == pytest.approx(5 / stats.norm.ppf(0.75), rel=1e-12)


def test_log_interval_is_lognormal() -> None:
    dist = parse_forecast("10 to 20", kind="quantity", log=True).distribution
    assert dist["family"] == "lognormal"
    assert dist["mu"] == pytest.approx(math.log(200) / 2)
    assert dist["sigma"] == pytest.approx((math.log(20) - math.log(10)) / 2 / Z95)


def test_explicit_distributions() -> None:
    assert parse_forecast("normal(14, 2)").distribution == {
        "family": "normal",
        "mu": 14.0,
        "sigma": 2.0,
    }
    assert parse_forecast("lognormal(2.6,0.2)").distribution == {
        "family": "lognormal",
        "mu": 2.6,
        "sigma": 0.2,
    }
    forecast = parse_forecast("beta(3,7)")
    assert forecast.kind == "fraction"
    assert forecast.distribution == {"family": "beta", "alpha": 3.0, "beta": 7.0}


def test_quantiles() -> None:
    forecast = parse_forecast("quantiles(0.05:10, 0.5:14, 0.95:20)")
    assert forecast.kind == "quantity"
    assert forecast.distribution == {
        "family": "quantiles",
        "levels": [0.05, 0.5, 0.95],
        "values": [10.0, 14.0, 20.0],
    }
    fraction = parse_forecast("quantiles(5%:0.4, 50%:0.6, 95%:0.8)", kind="fraction")
    assert fraction.distribution["levels"] == [0.05, 0.5, 0.95]


def test_fraction_interval_fits_a_beta_with_those_quantiles() -> None:
    forecast = parse_forecast("40% to 80%")
    dist = forecast.distribution
    assert forecast.kind == "fraction" and dist["family"] == "beta"
    lo, hi = stats.beta.ppf([0.05, 0.95], dist["alpha"], dist["beta"])
    assert lo == pytest.approx(0.4, abs=1e-7) and hi == pytest.approx(0.8, abs=1e-7)


def test_fraction_point_with_ci_fits_a_beta_near_all_three_numbers() -> None:
    dist = parse_forecast("0.6", kind="fraction", ci=("0.4", "0.8")).distribution
    assert dist["family"] == "beta"
    assert dist["fit"] == {"from": "point+ci", "point": 0.6, "lo": 0.4, "hi": 0.8, "level": 0.9}
    q05, q50, q95 = stats.beta.ppf([0.05, 0.5, 0.95], dist["alpha"], dist["beta"])
    assert abs(q50 - 0.6) < 0.01 and abs(q05 - 0.4) < 0.02 and abs(q95 - 0.8) < 0.02


def test_quantity_point_with_ci() -> None:
    symmetric = parse_forecast("15", kind="quantity", ci=("10", "20")).distribution
    assert symmetric["family"] == "normal" and symmetric["sigma"] == pytest.approx(5 / Z95)
    skewed = parse_forecast("14", kind="quantity", ci=("10", "20")).distribution
    assert skewed["family"] == "quantiles"
    assert skewed["levels"] == [0.05, 0.5, 0.95] and skewed["values"] == [10.0, 14.0, 20.0]


def test_categorical() -> None:
    forecast = parse_forecast("shortest-path:0.5, top-right-first:0.3, mixed:0.2")
    assert forecast.kind == "categorical"
    assert forecast.distribution == {
        "family": "categorical",
        "categories": ["shortest-path", "top-right-first", "mixed"],
        "probs": [0.5, 0.3, 0.2],
    }
    # Against a question's categories the order is the question's.
    reordered = parse_forecast("b:0.25, a:75%", categories=["a", "b"])
    assert reordered.distribution["probs"] == [0.75, 0.25]
    assert parse_forecast("a:1, b:1", normalize=True).distribution["probs"] == [0.5, 0.5]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("1.2", {}, "outside [0, 1]"),
        ("-5%", {}, "outside [0, 1]"),
        ("nan", {}, "not finite"),
        ("inf", {"kind": "quantity"}, "not finite"),
        ("maybe", {}, "not a number"),
        ("20 to 10", {"kind": "quantity"}, "reversed"),
        ("normal(14, -2)", {}, "standard deviation > 0"),
        ("normal(14)", {}, "takes 2 numbers"),
        ("beta(0, 3)", {}, "a > 0 and b > 0"),
        ("beta(3, 7)", {"kind": "quantity"}, "fraction"),
        ("normal(0.5, 0.1)", {"kind": "fraction"}, "beta"),
        ("quantiles(0.5:14, 0.05:10)", {}, "levels must increase"),
        ("quantiles(0.05:14, 0.5:10)", {}, "quantiles must increase"),
        ("quantiles(0.05:10)", {}, "at least two"),
        ("quantiles(1.5:10, 2:20)", {}, "strictly between 0 and 1"),
        ("a:0.5, b:0.3", {}, "sum to 0.8"),
        ("a:0.5, a:0.5", {}, "twice"),
        ("a:0.5, b:0.5", {"categories": ["a", "b", "c"]}, "leaves out 'c'"),
        ("a:0.5, z:0.5", {"categories": ["a", "b"]}, "unknown category 'z'"),
        ("0.6", {"kind": "fraction"}, "needs its uncertainty"),
        ("14", {"kind": "quantity"}, "needs its uncertainty"),
        ("0.2 to 1.4", {"kind": "fraction"}, "outside the allowed range"),
        ("0 to 0.5", {"kind": "fraction"}, "0 < low < high < 1"),
        ("10 to 20", {"kind": "quantity", "level": "1.5"}, "level"),
        ("-1 to 20", {"kind": "quantity", "log": True}, "positive"),
        ("0.5", {"kind": "quantity", "ci": ("0.6", "0.9")}, "strictly inside"),
        ("", {}, "empty"),
        ("gamma(1, 2)", {}, "unknown distribution"),
        ("30 to 40", {"kind": "quantity", "bounds": (3.0, 25.0)}, "outside the allowed range"),
    ],
)
def test_invalid_forecasts_name_the_problem(text: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ForecastError, match=None) as info:
        parse_forecast(text, **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_infer_kind() -> None:
    assert infer_kind("0.3") == "binary"
    assert infer_kind("10 to 20") == "quantity"
    assert infer_kind("40% to 80%") == "fraction"
    assert infer_kind("a:0.2, b:0.8") == "categorical"
    assert infer_kind("0.6", has_ci=True) == "quantity"


def test_describe_is_short_and_readable() -> None:
    assert describe({"family": "normal", "mu": 15.0, "sigma": 3.0397841}) == "normal(15, 3.04)"
    assert describe({"family": "bernoulli", "p": 0.3}) == "0.3"


@settings(max_examples=60, deadline=None)
@given(
    lo=st.floats(0.02, 0.9),
    width=st.floats(0.03, 0.5),
    level=st.sampled_from([0.5, 0.8, 0.9, 0.95]),
)
def test_beta_interval_fit_reproduces_the_interval(lo: float, width: float, level: float) -> None:
    hi = min(lo + width, 0.98)
    a, b = fit_beta_interval(lo, hi, level)
    tail = (1 - level) / 2
    assert stats.beta.cdf(lo, a, b) == pytest.approx(tail, abs=1e-6)
    assert stats.beta.cdf(hi, a, b) == pytest.approx(1 - tail, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(x=st.floats(0.001, 0.999), a=st.floats(0.2, 200), b=st.floats(0.2, 200))
def test_pure_python_beta_cdf_matches_scipy(x: float, a: float, b: float) -> None:
    assert beta_cdf(x, a, b) == pytest.approx(stats.beta.cdf(x, a, b), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=40),
    kind=st.sampled_from([None, "binary", "fraction", "quantity", "categorical"]),
)
def test_parser_never_fails_with_anything_but_a_clear_error(text: str, kind: str | None) -> None:
    try:
        parse_forecast(text, kind=kind)
    except PredtrackError as error:
        assert str(error) and "\n" not in str(error)


@settings(max_examples=200, deadline=None)
@given(
    text=st.from_regex(
        r"(normal|lognormal|beta|quantiles)\(([-+0-9.e%:, ]{0,30})\)|[-+0-9.%]{1,8} to [-+0-9.%]{1,8}",
        fullmatch=True,
    ),
    kind=st.sampled_from([None, "fraction", "quantity"]),
)
def test_parser_fuzz_structured(text: str, kind: str | None) -> None:
    try:
        forecast = parse_forecast(text, kind=kind)
    except PredtrackError:
        return
    for value in _numbers(forecast.distribution):
        assert math.isfinite(value)


def _numbers(value: object) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return []
