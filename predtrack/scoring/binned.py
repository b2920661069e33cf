"""Binned calibration of binary forecasts: the binning rule, Murphy's decomposition and ECE.

Bins.  ``K`` equal-width bins with interior edges ``np.arange(1, K) / K`` and
bin index ``np.searchsorted(edges, p, side="right")``: a forecast exactly on
an edge (0.3 with ``K = 10``) falls in the upper bin, and 1.0 falls in the last
bin.  The same rule serves :func:`bin_index`, :func:`murphy` and :func:`ece`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from predtrack.scoring._validate import (
    FloatArray,
    IntArray,
    as_prob,
    check_bins,
    prob_sample,
)

__all__ = ["MurphyResult", "bin_edges", "bin_index", "ece", "murphy"]


def _bins_of(pa: FloatArray, k: int) -> IntArray:
    """``np.searchsorted(np.arange(1, k) / k, pa, side="right")``, computed faster.

    ``floor(p k)`` is the bin up to one rounding step either way; comparing
    with the exact edges moves it into place, so the result is the same as
    the binary search's, edge values included.
    """
    edges = np.concatenate(([-np.inf], np.arange(1, k) / k, [np.inf]))
    g = np.multiply(pa, k).astype(np.intp)
    np.clip(g, 0, k - 1, out=g)
    g -= pa < edges[g]
    g += pa >= edges[g + 1]
    return np.asarray(g, dtype=np.int64)


def bin_edges(bins: int = 10) -> FloatArray:
    """All ``K + 1`` bin boundaries of the binning rule (see :func:`bin_index`).

    Parameters
    ----------
    bins : int
        Number of equal-width bins ``K`` (default 10).

    Returns
    -------
    ndarray, shape (K + 1,)
        ``0, 1/K, 2/K, ..., (K-1)/K, 1``, the interior ones computed as
        ``np.arange(1, K) / K`` (so 3/10 is exactly the double nearest 0.3).
    """
    k = check_bins(bins)
    return np.concatenate(([0.0], np.arange(1, k) / k, [1.0]))


def bin_index(p: ArrayLike, bins: int = 10) -> IntArray:
    """Bin of each forecast under the package's explicit binning rule.

    Interior edges are ``np.arange(1, K) / K`` (exact decimal values such as
    0.3, unlike ``np.linspace``), and the index is
    ``np.searchsorted(edges, p, side="right")``: a forecast exactly on an edge
    belongs to the upper bin and 1.0 belongs to the last bin ``K - 1``.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    bins : int
        Number of equal-width bins ``K`` (default 10).

    Returns
    -------
    ndarray of int
        Bin index in ``0 .. K-1`` per forecast.
    """
    k = check_bins(bins)
    return _bins_of(as_prob(p, "p"), k)


@dataclass(frozen=True, eq=False)
class MurphyResult:
    """Binned Murphy decomposition with the two Stephenson et al. (2008) terms.

    ``brier == rel - res + unc + wbv - wbc`` holds exactly (up to rounding);
    ``rel - res + unc`` alone equals the Brier score only when every bin holds a
    single forecast value (then ``wbv = wbc = 0``).

    Attributes
    ----------
    brier, rel, res, unc, wbv, wbc : float
        Mean Brier score, reliability, resolution, uncertainty, within-bin
        variance and within-bin covariance (Stephenson's sign convention).
    edges : ndarray
        The ``K + 1`` bin boundaries ``0, 1/K, ..., 1``.
    n : ndarray of int
        Number of forecasts per bin.
    mean_forecast, obs_freq : ndarray
        Mean forecast and observed event frequency per bin (NaN where n = 0).
    """

    brier: float
    rel: float
    res: float
    unc: float
    wbv: float
    wbc: float
    edges: FloatArray
    n: IntArray
    mean_forecast: FloatArray
    obs_freq: FloatArray


def _bin_means(
    p: FloatArray, y: FloatArray, k: int
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    idx = _bins_of(p, k)
    n = np.bincount(idx, minlength=k)
    sp = np.bincount(idx, weights=p, minlength=k)
    sy = np.bincount(idx, weights=y, minlength=k)
    fbar = np.full(k, np.nan)
    obar = np.full(k, np.nan)
    nz = n > 0
    fbar[nz] = sp[nz] / n[nz]
    obar[nz] = sy[nz] / n[nz]
    return idx, n, fbar, obar


def murphy(p: ArrayLike, y: ArrayLike, bins: int = 10) -> MurphyResult:
    r"""Murphy's binned decomposition of the mean Brier score, made exact.

    With ``K`` equal-width bins (rule: see :func:`bin_index`), ``n_k`` forecasts
    in bin ``k``, bin-mean forecast :math:`\bar f_k`, bin event frequency
    :math:`\bar o_k` and overall base rate :math:`\bar o`:

    .. math::

        \mathrm{REL} &= \tfrac1N \textstyle\sum_k n_k (\bar f_k - \bar o_k)^2, \qquad
        \mathrm{RES} = \tfrac1N \sum_k n_k (\bar o_k - \bar o)^2, \qquad
        \mathrm{UNC} = \bar o (1 - \bar o), \\
        \mathrm{WBV} &= \tfrac1N \textstyle\sum_k \sum_{i \in k} (f_i - \bar f_k)^2, \qquad
        \mathrm{WBC} = \tfrac2N \sum_k \sum_{i \in k} (f_i - \bar f_k)(o_i - \bar o_k),

    and :math:`\overline{\mathrm{BS}} = \mathrm{REL} - \mathrm{RES} + \mathrm{UNC}
    + \mathrm{WBV} - \mathrm{WBC}` exactly.  Murphy's three-term identity holds
    only when each bin contains a single forecast value; the binned terms are
    biased when bins hold few forecasts, so report ``n`` per bin.

    Parameters
    ----------
    p, y : array_like, shape (N,)
        Forecast probabilities in [0, 1] and their outcomes, 0 or 1.
    bins : int
        Number of equal-width bins (default 10).

    Returns
    -------
    MurphyResult

    References
    ----------
    Murphy, A. H. (1973). A new vector partition of the probability score.
    Journal of Applied Meteorology 12(4), 595-600.
    Stephenson, D. B., Coelho, C. A. S. & Jolliffe, I. T. (2008). Two extra
    components in the Brier score decomposition. Weather and Forecasting
    23(4), 752-757.
    """
    k = check_bins(bins)
    pa, ya = prob_sample(p, y)
    nobs = pa.size
    idx, n, fbar, obar = _bin_means(pa, ya, k)
    nz = n > 0
    base = float(ya.sum()) / nobs
    rel = float(np.sum(n[nz] * (fbar[nz] - obar[nz]) ** 2)) / nobs
    res = float(np.sum(n[nz] * (obar[nz] - base) ** 2)) / nobs
    unc = base * (1.0 - base)
    df = pa - fbar[idx]
    do = ya - obar[idx]
    wbv = float(np.dot(df, df)) / nobs
    wbc = 2.0 * float(np.dot(df, do)) / nobs
    d = pa - ya
    bs = float(np.dot(d, d)) / nobs
    return MurphyResult(
        brier=bs,
        rel=rel,
        res=res,
        unc=unc,
        wbv=wbv,
        wbc=wbc,
        edges=bin_edges(k),
        n=n.astype(np.int64),
        mean_forecast=fbar,
        obs_freq=obar,
    )


def ece(p: ArrayLike, y: ArrayLike, bins: int = 10) -> float:
    r"""Expected calibration error with equal-width bins.

    .. math:: \mathrm{ECE} = \sum_k \frac{n_k}{N} \, |\bar f_k - \bar o_k|

    Same binning rule as :func:`murphy` (see :func:`bin_index`).  ECE is not a
    proper score and depends on the binning; prefer CORP's MCB for inference.

    Parameters
    ----------
    p, y, bins
        Forecasts, outcomes and number of bins, as in :func:`murphy`.

    Returns
    -------
    float

    References
    ----------
    Naeini, M. P., Cooper, G. F. & Hauskrecht, M. (2015). Obtaining well
    calibrated probabilities using Bayesian binning. AAAI 2015, 2901-2907.
    """
    k = check_bins(bins)
    pa, ya = prob_sample(p, y)
    _, n, fbar, obar = _bin_means(pa, ya, k)
    nz = n > 0
    return float(np.sum(n[nz] * np.abs(fbar[nz] - obar[nz]))) / pa.size
