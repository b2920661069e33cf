"""The observed series a rule reads along its swept variable, for the report's experiment figure.

The swept variable is the `x=` of a crossing, or the filter field of a filtered selector
(`mean(/success)[m=32]` sweeps `m`: the figure shows every m, and marks 32). With several
`=` filters, the one whose field takes more than one value among the records the others
select is the sweep; none or several such fields give no sweep.

Per x: the mean y, its n (records, or runs for a series pick), and a 95% interval:
Wilson's for k of n (a fraction, or y values that are all 0/1), else a t-interval across
the records (none for n = 1). numpy is not needed; scipy gives the t quantile.
"""

from __future__ import annotations

import math
import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from predtrack.errors import PredtrackError
from predtrack.rules import base, nodes
from predtrack.rules.access import Context, FilterTest, Scan, getter
from predtrack.rules.base import RulePending, RunFailed
from predtrack.rules.convert import OPS, as_bool, as_number
from predtrack.rules.files import Reader
from predtrack.rules.nodes import fmt_value, keys
from predtrack.rules.select import Unit, units
from predtrack.rules.sources.runs import Records

__all__ = ["Sweep", "SweepPoint", "sweep_points", "wilson"]

_Z = 1.959963984540054  # the 97.5% normal quantile


@dataclass(frozen=True)
class SweepPoint:
    """One x of a sweep: mean y, its n (and k for k-of-n), and a 95% interval."""

    x: float
    y: float
    n: int
    k: int | None
    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class Sweep:
    """The series a rule reads along its swept variable."""

    x: str
    y: str
    points: tuple[SweepPoint, ...]
    level: float | None = None  # a crossing's level
    selected: float | None = None  # the x a filtered selector picks


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval for k successes in n trials."""
    p, z2 = k / n, _Z * _Z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = _Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def _t_interval(ys: Sequence[float]) -> tuple[float | None, float | None]:
    n = len(ys)
    if n < 2:
        return None, None
    from scipy.stats import t

    m = math.fsum(ys) / n
    s = math.sqrt(math.fsum((y - m) ** 2 for y in ys) / (n - 1))
    half = float(t.ppf(0.975, n - 1)) * s / math.sqrt(n)
    return m - half, m + half


def _plan(
    rule: nodes.Rule, records: Records, ctx: Context
) -> tuple[nodes.Value, nodes.Item, Any, list[nodes.Filter], float | None, float | None] | None:
    """(x, y item, condition, filters kept, level, selected x) of the rule's sweep."""
    sel = rule.selector
    if isinstance(sel, nodes.Crossing):
        y = sel.y
        if isinstance(y, nodes.Aggregate | nodes.Fraction):
            cond = y if isinstance(y, nodes.Fraction) else None
            return sel.x, y.value, cond, list(sel.filters), sel.level, None
        return sel.x, y, None, list(sel.filters), sel.level, None
    if isinstance(sel, nodes.Aggregate | nodes.Fraction | nodes.Select):
        item = sel.value
        if isinstance(item, nodes.Counts):
            return None
        cond = sel if isinstance(sel, nodes.Fraction) else None
        eqs = [f for f in sel.filters if f.op == "="]
        if not eqs:
            return None
        if len(eqs) > 1:
            varied = [f for f in eqs if _varies(ctx, records, f, sel.filters)]
            if len(varied) != 1:
                return None
            eqs = varied
        swept = eqs[0]
        rest = [f for f in sel.filters if f is not swept]
        return swept.column, item, cond, rest, None, as_number(swept.value, True)
    return None


def _varies(
    ctx: Context, records: Records, f: nodes.Filter, filters: Sequence[nodes.Filter]
) -> bool:
    others = [g for g in filters if g is not f]
    seen: set[Any] = set()
    for chunk, idxs in Scan(ctx, records.chunks(), FilterTest(ctx, others)):
        get = getter(ctx, chunk, f.column)
        seen.update(str(get(chunk.records[i])) for i in idxs)
        if len(seen) > 1:
            return True
    return False


def sweep_points(
    rule: nodes.Rule,
    base_dir: str | os.PathLike[str],
    *,
    cache: MutableMapping[Any, Any] | None = None,
    allow_outside: bool = False,
) -> Sweep | None:
    """The observed series along the rule's swept variable; None when there is none to read."""
    reader = Reader(base_dir, allow_outside=allow_outside, memo=cache)
    cls = base.source_class(rule.format)
    try:
        records = Records(cls, rule.file, reader, keys(rule.selector), cache)
        ctx = Context(cls, rule.file, records.glob)
        plan = _plan(rule, records, ctx)
        if plan is None:
            return None
        x, item, cond, filters, level, selected = plan
        groups: dict[float, list[tuple[Unit, Any]]] = {}
        for u in units(ctx, Scan(ctx, records.chunks(), FilterTest(ctx, filters)), item):
            xv = as_number(getter(ctx, u.chunk, x)(u.chunk.records[u.i]), True)
            if xv is not None and math.isfinite(xv):
                groups.setdefault(xv, []).append((u, u.value))
    except (PredtrackError, RulePending, RunFailed):
        return None
    found = [_point(xv, group, cond) for xv, group in sorted(groups.items())]
    points = [p for p in found if p is not None]
    if not points:
        return None
    y_name = str(rule.selector.y) if isinstance(rule.selector, nodes.Crossing) else fmt_value(item)
    if isinstance(item, nodes.Pick) and not isinstance(rule.selector, nodes.Crossing):
        y_name = str(item)
    return Sweep(fmt_value(x), y_name, tuple(points), level, selected)


def _point(
    xv: float, group: list[tuple[Unit, Any]], cond: nodes.Fraction | None
) -> SweepPoint | None:
    if cond is not None:
        flags = []
        for u, v in group:
            if cond.comparison is not None:
                num = as_number(v, u.text)
                flags.append(
                    None if num is None else OPS[cond.comparison.op](num, cond.comparison.threshold)
                )
            else:
                flags.append(as_bool(v, u.text))
        known = [f for f in flags if f is not None]
        if not known:
            return None
        k, n = sum(known), len(known)
        low, high = wilson(k, n)
        return SweepPoint(xv, k / n, n, k, low, high)
    ys = [y for y in (as_number(v, u.text) for u, v in group) if y is not None and math.isfinite(y)]
    if not ys:
        return None
    n = len(ys)
    mean = math.fsum(ys) / n
    if all(y in (0.0, 1.0) for y in ys):
        k = int(sum(ys))
        low, high = wilson(k, n)
        return SweepPoint(xv, mean, n, k, low, high)
    lo, hi = _t_interval(ys)
    return SweepPoint(xv, mean, n, None, lo, hi)
