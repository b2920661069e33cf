"""Calibration tests of binary forecasts (Spiegelhalter's z) and binomial intervals (Wilson,
quantiles).

Conventions as in :mod:`.binary`: forecasts ``p`` in [0, 1], outcomes 0/1.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    as_int,
    broadcast,
    check_level,
    prob_sample,
)

__all__ = ["binomial_quantile", "spiegelhalter", "wilson_interval"]


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
    p, y : array_like, shape (N,)
        Forecasts (probabilities in [0, 1]) and outcomes (0 or 1) of the
        same N questions.

    Returns
    -------
    (z, pvalue) : tuple of float

    References
    ----------
    Spiegelhalter, D. J. (1986). Probabilistic prediction in patient management
    and clinical trials. Statistics in Medicine 5(5), 421-433.
    """
    pa, ya = prob_sample(p, y)
    w = 1.0 - 2.0 * pa
    num = float(np.dot(ya - pa, w))
    var = float(np.dot(w * w, pa * (1.0 - pa)))
    if var == 0.0:
        if num == 0.0:
            return float("nan"), float("nan")
        return (float("inf") if num > 0 else float("-inf")), 0.0
    from scipy.special import ndtr

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
    from scipy.special import ndtri

    z = float(ndtri((1.0 + lv) / 2.0))
    z2 = z * z
    safe_n = np.where(na > 0, na, 1.0)
    denom = na + z2
    center = (ka + z2 / 2.0) / denom
    half = z / denom * np.sqrt(ka * (na - ka) / safe_n + z2 / 4.0)
    lo = np.where(na > 0, np.clip(center - half, 0.0, 1.0), 0.0)
    hi = np.where(na > 0, np.clip(center + half, 0.0, 1.0), 1.0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def binomial_quantile(q: float, n: int, p: float) -> int:
    r"""The q-quantile of Binomial(n, p), as ``scipy.stats.binom.ppf`` gives it.

    .. math:: Q(q) = \min\{k \in \{0, \dots, n\} : P(X \le k) \ge q\}

    with the CDF from ``scipy.special.bdtr``, searched within ten standard
    deviations of the mean (the whole support if the answer is not there).
    Where ``P(X <= k)`` equals ``q`` exactly (``q = 0.5`` for ``n = 7,
    p = 0.5``) the rounding of the CDF decides between ``k`` and ``k + 1``;
    SciPy's root finding may decide otherwise.
    Computed here because importing ``scipy.stats`` took 0.4-0.7 s of a
    report that needs only this from it.

    Parameters
    ----------
    q : float
        Probability in (0, 1).
    n : int
        Trials, >= 0.
    p : float
        Success probability in [0, 1].

    Returns
    -------
    int

    References
    ----------
    Johnson, N. L., Kemp, A. W. & Kotz, S. (2005). Univariate Discrete
    Distributions, 3rd ed. Wiley, chapter 3.
    """
    from scipy import special

    if not 0.0 < q < 1.0 or not 0.0 <= p <= 1.0 or n < 0:
        raise ScoringInputError(
            f"binomial_quantile needs 0 < q < 1, 0 <= p <= 1, n >= 0; got {q}, {p}, {n}"
        )
    mean, sd = n * p, math.sqrt(n * p * (1.0 - p))
    lo, hi = max(0, int(mean - 10 * sd) - 5), min(n, int(mean + 10 * sd) + 5)
    k = np.arange(lo, hi + 1)
    reached = special.bdtr(k, n, p) >= q
    if not reached.any() or (lo > 0 and reached[0]):
        k = np.arange(n + 1)
        reached = special.bdtr(k, n, p) >= q
    return int(k[np.argmax(reached)])
