"""Proper scores of binary (yes/no) forecasts: Brier, log (ignorance) and spherical.

A forecast is a probability ``p`` in [0, 1] that the event happens; the outcome
``y`` is 1 if it happened and 0 otherwise.  Every score here is negatively
oriented (lower is better) except :func:`spherical`.  The log score of a
forecast of 0 (or 1) for an event that did (did not) happen is ``+inf``: it is
returned as such, never clipped, and computed without numpy RuntimeWarnings.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import FloatArray, prob_pair

__all__ = ["brier", "log_score", "spherical"]


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
    pa, ya = prob_pair(p, y)
    d = pa - ya
    return np.asarray(d * d, dtype=np.float64)


def log_score(p: ArrayLike, y: ArrayLike, *, base: float | None = None) -> FloatArray:
    r"""Logarithmic score (ignorance) of binary probability forecasts.

    .. math:: \mathrm{LS}(p, y) = -\log p \ \text{if}\ y = 1, \quad -\log(1 - p) \ \text{if}\ y = 0

    A forecast of exactly 0 (1) for an event that happened (did not) scores
    ``+inf``; this is reported as is, never clipped, and without warnings.

    Parameters
    ----------
    p, y : array_like
        Forecasts and outcomes, as in :func:`brier`.
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
    pa, ya = prob_pair(p, y)
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
    p, y : array_like
        Forecast probabilities in [0, 1] and outcomes (0 or 1), broadcast
        together.

    Returns
    -------
    ndarray
        Score per forecast, in [0, 1]; **higher is better**.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.
    """
    pa, ya = prob_pair(p, y)
    q = np.where(ya == 1.0, pa, 1.0 - pa)
    return np.asarray(q / np.sqrt(pa * pa + (1.0 - pa) * (1.0 - pa)), dtype=np.float64)
