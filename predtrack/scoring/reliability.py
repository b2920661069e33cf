"""CORP reliability of binary forecasts: the PAV recalibration, its score decomposition and band.

CORP (consistent, optimally binned, reproducible) recalibrates forecasts by
isotonic regression of the outcomes on the forecast values.  Tied forecast
values are pooled before the PAV fit, so every result here is independent of
the order of the inputs.  One fit serves every proper score: :func:`corp_pair`
decomposes the Brier and the log score from the same recalibration.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    IntArray,
    SeedLike,
    check_level,
    check_resamples,
    prob_sample,
)

__all__ = ["BandResult", "CorpResult", "corp", "corp_band", "corp_pair"]

SCORES = ("brier", "log")


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
    """Distinct forecast values, their counts and event counts (ties pooled).

    Non-negative doubles order as their bit patterns do as integers, so one
    integer sort of ``bits(p) * 2 + y`` orders the forecasts and carries each
    outcome along: cheaper than ``np.unique`` with an inverse index and a
    weighted ``bincount``.  (``p + 0.0`` turns a -0.0 into 0.0.)
    """
    key = np.add(p, 0.0).view(np.int64) << 1
    key |= y.astype(np.int64)
    key.sort()
    bits = key >> 1
    new = np.empty(key.size, dtype=np.bool_)
    new[0] = True
    np.not_equal(bits[1:], bits[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    count = np.diff(np.append(starts, key.size)).astype(np.int64)
    events = np.add.reduceat(key & 1, starts).astype(np.float64)
    return bits[starts].view(np.float64), count, events


# One fit of up to this many pooled values runs in Python unless scipy.optimize is already
# loaded: Python's fit of 200,000 takes 0.05-0.13 s (values already increasing are the
# dearest case) and importing scipy.optimize 0.16-0.19 s, measured on this project's 2-core
# machine. A band fits its 1,000 resamples in one call, and a report draws one per
# forecaster: a band of 99,000 values took 0.06-0.09 s in Python and 0.0016 s in SciPy, so
# past BAND_PAV_MAX values SciPy's fit is the cheaper, its import included.
PY_PAV_MAX = 200_000
BAND_PAV_MAX = 2048


def _pav(freq: FloatArray, count: IntArray | FloatArray, limit: int = PY_PAV_MAX) -> FloatArray:
    if freq.size <= limit and "scipy.optimize" not in sys.modules:
        return pav_small(freq.tolist(), [float(c) for c in count.tolist()])
    from scipy.optimize import isotonic_regression

    return np.asarray(isotonic_regression(freq, weights=count, increasing=True).x)


def pav_small(x: list[float], w: list[float]) -> FloatArray:
    r"""Weighted isotonic (increasing) regression by pool adjacent violators, in Python.

    Busing's O(n) algorithm with the arithmetic of
    ``scipy.optimize.isotonic_regression`` (block sums :math:`S = \sum w_i x_i`, value
    :math:`S / \sum w_i`, a block pooled when its neighbour is greater or equal), so the fits
    are the same floats; ``x`` and ``w`` are overwritten.

    Parameters
    ----------
    x : list of float
        Values in the order of the covariate.
    w : list of float
        Positive weights.

    Returns
    -------
    ndarray
        The fitted non-decreasing values, one per input.

    References
    ----------
    Busing, F. M. T. A. (2022). Monotone regression: a simple and fast O(n) PAVA
    implementation. Journal of Statistical Software, Code Snippets 102(1), 1-25.
    """
    n = len(x)
    out = np.empty(n)
    if n == 0:
        return out
    starts = [0] * (n + 1)  # starts[k]: the first value of block k
    b = 0  # the current block
    last_x, last_w = x[0], w[0]
    starts[1] = 1
    i = 1
    while i < n:
        b += 1
        xb, wb = x[i], w[i]
        if last_x >= xb:  # pool with the block before
            b -= 1
            sb = last_w * last_x + wb * xb
            wb += last_w
            xb = sb / wb
            while i < n - 1 and xb >= x[i + 1]:  # and with the values after it that are lower
                i += 1
                sb += w[i] * x[i]
                wb += w[i]
                xb = sb / wb
            while b > 0 and x[b - 1] >= xb:  # and with earlier blocks it now undercuts
                b -= 1
                sb += w[b] * x[b]
                wb += w[b]
                xb = sb / wb
        x[b] = last_x = xb
        w[b] = last_w = wb
        starts[b + 1] = i + 1
        i += 1
    for k in range(b + 1):
        out[starts[k] : starts[k + 1]] = x[k]
    return out


def _group_totals(
    f: FloatArray, count: IntArray | FloatArray, events: FloatArray, score: str
) -> FloatArray:
    """Total score per distinct value when ``count`` forecasts equal ``f`` and
    ``events`` of them verify; 0 * log 0 is taken as 0."""
    nonevents = count - events
    if score == "brier":
        return np.asarray(events * (1.0 - f) ** 2 + nonevents * f * f)
    from scipy.special import xlog1py, xlogy

    return np.asarray(-(xlogy(events, f) + xlog1py(nonevents, -f)))


@dataclass(frozen=True, eq=False)
class _Fit:
    """The pooled forecasts and their PAV recalibration, shared by every score."""

    x: FloatArray
    count: IntArray
    events: FloatArray
    cep: FloatArray
    n: int

    @classmethod
    def of(cls, p: ArrayLike, y: ArrayLike) -> _Fit:
        pa, ya = prob_sample(p, y)
        x, count, events = _pool(pa, ya)
        return cls(x, count, events, _pav(events / count, count), pa.size)

    def decompose(self, score: str) -> CorpResult:
        """Score, MCB, DSC and UNC of one proper score on this recalibration."""
        from scipy.special import xlog1py, xlogy

        x, count, events, nobs = self.x, self.count, self.events, self.n
        totals = _group_totals(x, count, events, score)
        s_orig = float(totals.sum()) / nobs
        s_rc = float(_group_totals(self.cep, count, events, score).sum()) / nobs
        base = float(events.sum()) / nobs
        if score == "brier":
            unc = base * (1.0 - base)
            n_inf = 0
        else:
            unc = float(-(xlogy(base, base) + xlog1py(1.0 - base, -base)))
            inf = np.isinf(totals)
            wrong = np.where(x[inf] == 0.0, events[inf], count[inf] - events[inf])
            n_inf = int(np.sum(wrong))
        return CorpResult(
            score=s_orig,
            mcb=s_orig - s_rc,
            dsc=unc - s_rc,
            unc=unc,
            x=x,
            count=count,
            events=events,
            cep=self.cep,
            n=nobs,
            n_inf=n_inf,
            score_name=score,
        )


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
        Forecast probabilities in [0, 1], one per question.
    y : array_like, shape (N,)
        The questions' outcomes, 0 or 1.
    score : {"brier", "log"}
        The proper scoring rule to decompose (log score in nats).

    Returns
    -------
    CorpResult
        The four terms, and the reliability curve ``(x, cep)`` with its counts.

    References
    ----------
    Dimitriadis, T., Gneiting, T. & Jordan, A. I. (2021). Stable reliability
    diagrams for probabilistic classifiers. PNAS 118(8), e2016191118.
    Ayer, M. et al. (1955). An empirical distribution function for sampling
    with incomplete information. Ann. Math. Statist. 26(4), 641-647 (PAV).
    """
    if score not in SCORES:
        raise ScoringInputError(f"score must be 'brier' or 'log'; got {score!r}")
    return _Fit.of(p, y).decompose(score)


def corp_pair(p: ArrayLike, y: ArrayLike) -> tuple[CorpResult, CorpResult]:
    r"""CORP decompositions of the Brier and the log score from one PAV fit.

    The isotonic recalibration does not depend on the proper score (PAV is
    optimal for all of them at once), so both decompositions share one
    pooling and one fit; each result equals ``corp(p, y, score=...)``.

    Parameters
    ----------
    p, y
        Forecasts and outcomes, as in :func:`corp`.

    Returns
    -------
    (brier, log) : tuple of CorpResult

    References
    ----------
    Dimitriadis, T., Gneiting, T. & Jordan, A. I. (2021). Stable reliability
    diagrams for probabilistic classifiers. PNAS 118(8), e2016191118.
    """
    fit = _Fit.of(p, y)
    return fit.decompose("brier"), fit.decompose("log")


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
        Lower and upper band limits at each distinct forecast value.

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
    pa, ya = prob_sample(p, y)
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
    # All resamples in one PAV call: resample r is lifted by 2r, above every value of the ones
    # before it, so no block pools across two of them (the fit of each is its own, to within
    # the rounding of the lift: 2e-13 at 1,000 resamples).
    lift = 2.0 * np.arange(reps)[:, None]
    fitted = _pav((draws / gn + lift).ravel(), np.tile(gn, reps), BAND_PAV_MAX)
    fitted = fitted.reshape(reps, gx.size) - lift
    lo_q, hi_q = (1.0 - lv) / 2.0, (1.0 + lv) / 2.0
    lower, upper = np.quantile(fitted.T, [lo_q, hi_q], axis=1)
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
