r"""A per-question scale for the CRPS, so that CRPS / scale can be averaged across units.

The CRPS carries the unit of its question (iterations, seconds, a fraction),
so a mean over questions is decided by the question with the largest unit.
Dividing each question's CRPS by one number in that question's unit, fixed
before the outcome and shared by every forecaster on the question, makes the
average unit-free without changing any ranking within a question.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import BoundsLike, FloatArray
from predtrack.scoring.distributions import spec_quantiles

__all__ = ["crps_scale", "crps_scales"]

#: The central interval whose width sets the scale of a question without bounds.
SCALE_LEVELS = (0.05, 0.95)


def _bounds_width(bounds: BoundsLike, where: str) -> float | None:
    """``hi - lo`` when both ends are finite numbers, else None (validated: lo < hi)."""
    if bounds is None:
        return None
    try:
        lo_raw, hi_raw = bounds
        lo = -math.inf if lo_raw is None else float(lo_raw)
        hi = math.inf if hi_raw is None else float(hi_raw)
    except (TypeError, ValueError):
        raise ScoringInputError(f"{where} must be a pair (lo, hi); got {bounds!r}") from None
    if math.isnan(lo) or math.isnan(hi) or lo >= hi:
        raise ScoringInputError(f"{where} must satisfy lo < hi; got {bounds!r}")
    if math.isinf(lo) or math.isinf(hi):
        return None
    return hi - lo


def crps_scales(
    groups: Sequence[Sequence[Mapping[str, Any]]], bounds: Sequence[BoundsLike]
) -> FloatArray:
    r"""The CRPS scale of many questions at once (see :func:`crps_scale`).

    Parameters
    ----------
    groups : sequence of sequences of mappings
        Per question, the distribution specs of all its scored forecasts
        (every forecaster's, as accepted by :func:`~predtrack.scoring.from_spec`).
    bounds : sequence of (lo, hi) or None
        Per question, its bounds (``(0, 1)`` for a fraction); either end may
        be None.

    Returns
    -------
    ndarray, shape (len(groups),)
        The scale of each question, finite and > 0, in the question's unit.

    References
    ----------
    As in :func:`crps_scale`.
    """
    if len(groups) != len(bounds):
        raise ScoringInputError(
            f"bounds has {len(bounds)} entries but there are {len(groups)} questions"
        )
    return _scales(groups, bounds, lambda i: f"question {i}: ", lambda i: f"bounds[{i}]")


def _scales(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    bounds: Sequence[BoundsLike],
    question: Callable[[int], str],
    bound: Callable[[int], str],
) -> FloatArray:
    """The scales, with error messages that name question ``i`` and its bounds as given."""
    out = np.empty(len(groups))
    pending: list[int] = []
    for i, (group, b) in enumerate(zip(groups, bounds, strict=True)):
        width = _bounds_width(b, bound(i))
        if width is not None:
            out[i] = width
        elif len(group) == 0:
            raise ScoringInputError(f"{question(i)}no bounds and no forecasts, so no CRPS scale")
        else:
            pending.append(i)
    if pending:
        flat = [spec for i in pending for spec in groups[i]]
        flat_bounds = [bounds[i] for i in pending for _ in groups[i]]
        q = spec_quantiles(flat, flat_bounds, SCALE_LEVELS)
        with np.errstate(invalid="ignore"):  # inf - inf: refused below
            widths = q[:, 1] - q[:, 0]
        sizes = np.array([len(groups[i]) for i in pending])
        owner = np.repeat(np.arange(sizes.size), sizes)
        # sort the widths within each question, then take its middle one (or two)
        widths = widths[np.lexsort((widths, owner))]
        start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        med = 0.5 * (widths[start + (sizes - 1) // 2] + widths[start + sizes // 2])
        out[pending] = med
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ScoringInputError(
            f"{question(i)}the forecasts give no finite positive CRPS scale ({out[i]!r})"
        )
    return out


def crps_scale(specs: Sequence[Mapping[str, Any]], bounds: BoundsLike = None) -> float:
    r"""The scale by which a question's CRPS is divided to compare it across units.

    .. math::

        s_q = \begin{cases}
            u_q - l_q & \text{if the question has finite bounds } [l_q, u_q], \\
            \operatorname{median}_i \left(F_i^{-1}(0.95) - F_i^{-1}(0.05)\right)
                & \text{otherwise,}
        \end{cases}
        \qquad \widetilde{\mathrm{CRPS}}_{iq} = \mathrm{CRPS}(F_i, x_q) / s_q,

    where :math:`F_i` runs over the question's forecasts (all forecasters);
    a fraction's bounds are [0, 1], so its scale is 1.  Why this scale:

    * It is in the question's unit and scales with it.  The CRPS is
      homogeneous of degree one, :math:`\mathrm{CRPS}(F(\cdot/c), c\,x) =
      c\,\mathrm{CRPS}(F, x)` for :math:`c > 0`, and so are the bounds' width
      and every quantile; so the ratio is unchanged when a question's unit is
      rescaled, and a mean of ratios over questions no longer depends on
      which question has the largest unit.
    * It is fixed before the outcome: it depends on the bounds, or on the
      forecasts, never on the value observed, so dividing by it does not
      reward or punish any outcome.
    * It is one number per question, shared by every forecaster, so within a
      question the order of forecasters and the sign of every paired
      difference are unchanged.
    * The bounds' width is preferred when the question has both bounds: it
      is set when the question is written and does not move when a forecaster
      is added.  Without bounds, the median width of the forecasts' central
      90% intervals is the spread the forecasters themselves stated: the
      median so that one very wide or very narrow forecast cannot set it, and
      a 90% interval rather than a standard deviation because it exists for
      every family (quantile sets with linear tails included) and is not
      dominated by heavy tails.  The price: without bounds a question where
      everyone is confident gets a small scale, so its errors weigh more (its
      score is an error relative to the precision the forecasters claimed),
      and adding a forecaster to such a question can change its scale.

    Parameters
    ----------
    specs : sequence of mappings
        The distribution specs of every scored forecast on the question.
    bounds : (lo, hi) or None
        The question's bounds (``(0, 1)`` for a fraction); either end may be
        None.  With one end only, the forecasts set the scale (and the bound
        shapes quantile-set tails).

    Returns
    -------
    float
        The scale, finite and > 0, in the question's unit.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules,
    prediction, and estimation. JASA 102(477), 359-378, section 4.2 (the
    CRPS, in the unit of the observation).
    Bolin, D. & Wallin, J. (2023). Local scale invariance and robustness of
    proper scoring rules. Statistical Science 38(1), 140-159 (averages of
    CRPS are dominated by the observations on the largest scale).
    """
    return float(_scales([specs], [bounds], lambda _: "", lambda _: "bounds")[0])
