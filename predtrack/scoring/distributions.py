"""Forecast distributions as objects (normal, lognormal, beta, quantile sets) built from stored specs.

A stored spec is a mapping such as ``{"family": "normal", "mu": 3, "sigma": 1}``;
:func:`from_spec` turns it into a :class:`Distribution` with ``cdf``, ``pdf``,
``ppf``, ``crps`` and ``log_score``, and :func:`spec_quantiles` evaluates the
quantile functions of many specs at once.  The formulas live in
:mod:`.families` and :mod:`.quantiles`; this module only dispatches to them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    BoundsLike,
    FloatArray,
    as_float,
    as_positive,
    bounds_arrays,
    broadcast,
    check_level,
)
from predtrack.scoring.families import FORMULAS, beta_ppf_raw, lognormal_cdf_raw
from predtrack.scoring.quantiles import (
    crps_quantiles,
    log_score_quantiles,
    qs_arrays,
    quantile_cdf,
    quantile_pdf,
    quantile_ppf,
)

__all__ = [
    "Beta",
    "Distribution",
    "Lognormal",
    "Normal",
    "QuantileSet",
    "from_spec",
    "pit",
    "spec_quantiles",
]


class Distribution(ABC):
    """A forecast distribution; parameters may be arrays (a batch of forecasts).

    Methods broadcast their argument against the parameter shape.  ``crps``
    and ``log_score`` are negatively oriented; ``pit(x)`` is ``cdf(x)``.
    """

    family: str = ""

    @abstractmethod
    def cdf(self, x: ArrayLike) -> FloatArray:
        """Cumulative distribution function at x."""

    @abstractmethod
    def pdf(self, x: ArrayLike) -> FloatArray:
        """Density at x."""

    @abstractmethod
    def ppf(self, q: ArrayLike) -> FloatArray:
        """Quantile function at probabilities q in [0, 1]."""

    @abstractmethod
    def crps(self, x: ArrayLike) -> FloatArray:
        """CRPS at outcome x."""

    @abstractmethod
    def log_score(self, x: ArrayLike) -> FloatArray:
        """Log score -ln f(x) at outcome x (nats)."""

    def pit(self, x: ArrayLike) -> FloatArray:
        """Probability integral transform F(x)."""
        return self.cdf(x)

    def interval(self, level: float = 0.9) -> tuple[FloatArray, FloatArray]:
        """Central interval ``(ppf((1-level)/2), ppf((1+level)/2))``."""
        lv = check_level(level)
        return self.ppf((1.0 - lv) / 2.0), self.ppf((1.0 + lv) / 2.0)

    def median(self) -> FloatArray:
        """The median ``ppf(0.5)``."""
        return self.ppf(0.5)


def _check_q(q: ArrayLike) -> FloatArray:
    qa = as_float(q, "q")
    if qa.size and (qa.min() < 0.0 or qa.max() > 1.0):
        raise ScoringInputError("q must be a probability in [0, 1]")
    return qa


def _std_normal_ppf(q: ArrayLike) -> FloatArray:
    from scipy.special import ndtri

    return np.asarray(ndtri(_check_q(q)))


class _TwoParameter(Distribution):
    """A parametric family with two parameter arrays and closed-form scores.

    Subclasses name their parameters (the spec keys, in constructor order);
    the scores come from the family's formulas and the density is
    ``exp(-log_score)``.
    """

    params: ClassVar[tuple[str, str]]

    def _values(self) -> tuple[FloatArray, FloatArray]:
        first, second = self.params
        return getattr(self, first), getattr(self, second)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(self.params, self._values(), strict=True))
        return f"{type(self).__name__}({shown})"

    def pdf(self, x: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            return np.asarray(np.exp(-self.log_score(x)))

    def crps(self, x: ArrayLike) -> FloatArray:
        return FORMULAS[self.family][0](*self._values(), x)

    def log_score(self, x: ArrayLike) -> FloatArray:
        return FORMULAS[self.family][1](*self._values(), x)


class _MuSigma(_TwoParameter):
    """Families parameterised by a location mu and a scale sigma > 0 (of X or of log X)."""

    params = ("mu", "sigma")

    def __init__(self, mu: ArrayLike, sigma: ArrayLike) -> None:
        self.mu = as_float(mu, "mu")
        self.sigma = as_positive(sigma, "sigma")
        broadcast(("mu", self.mu), ("sigma", self.sigma))


class Normal(_MuSigma):
    """Normal distribution N(mu, sigma^2)."""

    family = "normal"

    def cdf(self, x: ArrayLike) -> FloatArray:
        from scipy.special import ndtr

        return np.asarray(ndtr((as_float(x, "x") - self.mu) / self.sigma))

    def ppf(self, q: ArrayLike) -> FloatArray:
        return np.asarray(self.mu + self.sigma * _std_normal_ppf(q))


class Lognormal(_MuSigma):
    """Lognormal distribution: log X ~ N(mu, sigma^2)."""

    family = "lognormal"

    def cdf(self, x: ArrayLike) -> FloatArray:
        return lognormal_cdf_raw(self.mu, self.sigma, as_float(x, "x"))

    def ppf(self, q: ArrayLike) -> FloatArray:
        return np.asarray(np.exp(self.mu + self.sigma * _std_normal_ppf(q)))


class Beta(_TwoParameter):
    """Beta(alpha, beta) distribution on [0, 1]."""

    family = "beta"
    params = ("alpha", "beta")

    def __init__(self, alpha: ArrayLike, beta: ArrayLike) -> None:
        self.alpha = as_positive(alpha, "alpha")
        self.beta = as_positive(beta, "beta")
        broadcast(("alpha", self.alpha), ("beta", self.beta))

    def cdf(self, x: ArrayLike) -> FloatArray:
        from scipy.special import betainc

        return np.asarray(betainc(self.alpha, self.beta, np.clip(as_float(x, "x"), 0.0, 1.0)))

    def ppf(self, q: ArrayLike) -> FloatArray:
        from scipy.special import betaincinv

        return np.asarray(betaincinv(self.alpha, self.beta, _check_q(q)))


class QuantileSet(Distribution):
    """A quantile forecast read as a piecewise-linear CDF with linear tails.

    ``crps`` is the WIS-style quantile score (:func:`crps_quantiles`: twice
    the mean pinball loss over the stated levels); ``cdf``, ``pdf``, ``ppf``
    and ``log_score`` use the piecewise-linear CDF with the tail and bounds
    convention of :mod:`predtrack.scoring.quantiles`.
    """

    family = "quantiles"

    def __init__(self, levels: ArrayLike, values: ArrayLike, bounds: Any = None) -> None:
        self.levels, self.values = qs_arrays(levels, values, strict=True)
        self.bounds = bounds
        lo, hi = bounds_arrays(bounds, self.values.shape[:-1])
        if (self.values[..., 0] < lo).any() or (self.values[..., -1] > hi).any():
            raise ScoringInputError("quantile values must lie within the bounds")

    def __repr__(self) -> str:
        return (
            f"QuantileSet(levels={self.levels!r}, values={self.values!r}, bounds={self.bounds!r})"
        )

    def cdf(self, x: ArrayLike) -> FloatArray:
        return quantile_cdf(self.levels, self.values, x, self.bounds)

    def pdf(self, x: ArrayLike) -> FloatArray:
        return quantile_pdf(self.levels, self.values, x, self.bounds)

    def ppf(self, q: ArrayLike) -> FloatArray:
        return quantile_ppf(self.levels, self.values, q, self.bounds)

    def crps(self, x: ArrayLike) -> FloatArray:
        return crps_quantiles(self.levels, self.values, x)

    def log_score(self, x: ArrayLike) -> FloatArray:
        return log_score_quantiles(self.levels, self.values, x, self.bounds)


#: The parametric families by their stored name.
PARAMETRIC: dict[str, type[_TwoParameter]] = {
    "normal": Normal,
    "lognormal": Lognormal,
    "beta": Beta,
}


def _param(spec: Mapping[str, Any], key: str, family: str) -> Any:
    try:
        return spec[key]
    except KeyError:
        raise ScoringInputError(f"{family} forecast spec is missing '{key}'") from None


def from_spec(spec: Mapping[str, Any], bounds: BoundsLike = None) -> Distribution:
    """Build a distribution object from a stored forecast spec.

    Specs: ``{"family": "normal", "mu", "sigma"}``, ``{"family": "lognormal",
    "mu", "sigma"}`` (parameters of the log), ``{"family": "beta", "alpha",
    "beta"}``, ``{"family": "quantiles", "levels": [...], "values": [...]}``.
    Other keys are ignored.  ``bounds`` (the question's bounds) shape the tails
    of quantile sets only; parametric families are used as given.

    Parameters
    ----------
    spec : mapping
        The stored distribution spec.
    bounds : (lo, hi) or None
        Question bounds; either end may be None.

    Returns
    -------
    Distribution
    """
    if not isinstance(spec, Mapping):
        raise ScoringInputError(f"a forecast spec must be a mapping; got {type(spec).__name__}")
    family = spec.get("family")
    if family == "quantiles":
        return QuantileSet(_param(spec, "levels", family), _param(spec, "values", family), bounds)
    cls = PARAMETRIC.get(family) if isinstance(family, str) else None
    if cls is None:
        raise ScoringInputError(f"unknown distribution family {family!r}")
    first, second = cls.params
    name = str(family)
    return cls(_param(spec, first, name), _param(spec, second, name))  # type: ignore[call-arg]


def pit(
    dist: Distribution | Mapping[str, Any], x: ArrayLike, bounds: BoundsLike = None
) -> FloatArray:
    """Probability integral transform: the forecast CDF at the outcome, F(x).

    Parameters
    ----------
    dist : Distribution or spec mapping
        The forecast.
    x : array_like
        Outcome(s).
    bounds : (lo, hi) or None
        Question bounds, used when ``dist`` is a spec.

    Returns
    -------
    ndarray
        F(x) in [0, 1]; uniform over many outcomes when calibrated.

    References
    ----------
    Dawid, A. P. (1984). Statistical theory: the prequential approach.
    JRSS A 147(2), 278-292.
    Gneiting, T., Balabdaoui, F. & Raftery, A. E. (2007). Probabilistic
    forecasts, calibration and sharpness. JRSS B 69(2), 243-268.
    """
    d = dist if isinstance(dist, Distribution) else from_spec(dist, bounds)
    return d.cdf(x)


def spec_quantiles(
    specs: Sequence[Mapping[str, Any]], bounds: Sequence[BoundsLike], levels: ArrayLike
) -> FloatArray:
    """Quantiles of each spec at ``levels``, closed forms vectorised by family.

    Parameters
    ----------
    specs : sequence of mappings
        Forecast specs as accepted by :func:`from_spec`.
    bounds : sequence of (lo, hi) or None
        The question's bounds per spec (they shape quantile-set tails only).
    levels : array_like, shape (L,)
        Probabilities in [0, 1].

    Returns
    -------
    ndarray, shape (len(specs), L)
    """
    from scipy.special import ndtri

    lv = as_float(levels, "levels")
    out = np.empty((len(specs), lv.size))
    z = ndtri(lv)
    by_family: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        family = spec.get("family") if isinstance(spec, Mapping) else None
        by_family.setdefault(str(family), []).append(i)
    for family, rows in by_family.items():
        chosen = [specs[i] for i in rows]
        if family == "quantiles" and _quantile_rows(specs, bounds, rows, lv, out):
            continue
        if family not in PARAMETRIC:
            for i in rows:
                out[i] = np.asarray(from_spec(specs[i], bounds[i]).ppf(lv), dtype=np.float64)
            continue
        first, second = PARAMETRIC[family].params
        try:
            p1 = np.array([float(s[first]) for s in chosen])[:, None]
            p2 = np.array([float(s[second]) for s in chosen])[:, None]
        except (KeyError, TypeError, ValueError):
            raise ScoringInputError(
                f"{family} specs need numbers '{first}' and '{second}'"
            ) from None
        if family == "beta":
            if (p1 <= 0).any() or (p2 <= 0).any():
                raise ScoringInputError("beta specs need alpha > 0 and beta > 0")
            out[rows] = beta_ppf_raw(p1[:, 0], p2[:, 0], lv)
        else:
            if (p2 <= 0).any() or not np.isfinite(p1).all():
                raise ScoringInputError(f"{family} specs need finite mu and sigma > 0")
            values = p1 + p2 * z[None, :]
            with np.errstate(over="ignore"):  # an overflow is left as inf for the caller
                out[rows] = np.exp(values) if family == "lognormal" else values
    return out


def _quantile_rows(
    specs: Sequence[Mapping[str, Any]],
    bounds: Sequence[BoundsLike],
    rows: list[int],
    lv: FloatArray,
    out: FloatArray,
) -> bool:
    """Quantiles of the quantile-set specs `rows` at `lv`, one batch per number of levels
    (the arithmetic of `QuantileSet.ppf`, row for row); False when a spec is not a valid
    quantile set (the caller then goes one by one, to name it)."""
    from predtrack.scoring._validate import bounds_rows
    from predtrack.scoring.quantiles import quantile_ppf

    by_size: dict[int, list[int]] = {}
    try:
        for i in rows:
            by_size.setdefault(len(specs[i]["values"]), []).append(i)
        for idx in by_size.values():
            la = np.array([specs[i]["levels"] for i in idx], dtype=np.float64)[:, None, :]
            va = np.array([specs[i]["values"] for i in idx], dtype=np.float64)[:, None, :]
            lo, hi = bounds_rows(bounds, idx)
            out[idx] = quantile_ppf(la, va, lv, (lo[:, None], hi[:, None]))
    except (ScoringInputError, KeyError, TypeError, ValueError):
        return False
    return True
