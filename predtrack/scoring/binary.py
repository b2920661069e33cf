"""Scores and calibration diagnostics for binary (yes/no) forecasts.

A forecast is a probability ``p`` in [0, 1] that the event happens; the outcome
``y`` is 1 if it happened and 0 otherwise.  Every score here is negatively
oriented (lower is better) except :func:`spherical`.

Conventions (tested in ``tests/scoring``):

* Bins.  ``K`` equal-width bins with interior edges ``np.arange(1, K) / K`` and
  bin index ``np.searchsorted(edges, p, side="right")``: a forecast exactly on
  an edge (0.3 with ``K = 10``) falls in the upper bin, and 1.0 falls in the
  last bin.  The same rule is used by :func:`murphy` and :func:`ece`.
* Infinite scores.  The log score of a forecast of 0 (or 1) for an event that
  did (did not) happen is ``+inf``.  It is returned as such, never clipped, and
  computed without numpy RuntimeWarnings.
* CORP.  Tied forecast values are pooled before the PAV fit, so every CORP
  result is independent of the order of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import isotonic_regression
from scipy.special import ndtr, ndtri, xlog1py, xlogy

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    IntArray,
    as_binary,
    as_int,
    as_prob,
    broadcast,
    check_bins,
    check_level,
    check_resamples,
    nonempty_1d,
    same_shape,
)

__all__ = [
    "BandResult",
    "CorpResult",
    "MurphyResult",
    "bin_edges",
    "bin_index",
    "brier",
    "corp",
    "corp_band",
    "ece",
    "log_score",
    "murphy",
    "spherical",
    "spiegelhalter",
    "wilson_interval",
]

SeedLike = int | np.random.Generator | None


def _pair(p: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    pa = as_prob(p, "p")
    ya = as_binary(y, "y")
    pa, ya = broadcast(("p", pa), ("y", ya))
    return pa, ya


def _sample(p: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated 1-D samples of forecasts and outcomes of equal length."""
    pa = as_prob(p, "p")
    ya = as_binary(y, "y")
    nonempty_1d("p", pa)
    same_shape(("p", pa), ("y", ya))
    return pa, ya


# --------------------------------------------------------------------------- scores


def brier(p: ArrayLike, y: ArrayLike) -> FloatArray:
    r"""Brier (quadratic) score of binary probability forecasts.

    .. math:: \mathrm{BS}(p, y) = (p - y)^2

    Parameters
    ----------
    p : array_like
        Forecast probabilities of the event, each in [0, 1].
    y : array_like
        Outcomes, 0 or 1 (bool accepted); broadcast against ``p``.

    Returns
    -------
    ndarray
        Score per forecast, in [0, 1]; lower is better.

    References
    ----------
    Brier, G. W. (1950). Verification of forecasts expressed in terms of
    probability. Monthly Weather Review 78(1), 1-3.
    Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules,
    prediction, and estimation. JASA 102(477), 359-378, section 3.
    """
    pa, ya = _pair(p, y)
    d = pa - ya
    return np.asarray(d * d, dtype=np.float64)


def log_score(p: ArrayLike, y: ArrayLike, *, base: float | None = None) -> FloatArray:
    r"""Logarithmic score (ignorance) of binary probability forecasts.

    .. math:: \mathrm{LS}(p, y) = -\log p \ \text{if}\ y = 1, \quad -\log(1 - p) \ \text{if}\ y = 0

    A forecast of exactly 0 (1) for an event that happened (did not) scores
    ``+inf``; this is reported as is, never clipped, and without warnings.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes, 0 or 1; broadcast against ``p``.
    base : float, optional
        Logarithm base.  ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    ndarray
        Score per forecast, in [0, inf]; lower is better.

    References
    ----------
    Good, I. J. (1952). Rational decisions. JRSS B 14(1), 107-114.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.
    Roulston, M. S. & Smith, L. A. (2002). Evaluating probabilistic forecasts
    using information theory. Monthly Weather Review 130, 1653-1660 (ignorance).
    """
    pa, ya = _pair(p, y)
    q = np.where(ya == 1.0, pa, 1.0 - pa)
    with np.errstate(divide="ignore"):
        s = 0.0 - np.log(q)
    if base is not None:
        b = float(base)
        if not np.isfinite(b) or b <= 0.0 or b == 1.0:
            raise ScoringInputError(f"base must be a positive number other than 1; got {base!r}")
        s = s / np.log(b)
    return np.asarray(s, dtype=np.float64)


def spherical(p: ArrayLike, y: ArrayLike) -> FloatArray:
    r"""Spherical score of binary probability forecasts (positively oriented).

    .. math:: \mathrm{SphS}(p, y) = \frac{p_y}{\sqrt{p^2 + (1 - p)^2}},
              \quad p_1 = p,\ p_0 = 1 - p

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    y : array_like
        Outcomes, 0 or 1; broadcast against ``p``.

    Returns
    -------
    ndarray
        Score per forecast, in [0, 1]; **higher is better**.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.
    """
    pa, ya = _pair(p, y)
    q = np.where(ya == 1.0, pa, 1.0 - pa)
    return np.asarray(q / np.sqrt(pa * pa + (1.0 - pa) * (1.0 - pa)), dtype=np.float64)


# ------------------------------------------------------------------------ binning


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
    pa = as_prob(p, "p")
    edges = np.arange(1, k) / k
    return np.asarray(np.searchsorted(edges, pa, side="right"), dtype=np.int64)


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
    edges = np.arange(1, k) / k
    idx = np.searchsorted(edges, p, side="right")
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
    p : array_like, shape (N,)
        Forecast probabilities in [0, 1].
    y : array_like, shape (N,)
        Outcomes, 0 or 1.
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
    pa, ya = _sample(p, y)
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
    p : array_like, shape (N,)
        Forecast probabilities in [0, 1].
    y : array_like, shape (N,)
        Outcomes, 0 or 1.
    bins : int
        Number of equal-width bins (default 10).

    Returns
    -------
    float

    References
    ----------
    Naeini, M. P., Cooper, G. F. & Hauskrecht, M. (2015). Obtaining well
    calibrated probabilities using Bayesian binning. AAAI 2015, 2901-2907.
    """
    k = check_bins(bins)
    pa, ya = _sample(p, y)
    _, n, fbar, obar = _bin_means(pa, ya, k)
    nz = n > 0
    return float(np.sum(n[nz] * np.abs(fbar[nz] - obar[nz]))) / pa.size


# --------------------------------------------------------------------------- CORP


@dataclass(frozen=True, eq=False)
class CorpResult:
    """CORP decomposition ``score = mcb - dsc + unc`` and the reliability curve.

    Attributes
    ----------
    score : float
        Mean score of the forecasts (``inf`` possible for the log score).
    mcb, dsc, unc : float
        Miscalibration, discrimination and uncertainty.
    x : ndarray
        Distinct forecast values, sorted.
    count : ndarray of int
        Number of forecasts at each value of ``x``.
    events : ndarray
        Number of events (y = 1) at each value of ``x``.
    cep : ndarray
        PAV-recalibrated probability (conditional event probability) at ``x``.
    n : int
        Number of forecasts.
    n_inf : int
        Number of forecasts with an infinite score (log score at 0 or 1 on the
        wrong outcome).
    score_name : str
        ``"brier"`` or ``"log"``.
    """

    score: float
    mcb: float
    dsc: float
    unc: float
    x: FloatArray
    count: IntArray
    events: FloatArray
    cep: FloatArray
    n: int
    n_inf: int
    score_name: str


def _pool(p: FloatArray, y: FloatArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Distinct forecast values, their counts and event counts (ties pooled)."""
    x, inv, count = np.unique(p, return_inverse=True, return_counts=True)
    events = np.asarray(np.bincount(inv.ravel(), weights=y, minlength=x.size), dtype=np.float64)
    return x, count.astype(np.int64), events


def _pav(freq: FloatArray, count: IntArray | FloatArray) -> FloatArray:
    return np.asarray(isotonic_regression(freq, weights=count, increasing=True).x)


def _group_totals(
    f: FloatArray, count: IntArray | FloatArray, events: FloatArray, score: str
) -> FloatArray:
    """Total score per distinct value when ``count`` forecasts equal ``f`` and
    ``events`` of them verify; 0 * log 0 is taken as 0."""
    nonevents = count - events
    if score == "brier":
        return np.asarray(events * (1.0 - f) ** 2 + nonevents * f * f)
    return np.asarray(-(xlogy(events, f) + xlog1py(nonevents, -f)))


def corp(p: ArrayLike, y: ArrayLike, *, score: str = "brier") -> CorpResult:
    r"""CORP decomposition of the mean Brier or log score.

    The forecasts are recalibrated by isotonic (PAV) regression of the outcomes
    on the forecast values, with tied values pooled first (one point per
    distinct value, weighted by its count), which makes the result independent
    of input order.  With :math:`\hat p` the recalibrated forecasts and
    :math:`\bar y` the base rate,

    .. math::

        \mathrm{MCB} = \bar S(p) - \bar S(\hat p), \quad
        \mathrm{DSC} = \bar S(\bar y) - \bar S(\hat p), \quad
        \mathrm{UNC} = \bar S(\bar y), \quad
        \bar S(p) = \mathrm{MCB} - \mathrm{DSC} + \mathrm{UNC}.

    MCB >= 0 and DSC >= 0 for any proper score (PAV is optimal for all of them
    at once), and MCB = 0 for a forecast that equals its own recalibration.
    For the log score a forecast of 0 or 1 on the wrong outcome makes ``score``
    and ``mcb`` infinite (counted in ``n_inf``); the recalibrated forecast uses
    the convention 0 log 0 = 0 and stays finite.

    Parameters
    ----------
    p : array_like, shape (N,)
        Forecast probabilities in [0, 1].
    y : array_like, shape (N,)
        Outcomes, 0 or 1.
    score : {"brier", "log"}
        The proper scoring rule to decompose (log score in nats).

    Returns
    -------
    CorpResult

    References
    ----------
    Dimitriadis, T., Gneiting, T. & Jordan, A. I. (2021). Stable reliability
    diagrams for probabilistic classifiers. PNAS 118(8), e2016191118.
    Ayer, M. et al. (1955). An empirical distribution function for sampling
    with incomplete information. Ann. Math. Statist. 26(4), 641-647 (PAV).
    """
    if score not in ("brier", "log"):
        raise ScoringInputError(f"score must be 'brier' or 'log'; got {score!r}")
    pa, ya = _sample(p, y)
    nobs = pa.size
    x, count, events = _pool(pa, ya)
    cep = _pav(events / count, count)
    totals = _group_totals(x, count, events, score)
    s_orig = float(totals.sum()) / nobs
    s_rc = float(_group_totals(cep, count, events, score).sum()) / nobs
    base = float(events.sum()) / nobs
    if score == "brier":
        unc = base * (1.0 - base)
        n_inf = 0
    else:
        unc = float(-(xlogy(base, base) + xlog1py(1.0 - base, -base)))
        inf_rows = np.isinf(totals)
        n_inf = int(
            np.sum(
                np.where(x[inf_rows] == 0.0, events[inf_rows], count[inf_rows] - events[inf_rows])
            )
        )
    return CorpResult(
        score=s_orig,
        mcb=s_orig - s_rc,
        dsc=unc - s_rc,
        unc=unc,
        x=x,
        count=count,
        events=events,
        cep=cep,
        n=nobs,
        n_inf=n_inf,
        score_name=score,
    )


@dataclass(frozen=True, eq=False)
class BandResult:
    """Pointwise consistency band of the CORP reliability diagram.

    Attributes
    ----------
    x : ndarray
        Distinct forecast values, sorted (the ``x`` of :func:`corp`).
    lower, upper : ndarray
        Band limits for the recalibrated probability at each ``x``.
    level : float
        Pointwise coverage of the band.
    n_resamples : int
        Number of resamples.
    pooled : bool
        True when neighbouring distinct values were pooled before resampling
        (more than ``max_points`` distinct forecast values); see
        :func:`corp_band`.
    """

    x: FloatArray
    lower: FloatArray
    upper: FloatArray
    level: float = 0.9
    n_resamples: int = 1000
    pooled: bool = False


def corp_band(
    p: ArrayLike,
    y: ArrayLike,
    *,
    level: float = 0.9,
    n_resamples: int = 1000,
    seed: SeedLike = None,
    max_points: int = 1000,
) -> BandResult:
    r"""Consistency band for the CORP reliability diagram under calibration.

    Under the hypothesis that the forecasts are calibrated, outcomes are
    resampled as :math:`y^*_i \sim \mathrm{Bernoulli}(p_i)`, done per distinct
    forecast value ``x_j`` as :math:`k^*_j \sim \mathrm{Binomial}(n_j, x_j)`
    (exactly equivalent), the PAV recalibration is recomputed, and the band is
    the pointwise ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the
    resampled recalibrated probabilities at each ``x_j``.  A CORP curve
    leaving the band is evidence of miscalibration at that forecast value.

    When there are more than ``max_points`` distinct forecast values (e.g.
    model outputs, not typed-in probabilities), runs of neighbouring distinct
    values holding about equal numbers of forecasts are pooled into
    ``max_points`` groups, each resampled as Binomial(group size, group mean
    forecast), and the band is linearly interpolated back to every ``x``
    (``pooled=True`` in the result).  This keeps the cost bounded; the
    binomial variance is never smaller than the exact Poisson-binomial one,
    so the pooled band errs on the wide side.

    Parameters
    ----------
    p : array_like, shape (N,)
        Forecast probabilities in [0, 1].
    y : array_like, shape (N,)
        Outcomes, 0 or 1 (validated; the band itself depends only on ``p``).
    level : float
        Pointwise coverage, default 0.9.
    n_resamples : int
        Number of resamples, default 1000.
    seed : int, numpy Generator or None
        Random seed for reproducible bands.
    max_points : int
        Largest number of distinct forecast values resampled exactly.

    Returns
    -------
    BandResult

    References
    ----------
    Dimitriadis, T., Gneiting, T. & Jordan, A. I. (2021). Stable reliability
    diagrams for probabilistic classifiers. PNAS 118(8), e2016191118
    (consistency bands, section "Uncertainty quantification").
    Bröcker, J. & Smith, L. A. (2007). Increasing the reliability of
    reliability diagrams. Weather and Forecasting 22(3), 651-661.
    """
    lv = check_level(level)
    reps = check_resamples(n_resamples)
    maxp = check_resamples(max_points)
    pa, ya = _sample(p, y)
    x, count, _ = _pool(pa, ya)
    rng = np.random.default_rng(seed)
    pooled = x.size > maxp
    if pooled:
        cum = np.cumsum(count)
        gid = np.minimum(((cum - count) * maxp) // int(cum[-1]), maxp - 1)
        gcount = np.bincount(gid, weights=count)
        keep = gcount > 0
        gcount = gcount[keep]
        gx = np.bincount(gid, weights=count * x)[keep] / gcount
        gn = gcount.astype(np.int64)
    else:
        gx = x
        gn = count
    draws = rng.binomial(gn, gx, size=(reps, gx.size))
    freq = draws / gn
    cep = np.empty((gx.size, reps))
    for r in range(reps):
        cep[:, r] = _pav(freq[r], gn)
    lo_q, hi_q = (1.0 - lv) / 2.0, (1.0 + lv) / 2.0
    lower, upper = np.quantile(cep, [lo_q, hi_q], axis=1)
    if pooled:
        lower = np.interp(x, gx, lower)
        upper = np.interp(x, gx, upper)
    return BandResult(
        x=x,
        lower=np.asarray(lower),
        upper=np.asarray(upper),
        level=lv,
        n_resamples=reps,
        pooled=bool(pooled),
    )


# ------------------------------------------------------------ tests and intervals


def spiegelhalter(p: ArrayLike, y: ArrayLike) -> tuple[float, float]:
    r"""Spiegelhalter's z test of calibration, two-sided.

    .. math::

        Z = \frac{\sum_i (y_i - p_i)(1 - 2p_i)}
                 {\sqrt{\sum_i (1 - 2p_i)^2 \, p_i (1 - p_i)}},
        \qquad \text{p-value} = 2\,(1 - \Phi(|Z|)).

    Under calibration Z is approximately standard normal.  When the
    denominator is 0 (every forecast is 0, 0.5 or 1): if the numerator is 0 as
    well the test has no information and ``(nan, nan)`` is returned; otherwise
    a forecast of certainty was wrong and ``(±inf, 0.0)`` is returned.

    Parameters
    ----------
    p : array_like, shape (N,)
        Forecast probabilities in [0, 1].
    y : array_like, shape (N,)
        Outcomes, 0 or 1.

    Returns
    -------
    (z, pvalue) : tuple of float

    References
    ----------
    Spiegelhalter, D. J. (1986). Probabilistic prediction in patient management
    and clinical trials. Statistics in Medicine 5(5), 421-433.
    """
    pa, ya = _sample(p, y)
    w = 1.0 - 2.0 * pa
    num = float(np.dot(ya - pa, w))
    var = float(np.dot(w * w, pa * (1.0 - pa)))
    if var == 0.0:
        if num == 0.0:
            return float("nan"), float("nan")
        return (float("inf") if num > 0 else float("-inf")), 0.0
    z = num / np.sqrt(var)
    return float(z), float(2.0 * ndtr(-abs(z)))


def wilson_interval(
    k: ArrayLike, n: ArrayLike, level: float = 0.9
) -> tuple[FloatArray, FloatArray]:
    r"""Wilson score interval for a binomial proportion (vectorised).

    .. math::

        \frac{k + z^2/2}{n + z^2} \pm \frac{z}{n + z^2}
        \sqrt{\frac{k (n - k)}{n} + \frac{z^2}{4}},
        \qquad z = \Phi^{-1}\!\left(\tfrac{1 + \mathrm{level}}{2}\right).

    With ``n = 0`` the interval is the uninformative ``(0, 1)``.

    Parameters
    ----------
    k : array_like of int
        Successes, ``0 <= k <= n``.
    n : array_like of int
        Trials, ``n >= 0``; broadcast against ``k``.
    level : float
        Confidence level, default 0.9.

    Returns
    -------
    (lo, hi) : tuple of ndarray

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. JASA 22(158), 209-212.
    """
    lv = check_level(level)
    ka = as_int(k, "k").astype(np.float64)
    na = as_int(n, "n").astype(np.float64)
    ka, na = broadcast(("k", ka), ("n", na))
    if (ka > na).any():
        raise ScoringInputError("k must not exceed n")
    z = float(ndtri((1.0 + lv) / 2.0))
    z2 = z * z
    safe_n = np.where(na > 0, na, 1.0)
    denom = na + z2
    center = (ka + z2 / 2.0) / denom
    half = z / denom * np.sqrt(ka * (na - ka) / safe_n + z2 / 4.0)
    lo = np.where(na > 0, np.clip(center - half, 0.0, 1.0), 0.0)
    hi = np.where(na > 0, np.clip(center + half, 0.0, 1.0), 1.0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
