"""Quantile forecasts: pinball loss, interval score, the quantile-set CRPS and the quantile-set CDF.

A quantile set is a forecaster's quantiles at several levels.  All functions
are vectorised over a batch of sets (the last axis holds the quantiles) with
numpy broadcasting; every score is negatively oriented (lower is better).

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

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    as_float,
    bounds_arrays,
    broadcast,
    check_levels_open,
)

__all__ = [
    "crps_quantiles",
    "interval_score",
    "log_score_quantiles",
    "pinball",
    "quantile_cdf",
    "quantile_pdf",
    "quantile_ppf",
]


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
        Loss in the units of y, >= 0.

    References
    ----------
    Koenker, R. & Bassett, G. (1978). Regression quantiles. Econometrica
    46(1), 33-50.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 6.
    """
    qa = as_float(q, "q")
    ya = as_float(y, "y")
    ta = check_levels_open(as_float(tau, "tau"), "tau")
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
        Score in the units of x: the width plus the penalty for a miss.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, eq. (43).
    """
    la = as_float(lo, "lo")
    ha = as_float(hi, "hi")
    xa = as_float(x, "x")
    al = check_levels_open(as_float(alpha, "alpha"), "alpha")
    la, ha, xa, al = broadcast(("lo", la), ("hi", ha), ("x", xa), ("alpha", al))
    if (la > ha).any():
        raise ScoringInputError("interval is reversed: lo must be <= hi")
    return interval_score_raw(la, ha, xa, al)


def interval_score_raw(
    la: FloatArray, ha: FloatArray, xa: FloatArray, al: FloatArray | float
) -> FloatArray:
    """The interval score of :func:`interval_score` on validated arrays."""
    below = np.maximum(la - xa, 0.0)
    above = np.maximum(xa - ha, 0.0)
    return np.asarray((ha - la) + (2.0 / al) * (below + above))


def qs_arrays(
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
    check_levels_open(la, "levels")
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
    la, va = qs_arrays(levels, values, strict=False)
    xa = as_float(x, "x")
    full = _outcome_shape("x", xa, va.shape[:-1])
    xb = np.broadcast_to(xa[..., None], (*full, va.shape[-1]))
    return crps_quantiles_raw(la, va, xb)


def _outcome_shape(name: str, xa: FloatArray, batch: tuple[int, ...]) -> tuple[int, ...]:
    """The batch shape of quantile sets ``batch`` broadcast with their outcomes' shape."""
    try:
        return np.broadcast_shapes(batch, xa.shape)
    except ValueError:
        raise ScoringInputError(
            f"{name} {xa.shape} does not match the batch shape {batch} of values"
        ) from None


def crps_quantiles_raw(la: FloatArray, va: FloatArray, xb: FloatArray) -> FloatArray:
    """The quantile score of :func:`crps_quantiles`; ``xb`` broadcast to ``va``'s shape."""
    loss = ((xb < va).astype(np.float64) - la) * (va - xb)
    return np.asarray(2.0 * loss.mean(axis=-1))


def knots(
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


def _segment(keys: FloatArray, v: FloatArray) -> tuple[Any, Any]:
    """Per row: how many knots are <= v, and the segment ``[keys[j], keys[j+1]]`` holding v."""
    cnt = (keys <= v[:, None]).sum(axis=1)
    return cnt, np.clip(cnt - 1, 0, keys.shape[1] - 2)


def pl_cdf(xk: FloatArray, pk: FloatArray, x: FloatArray) -> FloatArray:
    """Piecewise-linear CDF through the knots (one row per forecast) at x."""
    cnt, j = _segment(xk, x)
    x0, x1 = _take(xk, j), _take(xk, j + 1)
    p0, p1 = _take(pk, j), _take(pk, j + 1)
    w = x1 - x0
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(w > 0, (x - x0) / np.where(w > 0, w, 1.0), 1.0)
    f = p0 + np.clip(frac, 0.0, 1.0) * (p1 - p0)
    f = np.where(cnt == 0, 0.0, f)
    return np.asarray(np.where(x >= xk[:, -1], 1.0, f))


def pl_pdf(xk: FloatArray, pk: FloatArray, x: FloatArray) -> FloatArray:
    """Slope of :func:`pl_cdf` at x (0 outside the support)."""
    _, j = _segment(xk, x)
    w = _take(xk, j + 1) - _take(xk, j)
    # the top end of the support with a point mass there: use the segment below
    j = np.where((w <= 0) & (j > 0), j - 1, j)
    x0, x1 = _take(xk, j), _take(xk, j + 1)
    w = x1 - x0
    dens = np.where(w > 0, (_take(pk, j + 1) - _take(pk, j)) / np.where(w > 0, w, 1.0), 0.0)
    inside = (x >= xk[:, 0]) & (x <= xk[:, -1])
    return np.asarray(np.where(inside, dens, 0.0))


def pl_ppf(xk: FloatArray, pk: FloatArray, q: FloatArray) -> FloatArray:
    """Inverse of :func:`pl_cdf` at probabilities q."""
    _, j = _segment(pk, q)
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
    la, va = qs_arrays(levels, values, strict=True)
    xname = "q" if what == "ppf" else "x"
    xa = as_float(x, xname)
    if what == "ppf" and xa.size and (xa.min() < 0.0 or xa.max() > 1.0):
        raise ScoringInputError("q must be a probability in [0, 1]")
    batch = va.shape[:-1]
    lo, hi = bounds_arrays(bounds, batch)
    full = _outcome_shape(xname, xa, batch)
    k = va.shape[-1]
    va2 = np.broadcast_to(va, (*full, k)).reshape(-1, k)
    la2 = np.broadcast_to(la, (*full, k)).reshape(-1, k)
    lo2 = np.broadcast_to(lo, full).reshape(-1)
    hi2 = np.broadcast_to(hi, full).reshape(-1)
    x2 = np.broadcast_to(xa, full).reshape(-1)
    xk, pk = knots(la2, va2, lo2, hi2)
    if what == "cdf":
        out = pl_cdf(xk, pk, x2)
    elif what == "pdf":
        out = pl_pdf(xk, pk, x2)
    else:
        out = pl_ppf(xk, pk, x2)
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
        F(x) in [0, 1], shape of the broadcast batch.

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
        Quantiles in the units of ``values``.
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
        Density in probability per unit of x, >= 0.
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
        The quantile sets, outcomes and bounds, as for :func:`quantile_cdf`.

    Returns
    -------
    ndarray
        Log score in nats; ``inf`` outside the support.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    dens = quantile_pdf(levels, values, x, bounds)
    with np.errstate(divide="ignore"):
        return np.asarray(0.0 - np.log(dens))
