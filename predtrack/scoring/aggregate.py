"""Team (crowd) forecasts built from several forecasters' forecasts.

Axis 0 is always the forecasters.  Missing forecasts in a binary matrix are
NaN (the only place in the scoring core where NaN is accepted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import BoundsLike, FloatArray, as_float
from predtrack.scoring.distributions import spec_quantiles

__all__ = ["CLIP", "team_binary", "team_categorical", "team_quantiles", "team_quantiles_many"]

#: Probabilities are clipped to [CLIP, 1 - CLIP] before averaging log-odds,
#: only inside :func:`team_binary` (individual scores are never clipped).
CLIP = 1e-9

_DEFAULT_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def team_binary(p: ArrayLike | Sequence[ArrayLike], *, clip: float = CLIP) -> Any:
    r"""Team probability: inverse logit of the mean log-odds of the forecasters.

    .. math::

        \hat p = \operatorname{logit}^{-1}\Big(\frac1m \sum_{i=1}^m
        \operatorname{logit}(\tilde p_i)\Big), \qquad
        \tilde p_i = \min(\max(p_i, \epsilon), 1 - \epsilon),\ \epsilon = 10^{-9},

    i.e. the normalised geometric mean of the odds.  Convention for 0 and 1:
    without clipping one forecaster at 1 would force the team to 1 and two
    forecasters at 0 and 1 would make it undefined, so each probability is
    clipped to [1e-9, 1 - 1e-9] (log-odds ±20.7) for the aggregate only; a
    lone certain forecaster among m moves the team's log-odds by 20.7/m.

    Parameters
    ----------
    p : array_like, shape (m,) or (m, n), or a list of m arrays of shape (n,)
        Forecasts; rows are forecasters, columns questions.  NaN marks a
        missing forecast and is skipped; every question needs at least one.
    clip : float
        The clipping epsilon, default 1e-9.

    Returns
    -------
    float (for shape (m,)) or ndarray of shape (n,)

    References
    ----------
    Satopää, V. A., Baron, J., Foster, D. P., Mellers, B. A., Tetlock, P. E. &
    Ungar, L. H. (2014). Combining multiple probability predictions using a
    simple logit model. International Journal of Forecasting 30(2), 344-356.
    """
    try:
        pa = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ScoringInputError(
            "team_binary needs an (m, n) matrix or m arrays of equal length"
        ) from None
    if pa.ndim not in (1, 2) or pa.shape[0] == 0:
        raise ScoringInputError(f"p must have shape (m,) or (m, n) with m >= 1; got {pa.shape}")
    if np.isinf(pa).any():
        raise ScoringInputError("p contains infinity")
    present = ~np.isnan(pa)
    vals = np.where(present, pa, 0.5)
    if (vals < 0).any() or (vals > 1).any():
        raise ScoringInputError("p must be a probability in [0, 1]")
    count = present.sum(axis=0)
    if (count == 0).any():
        raise ScoringInputError("every question needs at least one forecast")
    eps = float(clip)
    if not (0.0 < eps < 0.5):
        raise ScoringInputError(f"clip must be in (0, 0.5); got {clip!r}")
    from scipy.special import expit

    c = np.clip(vals, eps, 1.0 - eps)
    lo = np.where(present, np.log(c) - np.log1p(-c), 0.0)
    out = expit(lo.sum(axis=0) / count)
    if out.ndim == 0:
        return float(out)
    return np.asarray(out, dtype=np.float64)


def team_categorical(probs: ArrayLike) -> FloatArray:
    r"""Team categorical forecast: per-category median, renormalised.

    .. math:: \hat p_k = \frac{\operatorname{med}_i p_{ik}}{\sum_j \operatorname{med}_i p_{ij}}

    If every category's median is 0 (possible with three or more forecasters
    who each put all mass on a different category) the per-category mean is
    used instead, which always sums to 1.

    Parameters
    ----------
    probs : array_like, shape (m, K) or (m, n, K)
        m forecasters' probability vectors (each summing to 1 within 1e-6).

    Returns
    -------
    ndarray, shape (K,) or (n, K)

    References
    ----------
    Hora, S. C., Fransen, B. R., Hawkins, N. & Susel, I. (2013). Median
    aggregation of distribution functions. Decision Analysis 10(4), 279-291.
    """
    pa = as_float(probs, "probs")
    if pa.ndim not in (2, 3) or pa.shape[0] == 0 or pa.shape[-1] < 2:
        raise ScoringInputError(f"probs must have shape (m, K) or (m, n, K); got {pa.shape}")
    if (pa < 0).any() or (pa > 1).any():
        raise ScoringInputError("probs must be probabilities in [0, 1]")
    if (np.abs(pa.sum(axis=-1) - 1.0) > 1e-6).any():
        raise ScoringInputError("each forecaster's category probabilities must sum to 1")
    med = np.median(pa, axis=0)
    tot = med.sum(axis=-1, keepdims=True)
    mean = pa.mean(axis=0)
    safe = np.where(tot > 0, tot, 1.0)
    return np.asarray(np.where(tot > 0, med / safe, mean))


def team_quantiles(
    specs: Sequence[Mapping[str, Any]],
    levels: Sequence[float] = _DEFAULT_LEVELS,
    bounds: BoundsLike = None,
) -> dict[str, Any]:
    r"""Team quantile forecast: the median of the forecasters' quantiles.

    Each forecaster's distribution (any family, via
    :func:`~predtrack.scoring.from_spec` with the question's
    ``bounds``) is evaluated at ``levels`` and the team value at each level
    is the median across forecasters (median Vincentization, which equals
    the median of the CDFs).  Medians of quantile functions are
    non-decreasing; if two levels get equal values (possible only where
    forecasters put point masses on a bound) only the highest level of the
    tie is kept, so the result stays a valid, strictly increasing quantile set.

    Parameters
    ----------
    specs : sequence of mappings
        The forecasters' distribution specs (at least one).
    levels : sequence of float
        Levels in (0, 1), strictly increasing (default 5, 10, 25, 50, 75, 90,
        95 %).
    bounds : (lo, hi) or None
        The question's bounds.

    Returns
    -------
    dict
        ``{"family": "quantiles", "levels": [...], "values": [...]}``.

    References
    ----------
    Hora, S. C., Fransen, B. R., Hawkins, N. & Susel, I. (2013). Median
    aggregation of distribution functions. Decision Analysis 10(4), 279-291.
    Vincent, S. B. (1912). The function of the vibrissae in the behavior of
    the white rat. Behavior Monographs 1(5) (quantile averaging).
    """
    if len(specs) == 0:
        raise ScoringInputError("team_quantiles needs at least one forecast")
    lv = as_float(levels, "levels")
    if lv.ndim != 1 or lv.size < 2:
        raise ScoringInputError("levels must be a list of at least 2 probabilities")
    if (lv <= 0).any() or (lv >= 1).any() or (np.diff(lv) <= 0).any():
        raise ScoringInputError("levels must be strictly increasing and strictly between 0 and 1")
    return _median_set(spec_quantiles(specs, [bounds] * len(specs), lv), lv)


def _median_set(q: FloatArray, lv: FloatArray) -> dict[str, Any]:
    return _quantile_set(np.median(q, axis=0), lv)


def _quantile_set(med: FloatArray, lv: FloatArray) -> dict[str, Any]:
    # within a run of equal values keep the highest level (right-continuous CDF)
    keep = np.append(med[:-1] < med[1:], True)
    if keep.sum() < 2:
        raise ScoringInputError("the team quantiles collapse to a single value")
    return {
        "family": "quantiles",
        "levels": [float(v) for v in lv[keep]],
        "values": [float(v) for v in med[keep]],
    }


def team_quantiles_many(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    bounds: Sequence[BoundsLike],
    levels: Sequence[float] = _DEFAULT_LEVELS,
) -> list[dict[str, Any]]:
    r"""Team quantile forecasts of many questions at once, as :func:`team_quantiles` each.

    The quantile functions of all specs are evaluated in one vectorised pass
    per family, then the median is taken per question and level.

    Parameters
    ----------
    groups : sequence of sequences of mappings
        Per question, the forecasters' distribution specs (at least one each).
    bounds : sequence of (lo, hi) or None
        Per question, its bounds.
    levels : sequence of float
        Levels in (0, 1), strictly increasing, as in :func:`team_quantiles`.

    Returns
    -------
    list of dict
        One quantile-set spec per question, in the order of ``groups``.

    References
    ----------
    Hora, S. C., Fransen, B. R., Hawkins, N. & Susel, I. (2013). Median
    aggregation of distribution functions. Decision Analysis 10(4), 279-291.
    """
    lv = as_float(levels, "levels")
    flat = [spec for group in groups for spec in group]
    flat_bounds = [b for group, b in zip(groups, bounds, strict=True) for _ in group]
    if not flat:
        return []
    if any(not group for group in groups):
        raise ScoringInputError("team_quantiles needs at least one forecast per question")
    q = spec_quantiles(flat, flat_bounds, lv)
    sizes = np.array([len(group) for group in groups])
    starts = np.cumsum(sizes) - sizes
    medians = np.empty((len(groups), lv.size))
    for k in np.unique(sizes).tolist():  # the medians of all groups of k forecasters at once
        chosen = np.flatnonzero(sizes == k)
        rows = starts[chosen][:, None] + np.arange(k)[None, :]
        medians[chosen] = np.median(q[rows], axis=1)
    return [_quantile_set(med, lv) for med in medians]
