"""Forecasts of a count k of n: beta-binomial and binomial log scores and CRPS over counts.

A Beta(a, b) forecast of a success fraction, scored on an outcome of k
successes in n trials, predicts k through the beta-binomial; a point forecast
p predicts it through the binomial.  Both are scored by the log score of the
predicted probability of k and by the CRPS of the integer-valued predictive
(the ranked probability score of its pmf over 0..n).  Every score is
negatively oriented (lower is better).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import FloatArray, as_float, as_int, as_positive, broadcast

__all__ = [
    "betabinom_log_score",
    "binom_log_score",
    "rps_counts_betabinom",
    "rps_counts_binom",
]


def _beta_params(a: ArrayLike, b: ArrayLike) -> tuple[FloatArray, ...]:
    return as_positive(a, "a"), as_positive(b, "b")


def _binom_param(p: ArrayLike) -> tuple[FloatArray, ...]:
    pa = as_float(p, "p")
    if pa.size and (pa.min() < 0 or pa.max() > 1):
        raise ScoringInputError("p must be a probability in [0, 1]")
    return (pa,)


def _with_counts(
    params: tuple[FloatArray, ...], names: str, k: ArrayLike, n: ArrayLike
) -> list[FloatArray]:
    """Parameters, k and n broadcast together, with whole 0 <= k <= n (as floats)."""
    ka = as_int(k, "k").astype(np.float64)
    na = as_int(n, "n").astype(np.float64)
    arrays = broadcast(*zip(names, params, strict=True), ("k", ka), ("n", na))
    if (arrays[-2] > arrays[-1]).any():
        raise ScoringInputError("k must not exceed n")
    return arrays


def _log_choose(n: FloatArray, k: FloatArray) -> FloatArray:
    from scipy.special import gammaln

    return np.asarray(gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0))


def _lp_betabinom(a: FloatArray, b: FloatArray, j: FloatArray, n: FloatArray) -> FloatArray:
    """log P(j | n) of the beta-binomial."""
    from scipy.special import betaln

    return np.asarray(_log_choose(n, j) + betaln(j + a, n - j + b) - betaln(a, b))


def _lp_binom(p: FloatArray, j: FloatArray, n: FloatArray) -> FloatArray:
    """log P(j | n) of the binomial, with 0 log 0 = 0."""
    from scipy.special import xlog1py, xlogy

    return np.asarray(_log_choose(n, j) + xlogy(j, p) + xlog1py(n - j, -p))


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
        -ln P(k | n) in nats, finite for every 0 <= k <= n.

    References
    ----------
    Skellam, J. G. (1948). A probability distribution derived from the
    binomial distribution by regarding the probability of success as variable
    between the sets of trials. JRSS B 10(2), 257-261.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    aa, bb, ka, na = _with_counts(_beta_params(a, b), "ab", k, n)
    return np.asarray(-_lp_betabinom(aa, bb, ka, na))


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
        -ln P(k | n) in nats; ``inf`` where P(k | n) = 0.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    pa, ka, na = _with_counts(_binom_param(p), "p", k, n)
    return np.asarray(-_lp_binom(pa, ka, na))


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


def rps_counts_betabinom(a: ArrayLike, b: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""CRPS over counts (the RPS of the pmf) of a beta-binomial predictive.

    .. math:: \mathrm{CRPS}(F, k) = \sum_{j=0}^{n-1} \left(F(j) - \mathbb 1\{j \ge k\}\right)^2,

    the CRPS of the integer-valued predictive (its CDF is a step function),
    in units of counts, not normalised.

    Parameters
    ----------
    a, b, k, n
        The beta forecast and the outcome k of n, as in :func:`betabinom_log_score`.

    Returns
    -------
    ndarray
        CRPS in counts (0 to n); lower is better.

    References
    ----------
    Epstein, E. S. (1969). A scoring system for probability forecasts of
    ranked categories. J. Appl. Meteor. 8, 985-987.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    aa, bb, ka, na = _with_counts(_beta_params(a, b), "ab", k, n)
    return _rps_grid(_lp_betabinom, (aa, bb), ka, na)


def rps_counts_binom(p: ArrayLike, k: ArrayLike, n: ArrayLike) -> FloatArray:
    r"""CRPS over counts (the RPS of the pmf) of a Binomial(n, p) predictive.

    .. math:: \mathrm{CRPS}(F, k) = \sum_{j=0}^{n-1} \left(F(j) - \mathbb 1\{j \ge k\}\right)^2

    Parameters
    ----------
    p, k, n
        The probability and the outcome k of n, as in :func:`binom_log_score`.

    Returns
    -------
    ndarray
        CRPS in counts, as for :func:`rps_counts_betabinom`.

    References
    ----------
    Epstein, E. S. (1969). J. Appl. Meteor. 8, 985-987.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    pa, ka, na = _with_counts(_binom_param(p), "p", k, n)
    return _rps_grid(_lp_binom, (pa,), ka, na)
