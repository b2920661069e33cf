"""Input checks shared by the scoring modules.

Every check raises :class:`predtrack.errors.ScoringInputError` with a one-line
message that names the argument, the problem and (where useful) the first
offending position and value.  The checks are vectorised: on a million values
they cost about a millisecond each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from predtrack.errors import ScoringInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
#: A random seed, a numpy Generator, or None for fresh entropy.
SeedLike = int | np.random.Generator | None
#: A question's bounds as stored: ``(lo, hi)`` with either end None, or None.
BoundsLike = tuple[float | None, float | None] | None


def _where(mask: NDArray[np.bool_]) -> str:
    """Describe the first True position of ``mask`` ("" for 0-d arrays)."""
    if mask.ndim == 0:
        return ""
    first = np.argwhere(mask)[0]
    if first.size == 1:
        return f" at index {int(first[0])}"
    return " at index (" + ", ".join(str(int(i)) for i in first) + ")"


def _first(values: NDArray[Any], mask: NDArray[np.bool_]) -> Any:
    if mask.ndim == 0:
        return values[()]
    return values[tuple(np.argwhere(mask)[0])]


def as_float(x: ArrayLike, name: str, *, allow_inf: bool = False) -> FloatArray:
    """Convert ``x`` to a float64 array; refuse NaN (and infinity unless allowed)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ScoringInputError(f"{name} must be numeric ({exc})") from None
    if allow_inf:
        bad = np.isnan(arr)
        if bad.any():
            raise ScoringInputError(f"{name} contains NaN{_where(bad)}")
    elif not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        raise ScoringInputError(f"{name} contains NaN or infinity{_where(bad)}")
    return arr


def as_prob(p: ArrayLike, name: str = "p") -> FloatArray:
    """A finite float array with every value in [0, 1]."""
    arr = as_float(p, name)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        bad = (arr < 0.0) | (arr > 1.0)
        raise ScoringInputError(
            f"{name} must be a probability in [0, 1]; got {_first(arr, bad)!r}{_where(bad)}"
        )
    return arr


def as_binary(y: ArrayLike, name: str = "y") -> FloatArray:
    """Outcomes coded 0/1 (bool accepted), returned as float64."""
    raw = np.asarray(y)
    if raw.dtype == np.bool_:
        return raw.astype(np.float64)
    arr = as_float(raw, name)
    ok = (arr == 0.0) | (arr == 1.0)
    if not ok.all():
        bad = ~ok
        raise ScoringInputError(f"{name} must be 0 or 1; got {_first(arr, bad)!r}{_where(bad)}")
    return arr


def as_positive(x: ArrayLike, name: str) -> FloatArray:
    """A finite float array with every value > 0."""
    arr = as_float(x, name)
    if arr.size and arr.min() <= 0.0:
        bad = arr <= 0.0
        raise ScoringInputError(f"{name} must be > 0; got {_first(arr, bad)!r}{_where(bad)}")
    return arr


def as_int(x: ArrayLike, name: str, *, minimum: int | None = 0) -> IntArray:
    """Whole numbers (given as int or integral float) as int64, optionally >= minimum."""
    arr = as_float(x, name)
    if not (arr == np.round(arr)).all():
        bad = arr != np.round(arr)
        raise ScoringInputError(
            f"{name} must be a whole number; got {_first(arr, bad)!r}{_where(bad)}"
        )
    if minimum is not None and arr.size and arr.min() < minimum:
        bad = arr < minimum
        raise ScoringInputError(
            f"{name} must be >= {minimum}; got {_first(arr, bad)!r}{_where(bad)}"
        )
    return arr.astype(np.int64)


def same_shape(*pairs: tuple[str, NDArray[Any]]) -> None:
    """Require all arrays to have exactly the same shape."""
    (name0, a0), *rest = pairs
    for name, a in rest:
        if a.shape != a0.shape:
            raise ScoringInputError(
                f"{name0} and {name} have mismatched shapes {a0.shape} and {a.shape}"
            )


def broadcast(*pairs: tuple[str, NDArray[Any]]) -> list[NDArray[Any]]:
    """Broadcast arrays against each other, with a clear error when impossible."""
    try:
        return list(np.broadcast_arrays(*(a for _, a in pairs)))
    except ValueError:
        desc = ", ".join(f"{n} {a.shape}" for n, a in pairs)
        raise ScoringInputError(f"shapes do not broadcast together: {desc}") from None


def nonempty_1d(name: str, a: NDArray[Any]) -> None:
    """Require a non-empty one-dimensional array."""
    if a.ndim != 1:
        raise ScoringInputError(f"{name} must be one-dimensional; got shape {a.shape}")
    if a.size == 0:
        raise ScoringInputError(f"{name} is empty; this statistic needs at least one value")


def check_level(level: float, name: str = "level") -> float:
    """A central-interval or confidence level strictly between 0 and 1."""
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise ScoringInputError(f"{name} must be a number in (0, 1); got {level!r}") from None
    if not (0.0 < lv < 1.0):
        raise ScoringInputError(f"{name} must be in (0, 1); got {level!r}")
    return lv


def check_bins(bins: int) -> int:
    """A positive whole number of bins."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ScoringInputError(f"bins must be a positive integer; got {bins!r}")
    return int(bins)


def check_resamples(n_resamples: int) -> int:
    """A positive whole number of resamples."""
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, int | np.integer)
        or n_resamples < 1
    ):
        raise ScoringInputError(f"n_resamples must be a positive integer; got {n_resamples!r}")
    return int(n_resamples)


def check_levels_open(a: FloatArray, name: str) -> FloatArray:
    """Require every value strictly between 0 and 1 (quantile levels, alpha)."""
    if a.size and (a.min() <= 0.0 or a.max() >= 1.0):
        raise ScoringInputError(f"{name} must be strictly between 0 and 1")
    return a


def prob_pair(p: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Binary forecasts and outcomes, broadcast together."""
    pa = as_prob(p, "p")
    ya = as_binary(y, "y")
    pa, ya = broadcast(("p", pa), ("y", ya))
    return pa, ya


def prob_sample(p: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Non-empty 1-D samples of binary forecasts and outcomes of equal length."""
    pa = as_prob(p, "p")
    ya = as_binary(y, "y")
    nonempty_1d("p", pa)
    same_shape(("p", pa), ("y", ya))
    return pa, ya


def bounds_arrays(bounds: Any, batch: tuple[int, ...]) -> tuple[FloatArray, FloatArray]:
    """One ``(lo, hi)`` pair (ends None, floats or arrays) as arrays over ``batch``."""
    if bounds is None:
        return np.full(batch, -np.inf), np.full(batch, np.inf)
    try:
        lo_raw, hi_raw = bounds
    except (TypeError, ValueError):
        raise ScoringInputError(f"bounds must be a pair (lo, hi); got {bounds!r}") from None
    lo = as_float(-np.inf if lo_raw is None else lo_raw, "bounds[0]", allow_inf=True)
    hi = as_float(np.inf if hi_raw is None else hi_raw, "bounds[1]", allow_inf=True)
    try:
        lo = np.broadcast_to(lo, batch)
        hi = np.broadcast_to(hi, batch)
    except ValueError:
        raise ScoringInputError(f"bounds do not match the batch shape {batch}") from None
    if (lo >= hi).any():
        raise ScoringInputError("bounds must satisfy lo < hi")
    return lo, hi


def bounds_rows(bounds: Sequence[BoundsLike], idx: Sequence[int]) -> tuple[FloatArray, FloatArray]:
    """Per-row ``(lo, hi)`` arrays from ``bounds[i]`` for each ``i`` in ``idx``
    (None ends become -inf / +inf); errors name ``bounds[i]``."""
    lo = np.full(len(idx), -np.inf)
    hi = np.full(len(idx), np.inf)
    for r, i in enumerate(idx):
        b = bounds[i]
        if b is None:
            continue
        try:
            blo, bhi = b
            lo[r] = -np.inf if blo is None else float(blo)
            hi[r] = np.inf if bhi is None else float(bhi)
        except (TypeError, ValueError):
            raise ScoringInputError(f"bounds[{i}] must be a pair (lo, hi); got {b!r}") from None
        if math.isnan(lo[r]) or math.isnan(hi[r]) or lo[r] >= hi[r]:
            raise ScoringInputError(f"bounds[{i}] must satisfy lo < hi; got {b!r}")
    return lo, hi
