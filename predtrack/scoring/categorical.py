"""Scores for categorical forecasts: a probability vector over K categories.

``probs`` has shape ``(n, K)`` (or ``(K,)`` for a single forecast) with rows
summing to 1 (within 1e-6); ``idx`` gives the index of the category that
occurred, shape ``(n,)`` (or a scalar).  All scores are negatively oriented.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import FloatArray, IntArray, as_int, as_prob

__all__ = ["brier_multi", "log_multi", "rps"]

_SUM_TOL = 1e-6


def _check(probs: ArrayLike, idx: ArrayLike) -> tuple[FloatArray, IntArray]:
    pa = as_prob(probs, "probs")
    if pa.ndim == 0:
        raise ScoringInputError("probs must have a last axis over the categories")
    k = pa.shape[-1]
    if k < 2:
        raise ScoringInputError(f"a categorical forecast needs at least 2 categories; got {k}")
    sums = pa.sum(axis=-1)
    bad = np.abs(sums - 1.0) > _SUM_TOL
    if bad.any():
        first = np.argwhere(np.atleast_1d(bad))[0]
        where = "" if pa.ndim == 1 else f" (row {int(first[0])})"
        raise ScoringInputError(
            f"category probabilities must sum to 1; got {float(np.atleast_1d(sums)[tuple(first)])!r}{where}"
        )
    ia = as_int(idx, "idx")
    if ia.shape != pa.shape[:-1]:
        raise ScoringInputError(f"idx has shape {ia.shape} but probs has {pa.shape[:-1]} forecasts")
    if ia.size and (ia.min() < 0 or ia.max() >= k):
        raise ScoringInputError(f"idx must be a category index in 0..{k - 1}")
    return pa, ia


def _onehot(pa: FloatArray, ia: IntArray) -> FloatArray:
    k = pa.shape[-1]
    return np.asarray(ia[..., None] == np.arange(k), dtype=np.float64)


def brier_multi(probs: ArrayLike, idx: ArrayLike) -> FloatArray:
    r"""Multi-category Brier score.

    .. math:: \mathrm{BS}(p, i) = \sum_{k=1}^K (p_k - \mathbb 1\{k = i\})^2 \in [0, 2]

    Parameters
    ----------
    probs : array_like, shape (n, K) or (K,)
        Category probabilities, rows summing to 1.
    idx : array_like of int, shape (n,) or scalar
        Index of the observed category.

    Returns
    -------
    ndarray, shape (n,) or ()

    References
    ----------
    Brier, G. W. (1950). Monthly Weather Review 78(1), 1-3 (original
    multi-category form).
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.
    """
    pa, ia = _check(probs, idx)
    d = pa - _onehot(pa, ia)
    return np.asarray(np.sum(d * d, axis=-1))


def log_multi(probs: ArrayLike, idx: ArrayLike) -> FloatArray:
    r"""Multi-category log score :math:`-\log p_i` (nats); ``inf`` when p_i = 0.

    Parameters
    ----------
    probs, idx
        As in :func:`brier_multi`.

    Returns
    -------
    ndarray, shape (n,) or ()

    References
    ----------
    Good, I. J. (1952). Rational decisions. JRSS B 14(1), 107-114.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 3.
    """
    pa, ia = _check(probs, idx)
    pi = np.take_along_axis(pa, ia[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore"):
        return np.asarray(0.0 - np.log(pi))


def rps(probs: ArrayLike, idx: ArrayLike, *, normalize: bool = False) -> FloatArray:
    r"""Ranked probability score for ordered categories.

    .. math::

        \mathrm{RPS}(p, i) = \sum_{k=1}^{K-1} \left(P_k - \mathbb 1\{i \le k\}\right)^2,
        \qquad P_k = \sum_{j \le k} p_j,

    with categories numbered 1..K in their declared order.  Convention: **not
    normalised** by default (range [0, K - 1]), as in Wilks (2011) and the
    scoringRules/scoringrules packages; it then equals the CRPS of the
    forecast for an outcome coded on the integer scale 0..K-1, consistent with
    the count scores in :mod:`predtrack.scoring.distributions`.
    ``normalize=True`` divides by K - 1 (range [0, 1]): the negatively
    oriented unit-range form of Epstein's (1969) score given by Murphy (1971).

    Parameters
    ----------
    probs : array_like, shape (n, K) or (K,)
        Category probabilities in category order, rows summing to 1.
    idx : array_like of int, shape (n,) or scalar
        Index of the observed category.
    normalize : bool
        Divide by K - 1.

    Returns
    -------
    ndarray, shape (n,) or ()

    References
    ----------
    Epstein, E. S. (1969). A scoring system for probability forecasts of
    ranked categories. J. Appl. Meteor. 8, 985-987.
    Murphy, A. H. (1971). A note on the ranked probability score. J. Appl.
    Meteor. 10, 155-156.
    Wilks, D. S. (2011). Statistical Methods in the Atmospheric Sciences, 3rd
    ed., Academic Press (ranked probability score).
    """
    pa, ia = _check(probs, idx)
    k = pa.shape[-1]
    cum = np.cumsum(pa, axis=-1)[..., :-1]
    obs = (ia[..., None] <= np.arange(k - 1)).astype(np.float64)
    d = cum - obs
    out = np.sum(d * d, axis=-1)
    if normalize:
        out = out / (k - 1)
    return np.asarray(out)
