"""Scores for forecasts of a quantity or a fraction given as a distribution.

Families: normal, lognormal (parameters of the log), beta, and quantile sets
(a forecaster's quantiles at several levels).  All functions are vectorised
over arrays of parameters and outcomes with numpy broadcasting; every score is
negatively oriented (lower is better).

Quantile sets become a distribution through a piecewise-linear CDF through the
points ``(value_k, level_k)``, with linear tails that continue the slope of the
first (last) segment until the CDF reaches 0 (1).  With bounds ``(lo, hi)``
a tail that would cross a bound is *truncated at the bound*: the tail segment
is redrawn from ``(lo, 0)`` to ``(value_1, level_1)`` (or from
``(value_K, level_K)`` to ``(hi, 1)``), so the CDF reaches its limit exactly at
the bound, no mass lies outside the bounds, the stated quantiles are kept
exactly, and no point mass is created.  Only when a stated quantile lies *on*
a bound (e.g. the 5% quantile of a fraction is 0) does the tail have zero
width: the CDF then jumps at the bound (a point mass of size ``level_1`` at
``lo``, or ``1 - level_K`` at ``hi``).  ``quantile_cdf``, ``quantile_ppf``
and ``quantile_pdf`` are mutually consistent (the pdf is the slope of the CDF,
right-continuous at interior knots and taken from the adjacent segment at the
two ends of the support; a point mass is not part of the pdf, so the log score
of an outcome exactly at such a bound uses the density of the adjacent
segment).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betainc, betaincinv, betaln, gammaln, ndtr, ndtri, xlog1py, xlogy

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    as_float,
    as_int,
    as_positive,
    broadcast,
    check_level,
)

__all__ = [
    "Beta",
    "Distribution",
    "Lognormal",
    "Normal",
    "QuantileSet",
    "betabinom_log_score",
    "binom_log_score",
    "crps_beta",
    "crps_lognormal",
    "crps_normal",
    "crps_quantiles",
    "from_spec",
    "interval_score",
    "log_score_beta",
    "log_score_lognormal",
    "log_score_normal",
    "log_score_quantiles",
    "pinball",
    "pit",
    "quantile_cdf",
    "quantile_pdf",
    "quantile_ppf",
    "rps_counts_betabinom",
    "rps_counts_binom",
    "score_continuous",
]

_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

BoundsLike = tuple[float | None, float | None] | None


# ------------------------------------------------------------------ closed forms


def _crps_std_normal_core(z: ArrayLike) -> FloatArray:
    """CRPS of N(0, 1) at z: z(2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi), in place."""
    za = np.asarray(z, dtype=np.float64)
    c = np.empty_like(za)
    ndtr(za, out=c)
    c *= 2.0
    c -= 1.0
    c *= za
    pdf = np.empty_like(za)
    np.multiply(za, za, out=pdf)
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= 2.0 * _INV_SQRT_2PI
    c += pdf
    c -= _INV_SQRT_PI
    return c


def crps_normal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a normal forecast N(mu, sigma^2) at outcome x (closed form).

    .. math::

        \mathrm{CRPS}(\mathcal N(\mu, \sigma^2), x) = \sigma \left[ z\,(2\Phi(z) - 1)
        + 2\varphi(z) - \frac{1}{\sqrt\pi} \right], \qquad z = \frac{x - \mu}{\sigma}.

    Parameters
    ----------
    mu, sigma, x : array_like
        Mean, standard deviation (> 0) and outcome; broadcast together.

    Returns
    -------
    ndarray
        CRPS in the units of x; lower is better.

    References
    ----------
    Gneiting, T., Raftery, A. E., Westveld, A. H. & Goldman, T. (2005).
    Calibrated probabilistic forecasting using ensemble model output
    statistics and minimum CRPS estimation. Monthly Weather Review 133,
    1098-1118.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    m = as_float(mu, "mu")
    s = as_positive(sigma, "sigma")
    xa = as_float(x, "x")
    if not (m.shape == s.shape == xa.shape):
        m, s, xa = broadcast(("mu", m), ("sigma", s), ("x", xa))
    z = np.subtract(xa, m)
    z /= s
    c = _crps_std_normal_core(z)
    c *= s
    return c


def _crps_lognormal_raw(m: FloatArray, s: FloatArray, xa: FloatArray) -> FloatArray:
    pos = xa > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        logx = np.where(pos, np.log(np.where(pos, xa, 1.0)), -np.inf)
    z = (logx - m) / s
    mean = np.exp(m + 0.5 * s * s)
    return np.asarray(
        xa * (2.0 * ndtr(z) - 1.0) - 2.0 * mean * (ndtr(z - s) + ndtr(s / math.sqrt(2.0)) - 1.0)
    )


def crps_lognormal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a lognormal forecast (log X ~ N(mu, sigma^2)) at x (closed form).

    .. math::

        \mathrm{CRPS} = x\,(2\Phi(z) - 1) - 2 e^{\mu + \sigma^2/2}
        \left[\Phi(z - \sigma) + \Phi(\sigma/\sqrt2) - 1\right],
        \qquad z = \frac{\log x - \mu}{\sigma},

    with :math:`\Phi(z) = \Phi(z - \sigma) = 0` for :math:`x \le 0`.

    Parameters
    ----------
    mu, sigma : array_like
        Mean and standard deviation (> 0) of log X.
    x : array_like
        Outcome (any real number; values <= 0 lie below the support).

    Returns
    -------
    ndarray

    References
    ----------
    Baran, S. & Lerch, S. (2015). Log-normal distribution based ensemble model
    output statistics models for probabilistic wind-speed forecasting.
    QJRMS 141(691), 2289-2299.
    """
    m = as_float(mu, "mu")
    s = as_positive(sigma, "sigma")
    xa = as_float(x, "x")
    m, s, xa = broadcast(("mu", m), ("sigma", s), ("x", xa))
    return _crps_lognormal_raw(m, s, xa)


def _crps_beta_raw(a: FloatArray, b: FloatArray, xa: FloatArray) -> FloatArray:
    xc = np.clip(xa, 0.0, 1.0)
    f = betainc(a, b, xc)
    f1 = betainc(a + 1.0, b, xc)
    half_gini = 2.0 * np.exp(betaln(2.0 * a, 2.0 * b) - 2.0 * betaln(a, b)) / (a + b)
    return np.asarray(xa * (2.0 * f - 1.0) + a / (a + b) * (1.0 - 2.0 * f1) - half_gini)


def crps_beta(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a Beta(a, b) forecast on [0, 1] at outcome x (closed form).

    .. math::

        \mathrm{CRPS} = x\,(2F_{a,b}(x) - 1) + \frac{a}{a+b}
        \left[1 - 2F_{a+1,b}(x) - \frac{2B(2a, 2b)}{a\,B(a, b)^2}\right],

    where :math:`F_{a,b}` is the Beta CDF (0 below 0, 1 above 1) and B the
    beta function, evaluated through ``betaln`` to avoid overflow.

    Parameters
    ----------
    a, b : array_like
        Shape parameters (> 0).
    x : array_like
        Outcome (values outside [0, 1] are scored, with the CDF 0 or 1 there).

    Returns
    -------
    ndarray

    References
    ----------
    Jordan, A., Krüger, F. & Lerch, S. (2019). Evaluating probabilistic
    forecasts with scoringRules. Journal of Statistical Software 90(12),
    1-37, appendix A (beta distribution).  (Taillardat et al. 2016, Monthly
    Weather Review 144, 2375-2393, is the usual citation for the
    probability-weighted-moment CRPS estimator of *ensembles*, not for this
    closed form.)
    """
    aa = as_positive(a, "a")
    bb = as_positive(b, "b")
    xa = as_float(x, "x")
    aa, bb, xa = broadcast(("a", aa), ("b", bb), ("x", xa))
    return _crps_beta_raw(aa, bb, xa)


def log_score_normal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a normal forecast: :math:`-\log f(x) = \tfrac12\log(2\pi)
    + \log\sigma + \tfrac12 z^2`, :math:`z = (x - \mu)/\sigma` (in nats).

    Parameters
    ----------
    mu, sigma, x : array_like
        Mean, standard deviation (> 0) and outcome; broadcast together.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    m = as_float(mu, "mu")
    s = as_positive(sigma, "sigma")
    xa = as_float(x, "x")
    m, s, xa = broadcast(("mu", m), ("sigma", s), ("x", xa))
    z = (xa - m) / s
    return np.asarray(_HALF_LOG_2PI + np.log(s) + 0.5 * z * z)


def _log_score_lognormal_raw(m: FloatArray, s: FloatArray, xa: FloatArray) -> FloatArray:
    pos = xa > 0
    lx = np.log(np.where(pos, xa, 1.0))
    z = (lx - m) / s
    return np.asarray(np.where(pos, lx + _HALF_LOG_2PI + np.log(s) + 0.5 * z * z, np.inf))


def log_score_lognormal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a lognormal forecast: :math:`-\log f(x) = \log x +
    \tfrac12\log(2\pi) + \log\sigma + \tfrac12 z^2`, :math:`z = (\log x - \mu)/\sigma`;
    ``inf`` for x <= 0 (outside the support).

    Parameters
    ----------
    mu, sigma : array_like
        Mean and standard deviation (> 0) of log X.
    x : array_like
        Outcome.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    m = as_float(mu, "mu")
    s = as_positive(sigma, "sigma")
    xa = as_float(x, "x")
    m, s, xa = broadcast(("mu", m), ("sigma", s), ("x", xa))
    return _log_score_lognormal_raw(m, s, xa)


def _log_score_beta_raw(a: FloatArray, b: FloatArray, xa: FloatArray) -> FloatArray:
    inside = (xa >= 0.0) & (xa <= 1.0)
    xc = np.clip(xa, 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        logpdf = xlogy(a - 1.0, xc) + xlog1py(b - 1.0, -xc) - betaln(a, b)
    return np.asarray(np.where(inside, -logpdf, np.inf))


def log_score_beta(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a Beta(a, b) forecast: :math:`-\log f(x) = -(a-1)\log x
    - (b-1)\log(1-x) + \log B(a, b)` on [0, 1], ``inf`` outside.

    At x = 0 (or 1) the density is finite for a = 1 (b = 1), zero for a > 1
    (score ``+inf``) and infinite for a < 1 (score ``-inf``); 0 log 0 = 0.

    Parameters
    ----------
    a, b : array_like
        Shape parameters (> 0).
    x : array_like
        Outcome.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    aa = as_positive(a, "a")
    bb = as_positive(b, "b")
    xa = as_float(x, "x")
    aa, bb, xa = broadcast(("a", aa), ("b", bb), ("x", xa))
    return _log_score_beta_raw(aa, bb, xa)


# ------------------------------------------------------- quantiles and intervals


def pinball(q: ArrayLike, y: ArrayLike, tau: ArrayLike) -> FloatArray:
    r"""Pinball (quantile, check) loss of a quantile forecast q at level tau.

    .. math:: \rho_\tau(q, y) = (\mathbb 1\{y < q\} - \tau)(q - y)

    Parameters
    ----------
    q : array_like
        Predicted tau-quantile.
    y : array_like
        Outcome.
    tau : array_like
        Quantile level in (0, 1).

    Returns
    -------
    ndarray

    References
    ----------
    Koenker, R. & Bassett, G. (1978). Regression quantiles. Econometrica
    46(1), 33-50.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 6.
    """
    qa = as_float(q, "q")
    ya = as_float(y, "y")
    ta = _check_levels_open(as_float(tau, "tau"), "tau")
    qa, ya, ta = broadcast(("q", qa), ("y", ya), ("tau", ta))
    return np.asarray(((ya < qa).astype(np.float64) - ta) * (qa - ya))


def interval_score(lo: ArrayLike, hi: ArrayLike, x: ArrayLike, alpha: ArrayLike) -> FloatArray:
    r"""Interval score of a central (1 - alpha) prediction interval [lo, hi].

    .. math::

        \mathrm{IS}_\alpha(l, u; x) = (u - l) + \frac{2}{\alpha}(l - x)\mathbb 1\{x < l\}
        + \frac{2}{\alpha}(x - u)\mathbb 1\{x > u\}

    Parameters
    ----------
    lo, hi : array_like
        Interval limits, ``lo <= hi``.
    x : array_like
        Outcome.
    alpha : array_like
        Nominal non-coverage in (0, 1): 0.1 for a 90% interval.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, eq. (43).
    """
    la = as_float(lo, "lo")
    ha = as_float(hi, "hi")
    xa = as_float(x, "x")
    al = _check_levels_open(as_float(alpha, "alpha"), "alpha")
    la, ha, xa, al = broadcast(("lo", la), ("hi", ha), ("x", xa), ("alpha", al))
    if (la > ha).any():
        raise ScoringInputError("interval is reversed: lo must be <= hi")
    return _interval_score_raw(la, ha, xa, al)


def _interval_score_raw(
    la: FloatArray, ha: FloatArray, xa: FloatArray, al: FloatArray | float
) -> FloatArray:
    below = np.maximum(la - xa, 0.0)
    above = np.maximum(xa - ha, 0.0)
    return np.asarray((ha - la) + (2.0 / al) * (below + above))


def _check_levels_open(a: FloatArray, name: str) -> FloatArray:
    if a.size and (a.min() <= 0.0 or a.max() >= 1.0):
        raise ScoringInputError(f"{name} must be strictly between 0 and 1")
    return a


def _qs_arrays(
    levels: ArrayLike, values: ArrayLike, *, strict: bool
) -> tuple[FloatArray, FloatArray]:
    """Validated (levels, values) with levels broadcast to values' shape (..., K)."""
    va = as_float(values, "values")
    la = as_float(levels, "levels")
    if va.ndim == 0:
        raise ScoringInputError("values must have a last axis of quantile values")
    try:
        la = np.broadcast_to(la, va.shape)
    except ValueError:
        raise ScoringInputError(
            f"levels {la.shape} do not match values {va.shape} (last axis = quantile levels)"
        ) from None
    k = va.shape[-1]
    if k < (2 if strict else 1):
        raise ScoringInputError(
            f"a quantile set needs at least {2 if strict else 1} quantiles; got {k}"
        )
    _check_levels_open(la, "levels")
    if k > 1:
        if not (np.diff(la, axis=-1) > 0).all():
            raise ScoringInputError("levels must be strictly increasing")
        dv = np.diff(va, axis=-1)
        if strict and not (dv > 0).all():
            raise ScoringInputError("quantile values must be strictly increasing")
        if not (dv >= 0).all():
            raise ScoringInputError("quantile values must be non-decreasing")
    return la, va


def crps_quantiles(levels: ArrayLike, values: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Quantile-set CRPS approximation: twice the mean pinball loss.

    .. math::

        \mathrm{QS}(q_{1..K}; x) = \frac{2}{K} \sum_{k=1}^K \rho_{\tau_k}(q_k, x),

    which equals the weighted interval score (WIS) of Bracher et al. for
    symmetric levels with the median, and approximates the CRPS for dense
    levels.  The stated quantiles are scored as given: tails and bounds play
    no part.  Note that the median term is half the absolute error,
    :math:`2\rho_{0.5}(m, x) / K = |x - m| / K`.

    Parameters
    ----------
    levels : array_like, shape (K,) or (..., K)
        Quantile levels in (0, 1), strictly increasing.
    values : array_like, shape (..., K)
        Quantile values (non-decreasing along the last axis).
    x : array_like, shape (...)
        Outcomes, broadcast against the batch shape of ``values``.

    Returns
    -------
    ndarray, shape (...)

    References
    ----------
    Bracher, J., Ray, E. L., Gneiting, T. & Reich, N. G. (2021). Evaluating
    epidemic forecasts in an interval format. PLoS Comput. Biol. 17(2),
    e1008618.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 6.
    """
    la, va = _qs_arrays(levels, values, strict=False)
    xa = as_float(x, "x")
    try:
        xb = np.broadcast_to(xa[..., None], np.broadcast_shapes((*xa.shape, 1), va.shape))
    except ValueError:
        raise ScoringInputError(
            f"x {xa.shape} does not match the batch shape {va.shape[:-1]} of values"
        ) from None
    return _crps_quantiles_raw(la, va, xb)


def _crps_quantiles_raw(la: FloatArray, va: FloatArray, xb: FloatArray) -> FloatArray:
    loss = ((xb < va).astype(np.float64) - la) * (va - xb)
    return np.asarray(2.0 * loss.mean(axis=-1))


def _bounds_arrays(bounds: Any, batch: tuple[int, ...]) -> tuple[FloatArray, FloatArray]:
    if bounds is None:
        return np.full(batch, -np.inf), np.full(batch, np.inf)
    try:
        lo_raw, hi_raw = bounds
    except (TypeError, ValueError):
        raise ScoringInputError(f"bounds must be a pair (lo, hi); got {bounds!r}") from None
    lo = as_float(-np.inf if lo_raw is None else lo_raw, "bounds[0]", allow_inf=True)
    hi = as_float(np.inf if hi_raw is None else hi_raw, "bounds[1]", allow_inf=True)
    try:
        lo = np.broadcast_to(lo, batch)
        hi = np.broadcast_to(hi, batch)
    except ValueError:
        raise ScoringInputError(f"bounds do not match the batch shape {batch}") from None
    if (lo >= hi).any():
        raise ScoringInputError("bounds must satisfy lo < hi")
    return lo, hi


def _knots(
    la: FloatArray, va: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """CDF knots (X, P), shape (N, K + 2), of quantile sets (N, K) with bounds (N,)."""
    if (va[:, 0] < lo).any() or (va[:, -1] > hi).any():
        raise ScoringInputError("quantile values must lie within the bounds")
    s_lo = (la[:, 1] - la[:, 0]) / (va[:, 1] - va[:, 0])
    s_hi = (la[:, -1] - la[:, -2]) / (va[:, -1] - va[:, -2])
    t0 = np.maximum(va[:, 0] - la[:, 0] / s_lo, lo)
    t1 = np.minimum(va[:, -1] + (1.0 - la[:, -1]) / s_hi, hi)
    n = va.shape[0]
    xk = np.concatenate([t0[:, None], va, t1[:, None]], axis=1)
    pk = np.concatenate([np.zeros((n, 1)), la, np.ones((n, 1))], axis=1)
    return xk, pk


def _take(a: FloatArray, j: Any) -> FloatArray:
    return np.take_along_axis(a, j[:, None], axis=1)[:, 0]


def _pl_cdf(xk: FloatArray, pk: FloatArray, x: FloatArray) -> FloatArray:
    nseg = xk.shape[1] - 1
    cnt = (xk <= x[:, None]).sum(axis=1)
    j = np.clip(cnt - 1, 0, nseg - 1)
    x0, x1 = _take(xk, j), _take(xk, j + 1)
    p0, p1 = _take(pk, j), _take(pk, j + 1)
    w = x1 - x0
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(w > 0, (x - x0) / np.where(w > 0, w, 1.0), 1.0)
    f = p0 + np.clip(frac, 0.0, 1.0) * (p1 - p0)
    f = np.where(cnt == 0, 0.0, f)
    return np.asarray(np.where(x >= xk[:, -1], 1.0, f))


def _pl_pdf(xk: FloatArray, pk: FloatArray, x: FloatArray) -> FloatArray:
    nseg = xk.shape[1] - 1
    cnt = (xk <= x[:, None]).sum(axis=1)
    j = np.clip(cnt - 1, 0, nseg - 1)
    w = _take(xk, j + 1) - _take(xk, j)
    # the top end of the support with a point mass there: use the segment below
    j = np.where((w <= 0) & (j > 0), j - 1, j)
    x0, x1 = _take(xk, j), _take(xk, j + 1)
    w = x1 - x0
    dens = np.where(w > 0, (_take(pk, j + 1) - _take(pk, j)) / np.where(w > 0, w, 1.0), 0.0)
    inside = (x >= xk[:, 0]) & (x <= xk[:, -1])
    return np.asarray(np.where(inside, dens, 0.0))


def _pl_ppf(xk: FloatArray, pk: FloatArray, q: FloatArray) -> FloatArray:
    nseg = xk.shape[1] - 1
    cnt = (pk <= q[:, None]).sum(axis=1)
    j = np.clip(cnt - 1, 0, nseg - 1)
    x0, x1 = _take(xk, j), _take(xk, j + 1)
    p0, p1 = _take(pk, j), _take(pk, j + 1)
    return np.asarray(x0 + (q - p0) * (x1 - x0) / (p1 - p0))


def _qs_eval(
    levels: ArrayLike,
    values: ArrayLike,
    x: ArrayLike,
    bounds: Any,
    what: str,
) -> FloatArray:
    la, va = _qs_arrays(levels, values, strict=True)
    xname = "q" if what == "ppf" else "x"
    xa = as_float(x, xname)
    if what == "ppf" and xa.size and (xa.min() < 0.0 or xa.max() > 1.0):
        raise ScoringInputError("q must be a probability in [0, 1]")
    batch = va.shape[:-1]
    lo, hi = _bounds_arrays(bounds, batch)
    try:
        full = np.broadcast_shapes(batch, xa.shape)
    except ValueError:
        raise ScoringInputError(
            f"{xname} {xa.shape} does not match the batch shape {batch} of values"
        ) from None
    k = va.shape[-1]
    va2 = np.broadcast_to(va, (*full, k)).reshape(-1, k)
    la2 = np.broadcast_to(la, (*full, k)).reshape(-1, k)
    lo2 = np.broadcast_to(lo, full).reshape(-1)
    hi2 = np.broadcast_to(hi, full).reshape(-1)
    x2 = np.broadcast_to(xa, full).reshape(-1)
    xk, pk = _knots(la2, va2, lo2, hi2)
    if what == "cdf":
        out = _pl_cdf(xk, pk, x2)
    elif what == "pdf":
        out = _pl_pdf(xk, pk, x2)
    else:
        out = _pl_ppf(xk, pk, x2)
    return out.reshape(full)


def quantile_cdf(
    levels: ArrayLike, values: ArrayLike, x: ArrayLike, bounds: Any = None
) -> FloatArray:
    r"""CDF of a quantile set: piecewise linear through ``(values_k, levels_k)``.

    Linear tails continue the first and last segment slopes until the CDF
    reaches 0 and 1; with ``bounds=(lo, hi)`` a tail that would cross a bound
    is truncated there (see the module docstring for the exact convention).

    Parameters
    ----------
    levels : array_like, shape (K,) or (..., K)
        Levels in (0, 1), strictly increasing, K >= 2.
    values : array_like, shape (..., K)
        Quantile values, strictly increasing along the last axis.
    x : array_like
        Points, broadcast against the batch shape ``values.shape[:-1]``.
    bounds : (lo, hi) or None
        Support bounds (floats, None for unbounded, or arrays over the batch).

    Returns
    -------
    ndarray

    References
    ----------
    Quantile-parameterised distributions with linear interpolation: see e.g.
    Keelin, T. W. & Powley, B. W. (2011). Quantile-parameterized
    distributions. Decision Analysis 8(3), 206-219 (and references there).
    """
    return _qs_eval(levels, values, x, bounds, "cdf")


def quantile_ppf(
    levels: ArrayLike, values: ArrayLike, q: ArrayLike, bounds: Any = None
) -> FloatArray:
    r"""Quantile function of a quantile set, the inverse of :func:`quantile_cdf`.

    Linear interpolation between the stated quantiles and along the tails;
    ``q = 0`` and ``q = 1`` give the ends of the support.

    Parameters
    ----------
    levels, values, bounds
        As in :func:`quantile_cdf`.
    q : array_like
        Probabilities in [0, 1].

    Returns
    -------
    ndarray
    """
    return _qs_eval(levels, values, q, bounds, "ppf")


def quantile_pdf(
    levels: ArrayLike, values: ArrayLike, x: ArrayLike, bounds: Any = None
) -> FloatArray:
    r"""Density of a quantile set: the slope of :func:`quantile_cdf`.

    Piecewise constant: :math:`(\tau_{k+1} - \tau_k) / (q_{k+1} - q_k)` between
    knots, 0 outside the support.  A point mass at a bound (a quantile stated
    exactly on the bound) is not part of the density.

    Parameters
    ----------
    levels, values, x, bounds
        As in :func:`quantile_cdf`.

    Returns
    -------
    ndarray
    """
    return _qs_eval(levels, values, x, bounds, "pdf")


def log_score_quantiles(
    levels: ArrayLike, values: ArrayLike, x: ArrayLike, bounds: Any = None
) -> FloatArray:
    r"""Log score of a quantile set: :math:`-\log f(x)` with f from
    :func:`quantile_pdf` (``inf`` outside the support).

    Parameters
    ----------
    levels, values, x, bounds
        As in :func:`quantile_cdf`.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    dens = quantile_pdf(levels, values, x, bounds)
    with np.errstate(divide="ignore"):
        return np.asarray(0.0 - np.log(dens))


# ---------------------------------------------------------------------- counts


def _log_choose(n: FloatArray, k: FloatArray) -> FloatArray:
    return np.asarray(gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0))


def _counts(k: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    ka = as_int(k, "k").astype(np.float64)
    na = as_int(n, "n").astype(np.float64)
    return ka, na


def betabinom_log_score(a: ArrayLike, b: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""Log score of the beta-binomial predictive for k successes in n trials.

    With a Beta(a, b) forecast of a success fraction and an outcome of k of n,

    .. math:: -\log P(k \mid n) = -\log\binom{n}{k} - \log B(k + a, n - k + b) + \log B(a, b).

    Parameters
    ----------
    a, b : array_like
        Beta shape parameters (> 0).
    k, n : array_like of int
        Successes and trials, ``0 <= k <= n``.

    Returns
    -------
    ndarray

    References
    ----------
    Skellam, J. G. (1948). A probability distribution derived from the
    binomial distribution by regarding the probability of success as variable
    between the sets of trials. JRSS B 10(2), 257-261.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    aa = as_positive(a, "a")
    bb = as_positive(b, "b")
    ka, na = _counts(k, n)
    aa, bb, ka, na = broadcast(("a", aa), ("b", bb), ("k", ka), ("n", na))
    if (ka > na).any():
        raise ScoringInputError("k must not exceed n")
    return np.asarray(-(_log_choose(na, ka) + betaln(ka + aa, na - ka + bb) - betaln(aa, bb)))


def binom_log_score(p: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""Log score of a Binomial(n, p) predictive for k successes in n trials.

    .. math:: -\log P(k \mid n) = -\log\binom{n}{k} - k\log p - (n - k)\log(1 - p)

    with 0 log 0 = 0, so p = 0 (or 1) scores ``inf`` unless k = 0 (k = n).

    Parameters
    ----------
    p : array_like
        Success probability in [0, 1].
    k, n : array_like of int
        Successes and trials, ``0 <= k <= n``.

    Returns
    -------
    ndarray

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    pa = as_float(p, "p")
    if pa.size and (pa.min() < 0 or pa.max() > 1):
        raise ScoringInputError("p must be a probability in [0, 1]")
    ka, na = _counts(k, n)
    pa, ka, na = broadcast(("p", pa), ("k", ka), ("n", na))
    if (ka > na).any():
        raise ScoringInputError("k must not exceed n")
    return np.asarray(-(_log_choose(na, ka) + xlogy(ka, pa) + xlog1py(na - ka, -pa)))


def _rps_grid(
    logpmf: Any, params: tuple[FloatArray, ...], ka: FloatArray, na: FloatArray
) -> FloatArray:
    """Sum over j = 0..n-1 of (F(j) - 1{j >= k})^2, rows chunked by n."""
    flat = [np.ravel(a) for a in (*params, ka, na)]
    *pf, kf, nf = flat
    out = np.empty(kf.size)
    if kf.size == 0:
        return out.reshape(ka.shape)
    order = np.argsort(nf, kind="stable")
    budget = 1 << 22
    start = 0
    while start < order.size:
        nmax = int(nf[order[start]])
        rows = max(1, budget // (nmax + 1))
        # grow the chunk while its largest n keeps the grid within budget
        stop = min(order.size, start + rows)
        nmax = int(nf[order[stop - 1]])
        while stop - start > 1 and (stop - start) * (nmax + 1) > budget:
            stop = start + max(1, (stop - start) // 2)
            nmax = int(nf[order[stop - 1]])
        sel = order[start:stop]
        j = np.arange(nmax + 1, dtype=np.float64)[None, :]
        nn = nf[sel][:, None]
        kk = kf[sel][:, None]
        jj = np.minimum(j, nn)
        lp = logpmf(*(a[sel][:, None] for a in pf), jj, nn)
        pmf = np.where(j <= nn, np.exp(lp), 0.0)
        cdf = np.cumsum(pmf, axis=1)
        d = cdf - (j >= kk)
        out[sel] = np.sum(np.where(j < nn, d * d, 0.0), axis=1)
        start = stop
    return out.reshape(ka.shape)


def _lp_betabinom(a: FloatArray, b: FloatArray, j: FloatArray, n: FloatArray) -> FloatArray:
    return np.asarray(_log_choose(n, j) + betaln(j + a, n - j + b) - betaln(a, b))


def _lp_binom(p: FloatArray, j: FloatArray, n: FloatArray) -> FloatArray:
    return np.asarray(_log_choose(n, j) + xlogy(j, p) + xlog1py(n - j, -p))


def rps_counts_betabinom(a: ArrayLike, b: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""CRPS over counts (the RPS of the pmf) of a beta-binomial predictive.

    .. math:: \mathrm{CRPS}(F, k) = \sum_{j=0}^{n-1} \left(F(j) - \mathbb 1\{j \ge k\}\right)^2,

    the CRPS of the integer-valued predictive (its CDF is a step function),
    in units of counts, not normalised.

    Parameters
    ----------
    a, b : array_like
        Beta shape parameters (> 0).
    k, n : array_like of int
        Successes and trials, ``0 <= k <= n``.

    Returns
    -------
    ndarray

    References
    ----------
    Epstein, E. S. (1969). A scoring system for probability forecasts of
    ranked categories. J. Appl. Meteor. 8, 985-987.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    aa = as_positive(a, "a")
    bb = as_positive(b, "b")
    ka, na = _counts(k, n)
    aa, bb, ka, na = broadcast(("a", aa), ("b", bb), ("k", ka), ("n", na))
    if (ka > na).any():
        raise ScoringInputError("k must not exceed n")
    return _rps_grid(_lp_betabinom, (aa, bb), ka, na)


def rps_counts_binom(p: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""CRPS over counts (the RPS of the pmf) of a Binomial(n, p) predictive.

    .. math:: \mathrm{CRPS}(F, k) = \sum_{j=0}^{n-1} \left(F(j) - \mathbb 1\{j \ge k\}\right)^2

    Parameters
    ----------
    p : array_like
        Success probability in [0, 1].
    k, n : array_like of int
        Successes and trials, ``0 <= k <= n``.

    Returns
    -------
    ndarray

    References
    ----------
    Epstein, E. S. (1969). J. Appl. Meteor. 8, 985-987.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    pa = as_float(p, "p")
    if pa.size and (pa.min() < 0 or pa.max() > 1):
        raise ScoringInputError("p must be a probability in [0, 1]")
    ka, na = _counts(k, n)
    pa, ka, na = broadcast(("p", pa), ("k", ka), ("n", na))
    if (ka > na).any():
        raise ScoringInputError("k must not exceed n")
    return _rps_grid(_lp_binom, (pa,), ka, na)


# ------------------------------------------------------------ distribution objects


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


class Normal(Distribution):
    """Normal distribution N(mu, sigma^2)."""

    family = "normal"

    def __init__(self, mu: ArrayLike, sigma: ArrayLike) -> None:
        self.mu = as_float(mu, "mu")
        self.sigma = as_positive(sigma, "sigma")
        broadcast(("mu", self.mu), ("sigma", self.sigma))

    def __repr__(self) -> str:
        return f"Normal(mu={self.mu!r}, sigma={self.sigma!r})"

    def cdf(self, x: ArrayLike) -> FloatArray:
        return np.asarray(ndtr((as_float(x, "x") - self.mu) / self.sigma))

    def pdf(self, x: ArrayLike) -> FloatArray:
        z = (as_float(x, "x") - self.mu) / self.sigma
        return np.asarray(np.exp(-0.5 * z * z) * _INV_SQRT_2PI / self.sigma)

    def ppf(self, q: ArrayLike) -> FloatArray:
        return np.asarray(self.mu + self.sigma * ndtri(_check_q(q)))

    def crps(self, x: ArrayLike) -> FloatArray:
        return crps_normal(self.mu, self.sigma, x)

    def log_score(self, x: ArrayLike) -> FloatArray:
        return log_score_normal(self.mu, self.sigma, x)


class Lognormal(Distribution):
    """Lognormal distribution: log X ~ N(mu, sigma^2)."""

    family = "lognormal"

    def __init__(self, mu: ArrayLike, sigma: ArrayLike) -> None:
        self.mu = as_float(mu, "mu")
        self.sigma = as_positive(sigma, "sigma")
        broadcast(("mu", self.mu), ("sigma", self.sigma))

    def __repr__(self) -> str:
        return f"Lognormal(mu={self.mu!r}, sigma={self.sigma!r})"

    def cdf(self, x: ArrayLike) -> FloatArray:
        xa = as_float(x, "x")
        pos = xa > 0
        lx = np.log(np.where(pos, xa, 1.0))
        return np.asarray(np.where(pos, ndtr((lx - self.mu) / self.sigma), 0.0))

    def pdf(self, x: ArrayLike) -> FloatArray:
        xa = as_float(x, "x")
        pos = xa > 0
        xs = np.where(pos, xa, 1.0)
        z = (np.log(xs) - self.mu) / self.sigma
        return np.asarray(
            np.where(pos, np.exp(-0.5 * z * z) * _INV_SQRT_2PI / (self.sigma * xs), 0.0)
        )

    def ppf(self, q: ArrayLike) -> FloatArray:
        return np.asarray(np.exp(self.mu + self.sigma * ndtri(_check_q(q))))

    def crps(self, x: ArrayLike) -> FloatArray:
        return crps_lognormal(self.mu, self.sigma, x)

    def log_score(self, x: ArrayLike) -> FloatArray:
        return log_score_lognormal(self.mu, self.sigma, x)


class Beta(Distribution):
    """Beta(alpha, beta) distribution on [0, 1]."""

    family = "beta"

    def __init__(self, alpha: ArrayLike, beta: ArrayLike) -> None:
        self.alpha = as_positive(alpha, "alpha")
        self.beta = as_positive(beta, "beta")
        broadcast(("alpha", self.alpha), ("beta", self.beta))

    def __repr__(self) -> str:
        return f"Beta(alpha={self.alpha!r}, beta={self.beta!r})"

    def cdf(self, x: ArrayLike) -> FloatArray:
        return np.asarray(betainc(self.alpha, self.beta, np.clip(as_float(x, "x"), 0.0, 1.0)))

    def pdf(self, x: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            return np.asarray(np.exp(-self.log_score(x)))

    def ppf(self, q: ArrayLike) -> FloatArray:
        return np.asarray(betaincinv(self.alpha, self.beta, _check_q(q)))

    def crps(self, x: ArrayLike) -> FloatArray:
        return crps_beta(self.alpha, self.beta, x)

    def log_score(self, x: ArrayLike) -> FloatArray:
        return log_score_beta(self.alpha, self.beta, x)


class QuantileSet(Distribution):
    """A quantile forecast read as a piecewise-linear CDF with linear tails.

    ``crps`` is the WIS-style quantile score (:func:`crps_quantiles`: twice
    the mean pinball loss over the stated levels), as DESIGN section 5
    prescribes; ``cdf``, ``pdf``, ``ppf`` and ``log_score`` use the
    piecewise-linear CDF with the tail and bounds convention of this module.
    """

    family = "quantiles"

    def __init__(self, levels: ArrayLike, values: ArrayLike, bounds: Any = None) -> None:
        self.levels, self.values = _qs_arrays(levels, values, strict=True)
        self.bounds = bounds
        lo, hi = _bounds_arrays(bounds, self.values.shape[:-1])
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
    if family == "normal":
        return Normal(_param(spec, "mu", family), _param(spec, "sigma", family))
    if family == "lognormal":
        return Lognormal(_param(spec, "mu", family), _param(spec, "sigma", family))
    if family == "beta":
        return Beta(_param(spec, "alpha", family), _param(spec, "beta", family))
    if family == "quantiles":
        return QuantileSet(_param(spec, "levels", family), _param(spec, "values", family), bounds)
    raise ScoringInputError(f"unknown distribution family {family!r}")


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

    References
    ----------
    Dawid, A. P. (1984). Statistical theory: the prequential approach.
    JRSS A 147(2), 278-292.
    Gneiting, T., Balabdaoui, F. & Raftery, A. E. (2007). Probabilistic
    forecasts, calibration and sharpness. JRSS B 69(2), 243-268.
    """
    d = dist if isinstance(dist, Distribution) else from_spec(dist, bounds)
    return d.cdf(x)


# ------------------------------------------------------------------ batch scoring

_Q = np.array([0.25, 0.75, 0.05, 0.95])
_Z = ndtri(_Q)
_KEYS = ("crps", "log", "pit", "lo50", "hi50", "lo90", "hi90")


def _group_params(
    rows: list[Any], idx: list[int], names: Sequence[str], family: str
) -> list[FloatArray]:
    try:
        arr = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    except (TypeError, ValueError):
        for i, row in zip(idx, rows, strict=True):
            for name, v in zip(names, row, strict=True):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise ScoringInputError(
                        f"specs[{i}]: {family} parameter '{name}' is not a number: {v!r}"
                    ) from None
        raise ScoringInputError(f"{family} parameters are not numbers") from None
    out = []
    for c, name in enumerate(names):
        col = arr[:, c]
        bad = ~np.isfinite(col)
        if name in ("sigma", "alpha", "beta"):
            bad |= col <= 0
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            need = "a finite number > 0" if name in ("sigma", "alpha", "beta") else "finite"
            raise ScoringInputError(
                f"specs[{idx[j]}]: {family} parameter '{name}' must be {need}; got {col[j]!r}"
            )
        out.append(col)
    return out


def score_continuous(
    specs: Sequence[Mapping[str, Any]],
    x: ArrayLike,
    bounds: Sequence[BoundsLike] | None = None,
) -> dict[str, FloatArray]:
    """Score many heterogeneous distribution forecasts at once.

    Specs are grouped by family (quantile sets also by their number of
    quantiles) and each group is scored with vectorised closed forms.

    Parameters
    ----------
    specs : sequence of mappings
        Forecast specs as accepted by :func:`from_spec`.
    x : array_like, shape (N,)
        Outcomes, one per spec.
    bounds : sequence of (lo, hi) or None, optional
        Question bounds per spec (used by quantile sets only).

    Returns
    -------
    dict of str to ndarray, each shape (N,)
        ``crps`` (closed form; WIS-style quantile score for quantile sets),
        ``log`` (-ln f(x)), ``pit`` (F(x)), ``lo50, hi50, lo90, hi90`` (central
        50% / 90% intervals), ``cover50, cover90`` (bool, lo <= x <= hi) and
        ``is50, is90`` (interval scores, Gneiting & Raftery 2007 eq. 43).
    """
    n = len(specs)
    xa = as_float(x, "x")
    if xa.shape != (n,):
        raise ScoringInputError(f"x has shape {xa.shape} but there are {n} specs")
    if bounds is not None and len(bounds) != n:
        raise ScoringInputError(f"bounds has {len(bounds)} entries but there are {n} specs")
    out = {key: np.empty(n) for key in _KEYS}

    par: dict[str, tuple[list[int], list[Any]]] = {
        "normal": ([], []),
        "lognormal": ([], []),
        "beta": ([], []),
    }
    quant: dict[int, tuple[list[int], list[Any], list[Any]]] = {}
    i = 0
    fam: Any = None
    try:
        for i, s in enumerate(specs):
            fam = None
            fam = s["family"]
            if fam == "normal" or fam == "lognormal":
                g = par[fam]
                g[0].append(i)
                g[1].append((s["mu"], s["sigma"]))
            elif fam == "beta":
                g = par[fam]
                g[0].append(i)
                g[1].append((s["alpha"], s["beta"]))
            elif fam == "quantiles":
                lv = s["levels"]
                vs = s["values"]
                k = len(vs)
                if len(lv) != k:
                    raise ScoringInputError(f"specs[{i}]: {len(lv)} levels but {k} quantile values")
                gq = quant.get(k)
                if gq is None:
                    gq = quant[k] = ([], [], [])
                gq[0].append(i)
                gq[1].append(lv)
                gq[2].append(vs)
            else:
                raise ScoringInputError(f"specs[{i}]: unknown distribution family {fam!r}")
    except KeyError as exc:
        what = "'family'" if fam is None or exc.args[0] == "family" else f"'{exc.args[0]}'"
        raise ScoringInputError(f"specs[{i}] is missing {what}") from None
    except TypeError:
        raise ScoringInputError(f"specs[{i}] is not a valid forecast spec") from None

    for fam_name, (idx_list, rows) in par.items():
        if not idx_list:
            continue
        idx = np.array(idx_list, dtype=np.intp)
        names = ("alpha", "beta") if fam_name == "beta" else ("mu", "sigma")
        p1, p2 = _group_params(rows, idx_list, names, fam_name)
        xs = xa[idx]
        if fam_name == "normal":
            z = (xs - p1) / p2
            out["crps"][idx] = p2 * _crps_std_normal_core(z)
            out["log"][idx] = _HALF_LOG_2PI + np.log(p2) + 0.5 * z * z
            out["pit"][idx] = ndtr(z)
            qv = p1[:, None] + p2[:, None] * _Z[None, :]
        elif fam_name == "lognormal":
            out["crps"][idx] = _crps_lognormal_raw(p1, p2, xs)
            out["log"][idx] = _log_score_lognormal_raw(p1, p2, xs)
            pos = xs > 0
            lx = np.log(np.where(pos, xs, 1.0))
            out["pit"][idx] = np.where(pos, ndtr((lx - p1) / p2), 0.0)
            qv = np.exp(p1[:, None] + p2[:, None] * _Z[None, :])
        else:
            out["crps"][idx] = _crps_beta_raw(p1, p2, xs)
            out["log"][idx] = _log_score_beta_raw(p1, p2, xs)
            out["pit"][idx] = betainc(p1, p2, np.clip(xs, 0.0, 1.0))
            qv = betaincinv(p1[:, None], p2[:, None], _Q[None, :])
        for c, key in enumerate(("lo50", "hi50", "lo90", "hi90")):
            out[key][idx] = qv[:, c]

    for k, (idx_list, lv_rows, v_rows) in quant.items():
        idx = np.array(idx_list, dtype=np.intp)
        try:
            la_g = np.array(lv_rows, dtype=np.float64).reshape(len(idx_list), k)
            va_g = np.array(v_rows, dtype=np.float64).reshape(len(idx_list), k)
        except (TypeError, ValueError):
            raise ScoringInputError(
                "quantile levels and values must be lists of numbers "
                f"(one of specs {idx_list[:5]}...)"
            ) from None
        _check_quantile_group(la_g, va_g, idx_list)
        if bounds is None:
            lo = np.full(idx.size, -np.inf)
            hi = np.full(idx.size, np.inf)
        else:
            lo, hi = _bounds_for(bounds, idx_list)
        bad = (va_g[:, 0] < lo) | (va_g[:, -1] > hi)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ScoringInputError(
                f"specs[{idx_list[j]}]: quantile values lie outside the bounds "
                f"({lo[j]!r}, {hi[j]!r})"
            )
        xs = xa[idx]
        xk, pk = _knots(la_g, va_g, lo, hi)
        out["crps"][idx] = _crps_quantiles_raw(la_g, va_g, xs[:, None])
        dens = _pl_pdf(xk, pk, xs)
        with np.errstate(divide="ignore"):
            out["log"][idx] = 0.0 - np.log(dens)
        out["pit"][idx] = _pl_cdf(xk, pk, xs)
        m = idx.size
        for qv_level, key in zip(_Q, ("lo50", "hi50", "lo90", "hi90"), strict=True):
            out[key][idx] = _pl_ppf(xk, pk, np.full(m, qv_level))

    result: dict[str, Any] = dict(out)
    result["cover50"] = (out["lo50"] <= xa) & (xa <= out["hi50"])
    result["cover90"] = (out["lo90"] <= xa) & (xa <= out["hi90"])
    result["is50"] = _interval_score_raw(out["lo50"], out["hi50"], xa, 0.5)
    result["is90"] = _interval_score_raw(out["lo90"], out["hi90"], xa, 0.1)
    return result


def _check_quantile_group(la: FloatArray, va: FloatArray, idx: list[int]) -> None:
    def fail(mask: Any, what: str) -> None:
        if mask.any():
            j = int(np.flatnonzero(mask)[0])
            raise ScoringInputError(f"specs[{idx[j]}]: {what}")

    fail(~np.isfinite(la).all(axis=1), "quantile levels must be finite")
    fail(~np.isfinite(va).all(axis=1), "quantile values must be finite")
    if la.shape[1] < 2:
        raise ScoringInputError(f"specs[{idx[0]}]: a quantile set needs at least 2 quantiles")
    fail(((la <= 0) | (la >= 1)).any(axis=1), "quantile levels must be strictly between 0 and 1")
    fail((np.diff(la, axis=1) <= 0).any(axis=1), "quantile levels must be strictly increasing")
    fail((np.diff(va, axis=1) <= 0).any(axis=1), "quantile values must be strictly increasing")


def _bounds_for(bounds: Sequence[BoundsLike], idx: list[int]) -> tuple[FloatArray, FloatArray]:
    lo = np.full(len(idx), -np.inf)
    hi = np.full(len(idx), np.inf)
    for r, i in enumerate(idx):
        b = bounds[i]
        if b is None:
            continue
        try:
            blo, bhi = b
            lo[r] = -np.inf if blo is None else float(blo)
            hi[r] = np.inf if bhi is None else float(bhi)
        except (TypeError, ValueError):
            raise ScoringInputError(f"bounds[{i}] must be a pair (lo, hi); got {b!r}") from None
        if math.isnan(lo[r]) or math.isnan(hi[r]) or lo[r] >= hi[r]:
            raise ScoringInputError(f"bounds[{i}] must satisfy lo < hi; got {b!r}")
    return lo, hi
