"""Batch scoring of many heterogeneous distribution specs at once (:func:`score_continuous`).

Specs are grouped by family (quantile sets also by their number of
quantiles) and each group is scored with the vectorised closed forms of
:mod:`.families` and :mod:`.quantiles`, so a hundred thousand predictions
cost a few vectorised passes rather than a hundred thousand Python calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import BoundsLike, FloatArray, as_float, bounds_rows
from predtrack.scoring.distributions import PARAMETRIC
from predtrack.scoring.families import (
    HALF_LOG_2PI,
    beta_ppf_raw,
    crps_beta_raw,
    crps_lognormal_raw,
    crps_std_normal,
    log_score_beta_raw,
    log_score_lognormal_raw,
    lognormal_cdf_raw,
)
from predtrack.scoring.quantiles import (
    crps_quantiles_raw,
    interval_score_raw,
    knots,
    pl_cdf,
    pl_pdf,
    pl_ppf,
)

__all__ = ["score_continuous"]

# the central 50% and 90% interval limits, in the order of _INTERVALS
_Q = (0.25, 0.75, 0.05, 0.95)
_INTERVALS = ("lo50", "hi50", "lo90", "hi90")
_KEYS = ("crps", "log", "pit", *_INTERVALS)
_POSITIVE = ("sigma", "alpha", "beta")


def _group_params(
    rows: list[Any], idx: list[int], names: Sequence[str], family: str
) -> list[FloatArray]:
    try:
        arr = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    except (TypeError, ValueError):
        for i, row in zip(idx, rows, strict=True):
            for name, v in zip(names, row, strict=True):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise ScoringInputError(
                        f"specs[{i}]: {family} parameter '{name}' is not a number: {v!r}"
                    ) from None
        raise ScoringInputError(f"{family} parameters are not numbers") from None
    out = []
    for c, name in enumerate(names):
        col = arr[:, c]
        bad = ~np.isfinite(col)
        if name in _POSITIVE:
            bad |= col <= 0
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            need = "a finite number > 0" if name in _POSITIVE else "finite"
            raise ScoringInputError(
                f"specs[{idx[j]}]: {family} parameter '{name}' must be {need}; got {col[j]!r}"
            )
        out.append(col)
    return out


def _parametric(
    family: str, p1: FloatArray, p2: FloatArray, xs: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """CRPS, log score, PIT and the four interval limits (N, 4) of one family's group."""
    from scipy.special import betainc, ndtr, ndtri

    if family == "normal":
        z = (xs - p1) / p2
        qv = p1[:, None] + p2[:, None] * ndtri(_Q)[None, :]
        return p2 * crps_std_normal(z), HALF_LOG_2PI + np.log(p2) + 0.5 * z * z, ndtr(z), qv
    if family == "lognormal":
        qv = np.exp(p1[:, None] + p2[:, None] * ndtri(_Q)[None, :])
        return (
            crps_lognormal_raw(p1, p2, xs),
            log_score_lognormal_raw(p1, p2, xs),
            lognormal_cdf_raw(p1, p2, xs),
            qv,
        )
    return (
        crps_beta_raw(p1, p2, xs),
        log_score_beta_raw(p1, p2, xs),
        betainc(p1, p2, np.clip(xs, 0.0, 1.0)),
        beta_ppf_raw(p1, p2, np.array(_Q)),
    )


def _check_quantile_group(la: FloatArray, va: FloatArray, idx: list[int]) -> None:
    def fail(mask: Any, what: str) -> None:
        if mask.any():
            j = int(np.flatnonzero(mask)[0])
            raise ScoringInputError(f"specs[{idx[j]}]: {what}")

    fail(~np.isfinite(la).all(axis=1), "quantile levels must be finite")
    fail(~np.isfinite(va).all(axis=1), "quantile values must be finite")
    if la.shape[1] < 2:
        raise ScoringInputError(f"specs[{idx[0]}]: a quantile set needs at least 2 quantiles")
    fail(((la <= 0) | (la >= 1)).any(axis=1), "quantile levels must be strictly between 0 and 1")
    fail((np.diff(la, axis=1) <= 0).any(axis=1), "quantile levels must be strictly increasing")
    fail((np.diff(va, axis=1) <= 0).any(axis=1), "quantile values must be strictly increasing")


def _quantile_group(
    idx_list: list[int],
    lv_rows: list[Any],
    v_rows: list[Any],
    bounds: Sequence[BoundsLike] | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validated levels, values and bounds of the quantile sets with one number of quantiles."""
    k = len(v_rows[0])
    try:
        la_g = np.array(lv_rows, dtype=np.float64).reshape(len(idx_list), k)
        va_g = np.array(v_rows, dtype=np.float64).reshape(len(idx_list), k)
    except (TypeError, ValueError):
        raise ScoringInputError(
            f"quantile levels and values must be lists of numbers (one of specs {idx_list[:5]}...)"
        ) from None
    _check_quantile_group(la_g, va_g, idx_list)
    if bounds is None:
        lo = np.full(len(idx_list), -np.inf)
        hi = np.full(len(idx_list), np.inf)
    else:
        lo, hi = bounds_rows(bounds, idx_list)
    bad = (va_g[:, 0] < lo) | (va_g[:, -1] > hi)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ScoringInputError(
            f"specs[{idx_list[j]}]: quantile values lie outside the bounds ({lo[j]!r}, {hi[j]!r})"
        )
    return la_g, va_g, lo, hi


def _group_specs(
    specs: Sequence[Mapping[str, Any]],
) -> tuple[
    dict[str, tuple[list[int], list[Any]]], dict[int, tuple[list[int], list[Any], list[Any]]]
]:
    """Spec positions and parameters by parametric family, and quantile sets by size."""
    par: dict[str, tuple[list[int], list[Any]]] = {name: ([], []) for name in PARAMETRIC}
    quant: dict[int, tuple[list[int], list[Any], list[Any]]] = {}
    i = 0
    fam: Any = None
    try:
        for i, s in enumerate(specs):
            fam = None
            fam = s["family"]
            cls = PARAMETRIC.get(fam) if isinstance(fam, str) else None
            if cls is not None:
                first, second = cls.params
                g = par[fam]
                g[0].append(i)
                g[1].append((s[first], s[second]))
            elif fam == "quantiles":
                lv = s["levels"]
                vs = s["values"]
                k = len(vs)
                if len(lv) != k:
                    raise ScoringInputError(f"specs[{i}]: {len(lv)} levels but {k} quantile values")
                gq = quant.setdefault(k, ([], [], []))
                gq[0].append(i)
                gq[1].append(lv)
                gq[2].append(vs)
            else:
                raise ScoringInputError(f"specs[{i}]: unknown distribution family {fam!r}")
    except KeyError as exc:
        what = "'family'" if fam is None or exc.args[0] == "family" else f"'{exc.args[0]}'"
        raise ScoringInputError(f"specs[{i}] is missing {what}") from None
    except TypeError:
        raise ScoringInputError(f"specs[{i}] is not a valid forecast spec") from None
    return par, quant


def score_continuous(
    specs: Sequence[Mapping[str, Any]],
    x: ArrayLike,
    bounds: Sequence[BoundsLike] | None = None,
) -> dict[str, FloatArray]:
    """Score many heterogeneous distribution forecasts at once.

    Specs are grouped by family (quantile sets also by their number of
    quantiles) and each group is scored with vectorised closed forms.

    Parameters
    ----------
    specs : sequence of mappings
        Forecast specs as accepted by :func:`~predtrack.scoring.from_spec`.
    x : array_like, shape (N,)
        Outcomes, one per spec.
    bounds : sequence of (lo, hi) or None, optional
        Question bounds per spec (used by quantile sets only).

    Returns
    -------
    dict of str to ndarray, each shape (N,)
        ``crps`` (closed form; WIS-style quantile score for quantile sets),
        ``log`` (-ln f(x)), ``pit`` (F(x)), ``lo50, hi50, lo90, hi90`` (central
        50% / 90% intervals), ``cover50, cover90`` (bool, lo <= x <= hi) and
        ``is50, is90`` (interval scores, Gneiting & Raftery 2007 eq. 43).

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules,
    prediction, and estimation. JASA 102(477), 359-378.
    """
    n = len(specs)
    xa = as_float(x, "x")
    if xa.shape != (n,):
        raise ScoringInputError(f"x has shape {xa.shape} but there are {n} specs")
    if bounds is not None and len(bounds) != n:
        raise ScoringInputError(f"bounds has {len(bounds)} entries but there are {n} specs")
    out = {key: np.empty(n) for key in _KEYS}
    par, quant = _group_specs(specs)

    for fam_name, (idx_list, rows) in par.items():
        if not idx_list:
            continue
        idx = np.array(idx_list, dtype=np.intp)
        p1, p2 = _group_params(rows, idx_list, PARAMETRIC[fam_name].params, fam_name)
        out["crps"][idx], out["log"][idx], out["pit"][idx], qv = _parametric(
            fam_name, p1, p2, xa[idx]
        )
        for c, key in enumerate(_INTERVALS):
            out[key][idx] = qv[:, c]

    for idx_list, lv_rows, v_rows in quant.values():
        idx = np.array(idx_list, dtype=np.intp)
        la_g, va_g, lo, hi = _quantile_group(idx_list, lv_rows, v_rows, bounds)
        xs = xa[idx]
        xk, pk = knots(la_g, va_g, lo, hi)
        out["crps"][idx] = crps_quantiles_raw(la_g, va_g, xs[:, None])
        with np.errstate(divide="ignore"):
            out["log"][idx] = 0.0 - np.log(pl_pdf(xk, pk, xs))
        out["pit"][idx] = pl_cdf(xk, pk, xs)
        for level, key in zip(_Q, _INTERVALS, strict=True):
            out[key][idx] = pl_ppf(xk, pk, np.full(idx.size, level))

    result: dict[str, Any] = dict(out)
    result["cover50"] = (out["lo50"] <= xa) & (xa <= out["hi50"])
    result["cover90"] = (out["lo90"] <= xa) & (xa <= out["hi90"])
    result["is50"] = interval_score_raw(out["lo50"], out["hi50"], xa, 0.5)
    result["is90"] = interval_score_raw(out["lo90"], out["hi90"], xa, 0.1)
    return result
