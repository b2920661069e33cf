"""Forecast strings (DESIGN §3) parsed into a stored distribution; pure Python, no numpy.

The write path must stay light (DESIGN §9), so the few special functions needed to fit a
Beta distribution to an interval are implemented here with the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from predtrack.errors import ForecastError

KINDS = ("binary", "fraction", "quantity", "categorical")
DEFAULT_LEVEL = 0.9
SUM_TOLERANCE = 1e-6

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?"
_NUMBER_RE = re.compile(rf"^\s*({_NUMBER})\s*$")
_INTERVAL_RE = re.compile(rf"^\s*({_NUMBER})\s+to\s+({_NUMBER})\s*$", re.IGNORECASE)
_CALL_RE = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class ParsedForecast:
    """A forecast as stored: its kind, the user's text and the distribution it means."""

    kind: str
    text: str
    distribution: dict[str, Any]
    categories: tuple[str, ...] | None = None
    warnings: tuple[str, ...] = field(default=())


def parse_number(text: str, what: str = "number") -> float:
    """A finite number, `%` meaning /100; NaN and infinity are refused."""
    match = _NUMBER_RE.match(text)
    if not match:
        low = text.strip().lower()
        if low in {"nan", "inf", "+inf", "-inf", "infinity", "-infinity"}:
            raise ForecastError(f"{what} {text.strip()!r} is not finite")
        raise ForecastError(f"{what} {text.strip()!r} is not a number")
    token = match.group(1)
    value = float(token[:-1]) / 100.0 if token.endswith("%") else float(token)
    if not math.isfinite(value) or abs(value) > 1e300:
        raise ForecastError(f"{what} {text.strip()!r} is too large to be stored")
    return value


def parse_probability(text: str, what: str = "probability") -> float:
    """A probability in [0, 1], given as `0.7` or `70%`."""
    value = parse_number(text, what)
    if not 0.0 <= value <= 1.0:
        raise ForecastError(f"{what} {text.strip()!r} is outside [0, 1]")
    return value


def parse_level(value: str | float | None) -> float:
    """A central-interval level strictly between 0 and 1 (`0.8` or `80%`)."""
    if value is None:
        return DEFAULT_LEVEL
    level = parse_number(value, "level") if isinstance(value, str) else float(value)
    if not 0.0 < level < 1.0 or math.isnan(level):
        raise ForecastError(f"level {value!r} must be strictly between 0 and 1 (e.g. 0.9 or 90%)")
    return level


def _args(body: str, name: str, count: int) -> list[float]:
    parts = [p for p in body.split(",")]
    if len(parts) != count or any(not p.strip() for p in parts):
        raise ForecastError(f"{name}(...) takes {count} numbers, got {body.strip()!r}")
    return [parse_number(p, f"{name} parameter") for p in parts]


def _parse_quantiles(body: str) -> tuple[list[float], list[float]]:
    levels: list[float] = []
    values: list[float] = []
    for part in body.split(","):
        level_text, sep, value_text = part.partition(":")
        if not sep or not level_text.strip() or not value_text.strip():
            raise ForecastError(f"quantiles(...) entries are LEVEL:VALUE, got {part.strip()!r}")
        level = parse_number(level_text, "quantile level")
        if not 0.0 < level < 1.0:
            raise ForecastError(
                f"quantile level {level_text.strip()!r} must be strictly between 0 and 1"
            )
        levels.append(level)
        values.append(parse_number(value_text, "quantile value"))
    if len(levels) < 2:
        raise ForecastError("quantiles(...) needs at least two LEVEL:VALUE pairs")
    for i in range(1, len(levels)):
        if levels[i] <= levels[i - 1]:
            raise ForecastError(f"quantile levels must increase: {levels[i - 1]} then {levels[i]}")
        if values[i] <= values[i - 1]:
            raise ForecastError(
                f"quantiles must increase with their level: {values[i - 1]} at {levels[i - 1]} "
                f"then {values[i]} at {levels[i]}"
            )
    return levels, values


def _parse_categorical(text: str, normalize: bool) -> tuple[list[str], list[float]]:
    names: list[str] = []
    probs: list[float] = []
    for part in text.split(","):
        name, sep, prob_text = part.rpartition(":")
        name = name.strip()
        if not sep or not name or not prob_text.strip():
            raise ForecastError(f"categorical entries are NAME:PROBABILITY, got {part.strip()!r}")
        if name in names:
            raise ForecastError(f"category {name!r} appears twice")
        names.append(name)
        probs.append(parse_probability(prob_text, f"probability of {name!r}"))
    if len(names) < 2:
        raise ForecastError("a categorical forecast needs at least two categories")
    total = math.fsum(probs)
    if abs(total - 1.0) > SUM_TOLERANCE:
        if not normalize or total <= 0:
            raise ForecastError(
                f"category probabilities sum to {total:.6g}, not 1 (use --normalize to rescale)"
            )
        probs = [p / total for p in probs]
    return names, probs


def _looks_categorical(text: str) -> bool:
    return ":" in text and not _CALL_RE.match(text)


# --- special functions for the Beta fit (Numerical Recipes §6.4, Lentz's continued fraction) ---


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 5000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """Inverse of `beta_cdf` in x, by bisection (60 halvings reach double precision)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _fit_beta(points: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """(a, b, worst CDF error) of the Beta whose CDF passes nearest the (x, level) points.

    Levenberg-Marquardt on (log a, log b) with a finite-difference Jacobian; the start is
    the moment match of a normal with the same central interval.
    """
    xs = [x for x, _ in points]
    lo, hi = min(xs), max(xs)
    z = NormalDist().inv_cdf(max(q for _, q in points))
    mean = 0.5 * (lo + hi)
    sd = max((hi - lo) / (2.0 * max(z, 0.1)), 1e-6)
    conc = max(mean * (1.0 - mean) / (sd * sd) - 1.0, 0.5)
    theta = [math.log(mean * conc), math.log((1.0 - mean) * conc)]

    def residuals(t: Sequence[float]) -> list[float]:
        a, b = math.exp(t[0]), math.exp(t[1])
        return [beta_cdf(x, a, b) - q for x, q in points]

    r = residuals(theta)
    cost = sum(v * v for v in r)
    damping = 1e-3
    for _ in range(200):
        if cost < 1e-26:
            break
        jac = []
        for j in range(2):
            step = 1e-6 * max(1.0, abs(theta[j]))
            bumped = list(theta)
            bumped[j] += step
            rj = residuals(bumped)
            jac.append([(rj[i] - r[i]) / step for i in range(len(r))])
        # Normal equations (J^T J + damping * diag) delta = -J^T r, for two unknowns.
        g0 = sum(jac[0][i] * r[i] for i in range(len(r)))
        g1 = sum(jac[1][i] * r[i] for i in range(len(r)))
        h00 = sum(v * v for v in jac[0])
        h11 = sum(v * v for v in jac[1])
        h01 = sum(jac[0][i] * jac[1][i] for i in range(len(r)))
        improved = False
        while damping < 1e12:
            a00, a11 = h00 * (1 + damping), h11 * (1 + damping)
            det = a00 * a11 - h01 * h01
            if det <= 0:
                damping *= 10
                continue
            d0 = (-g0 * a11 + g1 * h01) / det
            d1 = (-g1 * a00 + g0 * h01) / det
            candidate = [theta[0] + max(min(d0, 3.0), -3.0), theta[1] + max(min(d1, 3.0), -3.0)]
            if max(candidate) > 25:  # concentration beyond e^25: not a sensible Beta
                damping *= 10
                continue
            r_new = residuals(candidate)
            cost_new = sum(v * v for v in r_new)
            if cost_new < cost:
                theta, r, cost = candidate, r_new, cost_new
                damping = max(damping / 10, 1e-9)
                improved = True
                break
            damping *= 10
        if not improved:
            break
    return math.exp(theta[0]), math.exp(theta[1]), max(abs(v) for v in r)


def fit_beta_interval(lo: float, hi: float, level: float) -> tuple[float, float]:
    """The Beta(a, b) whose central `level` interval is exactly [lo, hi]."""
    tail = round((1.0 - level) / 2.0, 12)
    a, b, error = _fit_beta([(lo, tail), (hi, 1.0 - tail)])
    if error > 1e-6:
        raise ForecastError(
            f"no Beta distribution has {lo:g} to {hi:g} as its central {level:.0%} interval; "
            "use quantiles(...) instead"
        )
    return a, b


def _normal_from_interval(lo: float, hi: float, level: float) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return 0.5 * (lo + hi), (hi - lo) / (2.0 * z)


# --- the parser ---


def infer_kind(text: str, *, has_ci: bool = False) -> str:
    """The kind a forecast string implies when `--kind` is not given (DESIGN §3)."""
    call = _CALL_RE.match(text)
    if call:
        family = call.group(1).lower()
        return "fraction" if family == "beta" else "quantity"
    if _looks_categorical(text):
        return "categorical"
    interval = _INTERVAL_RE.match(text)
    if interval:
        return "fraction" if interval.group(1).endswith("%") else "quantity"
    if has_ci:
        return "fraction" if text.strip().endswith("%") else "quantity"
    return "binary"


def parse_forecast(
    text: str,
    *,
    kind: str | None = None,
    level: str | float | None = None,
    ci: tuple[str, str] | None = None,
    log: bool = False,
    normalize: bool = False,
    categories: Sequence[str] | None = None,
    bounds: tuple[float, float] | None = None,
) -> ParsedForecast:
    """Parse a forecast string for a question of `kind` into its stored distribution."""
    if not isinstance(text, str) or not text.strip():
        raise ForecastError("the forecast is empty")
    text = text.strip()
    kind = kind or infer_kind(text, has_ci=ci is not None)
    if kind not in KINDS:
        raise ForecastError(f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")
    lvl = parse_level(level)
    if log and kind != "quantity":
        raise ForecastError("--log (a lognormal interval) applies to quantity forecasts only")
    if kind == "binary":
        return _binary(text, ci)
    if kind == "categorical":
        return _categorical(text, normalize, categories)
    return _continuous(text, kind, lvl, ci, log, bounds)


def _binary(text: str, ci: tuple[str, str] | None) -> ParsedForecast:
    if ci is not None:
        raise ForecastError("--ci is for fraction and quantity forecasts, not binary ones")
    if _INTERVAL_RE.match(text) or _CALL_RE.match(text) or ":" in text:
        raise ForecastError(f"a binary forecast is one probability like 0.7 or 70%, got {text!r}")
    p = parse_probability(text)
    warnings: tuple[str, ...] = ()
    if p in (0.0, 1.0):
        warnings = (f"probability {p:g} is certain: the log score is infinite if it is wrong",)
    return ParsedForecast("binary", text, {"family": "bernoulli", "p": p}, warnings=warnings)


def _categorical(text: str, normalize: bool, categories: Sequence[str] | None) -> ParsedForecast:
    names, probs = _parse_categorical(text, normalize)
    if categories:
        known = list(categories)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ForecastError(
                f"unknown category {unknown[0]!r} (this question's categories: {', '.join(known)})"
            )
        missing = [n for n in known if n not in names]
        if missing:
            raise ForecastError(
                f"the forecast leaves out {', '.join(map(repr, missing))}: give every category "
                "a probability (0 is allowed)"
            )
        lookup = dict(zip(names, probs, strict=True))
        names, probs = known, [lookup[n] for n in known]
    dist = {"family": "categorical", "categories": names, "probs": probs}
    return ParsedForecast("categorical", text, dist, categories=tuple(names))


def _continuous(
    text: str,
    kind: str,
    level: float,
    ci: tuple[str, str] | None,
    log: bool,
    bounds: tuple[float, float] | None,
) -> ParsedForecast:
    support = (0.0, 1.0) if kind == "fraction" else bounds
    call = _CALL_RE.match(text)
    interval = _INTERVAL_RE.match(text)
    warnings: list[str] = []
    if ci is not None and (call or interval):
        raise ForecastError(
            "--ci goes with a single point forecast like 0.6, not with " + repr(text)
        )
    if call:
        family, body = call.group(1).lower(), call.group(2)
        if family == "normal" or family == "lognormal":
            if kind == "fraction":
                raise ForecastError(
                    f"a fraction forecast must stay in [0, 1]: use beta(...), not {family}(...)"
                )
            mu, sigma = _args(body, family, 2)
            if sigma <= 0:
                raise ForecastError(f"{family}(...) needs a standard deviation > 0, got {sigma:g}")
            dist: dict[str, Any] = {"family": family, "mu": mu, "sigma": sigma}
            if family == "lognormal" and abs(mu) > 700:
                raise ForecastError(
                    f"lognormal(mu, sd) takes mu on the log scale: exp({mu:g}) overflows"
                )
            median = math.exp(mu) if family == "lognormal" else mu
            _check_inside(support, [median], text)
        elif family == "beta":
            if kind != "fraction":
                raise ForecastError(
                    "beta(...) is a forecast for a fraction in [0, 1]: use --kind fraction"
                )
            a, b = _args(body, "beta", 2)
            if a <= 0 or b <= 0:
                raise ForecastError(f"beta(a, b) needs a > 0 and b > 0, got beta({a:g}, {b:g})")
            dist = {"family": "beta", "alpha": a, "beta": b}
        elif family == "quantiles":
            levels, values = _parse_quantiles(body)
            _check_inside(support, values, text)
            dist = {"family": "quantiles", "levels": levels, "values": values}
        else:
            raise ForecastError(
                f"unknown distribution {family!r} (expected normal, lognormal, beta or quantiles)"
            )
        return ParsedForecast(kind, text, dist)

    if interval:
        lo, hi = (
            parse_number(interval.group(1), "interval start"),
            parse_number(interval.group(2), "interval end"),
        )
        return ParsedForecast(kind, text, _from_interval(kind, lo, hi, level, log, support, text))

    point = parse_number(text, "point forecast")
    if ci is None:
        if kind == "fraction":
            raise ForecastError(
                f"a fraction forecast needs its uncertainty: {text} with --ci LO HI, "
                "'40% to 80%', beta(a, b) or quantiles(...)"
            )
        raise ForecastError(
            f"a quantity forecast needs its uncertainty: {text} with --ci LO HI, "
            "'10 to 20', normal(mu, sd), lognormal(mu, sd) or quantiles(...)"
        )
    lo, hi = parse_number(ci[0], "--ci low end"), parse_number(ci[1], "--ci high end")
    if not lo < point < hi:
        raise ForecastError(f"the point {point:g} must lie strictly inside --ci {lo:g} {hi:g}")
    dist = _from_interval(kind, lo, hi, level, log, support, text)
    fit = {"from": "point+ci", "point": point, "lo": lo, "hi": hi, "level": level}
    tail = round((1.0 - level) / 2.0, 12)
    if kind == "fraction":
        a, b, _ = _fit_beta([(lo, tail), (point, 0.5), (hi, 1.0 - tail)])
        dist = {"family": "beta", "alpha": a, "beta": b, "fit": fit}
        q = [beta_ppf(p, a, b) for p in (tail, 0.5, 1.0 - tail)]
        # Three numbers, two parameters: say so when the best Beta is visibly off.
        if max(abs(q[0] - lo), abs(q[1] - point), abs(q[2] - hi)) > 0.05 * (hi - lo):
            warnings.append(
                f"no Beta matches {point:g} with {lo:g} to {hi:g} exactly; stored "
                f"beta({a:.4g}, {b:.4g}) with median {q[1]:.3g} and {level:.0%} interval "
                f"{q[0]:.3g} to {q[2]:.3g}"
            )
    else:
        centre = (
            (math.log(lo) + math.log(hi)) / 2 if dist["family"] == "lognormal" else (lo + hi) / 2
        )
        at = math.log(point) if dist["family"] == "lognormal" else point
        width = (math.log(hi) - math.log(lo)) if dist["family"] == "lognormal" else hi - lo
        if abs(at - centre) <= 1e-9 * max(1.0, abs(width)):
            dist["fit"] = fit
        else:
            # An asymmetric point and interval is not a normal: keep the user's three numbers.
            dist = {
                "family": "quantiles",
                "levels": [tail, 0.5, 1.0 - tail],
                "values": [lo, point, hi],
                "fit": fit,
            }
    return ParsedForecast(kind, text, dist, warnings=tuple(warnings))


def _check_inside(support: tuple[float, float] | None, values: Sequence[float], text: str) -> None:
    if support is None:
        return
    lo, hi = support
    for value in values:
        if not lo <= value <= hi:
            raise ForecastError(
                f"{text!r}: {value:g} is outside the allowed range [{lo:g}, {hi:g}]"
            )


def _from_interval(
    kind: str,
    lo: float,
    hi: float,
    level: float,
    log: bool,
    support: tuple[float, float] | None,
    text: str,
) -> dict[str, Any]:
    if not lo < hi:
        raise ForecastError(
            f"interval {lo:g} to {hi:g} is reversed or empty: the low end comes first"
        )
    _check_inside(support, [lo, hi], text)
    fit = {"from": "interval", "lo": lo, "hi": hi, "level": level}
    if kind == "fraction":
        if lo <= 0.0 or hi >= 1.0:
            raise ForecastError(
                f"a Beta interval needs 0 < low < high < 1, got {lo:g} to {hi:g}; "
                "use quantiles(...) for an interval that touches 0 or 1"
            )
        a, b = fit_beta_interval(lo, hi, level)
        return {"family": "beta", "alpha": a, "beta": b, "fit": fit}
    if log:
        if lo <= 0:
            raise ForecastError(f"--log needs a positive interval, got {lo:g} to {hi:g}")
        mu, sigma = _normal_from_interval(math.log(lo), math.log(hi), level)
        return {"family": "lognormal", "mu": mu, "sigma": sigma, "fit": fit}
    mu, sigma = _normal_from_interval(lo, hi, level)
    return {"family": "normal", "mu": mu, "sigma": sigma, "fit": fit}


def describe(dist: dict[str, Any]) -> str:
    """A short human form of a stored distribution, e.g. `normal(15, 3.04)`."""
    family = dist.get("family")
    if family == "bernoulli":
        return f"{dist['p']:.4g}"
    if family in ("normal", "lognormal"):
        return f"{family}({dist['mu']:.4g}, {dist['sigma']:.4g})"
    if family == "beta":
        return f"beta({dist['alpha']:.4g}, {dist['beta']:.4g})"
    if family == "quantiles":
        pairs = ", ".join(
            f"{lv:g}:{v:.4g}" for lv, v in zip(dist["levels"], dist["values"], strict=True)
        )
        return f"quantiles({pairs})"
    if family == "categorical":
        return ", ".join(
            f"{n}:{p:.3g}" for n, p in zip(dist["categories"], dist["probs"], strict=True)
        )
    return str(family)
