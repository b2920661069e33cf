"""Aggregates over units (`mean`, `median`, `min`, `max`, `sum`, `std`, `count`, `first`,
`last`), `fraction(COND)`, and crossings over records grouped by x.

`median` of an even count averages the two middle values; `std` is the sample standard
deviation (n - 1). `runs=N` needs exactly N units: fewer keeps the question pending and
names what is missing (Hydra job folders without their file, and the values of run fields
- or, in one table, of its other columns - seen elsewhere but not here, e.g. `seed=7`);
more is an error.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules import crossing as fit
from predtrack.rules.access import Context, FilterTest, Scan, filter_wants, getter, passes
from predtrack.rules.base import TIME_FIELDS, Run
from predtrack.rules.convert import OPS, Got, as_bool, match_key
from predtrack.rules.nodes import (
    Aggregate,
    Crossing,
    Filter,
    Fraction,
    Item,
    Pick,
    fmt_number,
    fmt_value,
    short,
)
from predtrack.rules.select import (
    Failed,
    Missing,
    RecordSource,
    Unit,
    describe,
    needed,
    number,
    numeric_units,
    short_of,
    units,
    value_where,
)

_DISTINCT = 64  # columns with more values than this are not used to name what is missing


def reduce(func: str, xs: Sequence[float], what: str) -> float:
    """One aggregate of finite numbers."""
    n = len(xs)
    if func == "count":
        return float(n)
    if func == "mean":
        return math.fsum(xs) / n
    if func == "sum":
        return math.fsum(xs)
    if func == "min":
        return min(xs)
    if func == "max":
        return max(xs)
    if func == "median":
        s = sorted(xs)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    if func == "std":
        if n < 2:
            raise RuleError(f"std needs at least 2 values, {what} has {n}")
        m = math.fsum(xs) / n
        return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (n - 1))
    raise RuleError(f"unknown aggregate {func!r}")


class _Tally:
    """What an aggregate collects from its units."""

    def __init__(self) -> None:
        self.xs = array("d")
        self.n = 0
        self.k = 0
        self.earliest: float | None = None
        self.runs: dict[int, Run] = {}
        self.chosen: Unit | None = None  # first/last
        self.units: list[Unit] = []  # kept when what is missing must be named

    def add(self, u: Unit) -> None:
        self.n += 1
        if u.earliest is not None and (self.earliest is None or u.earliest < self.earliest):
            self.earliest = u.earliest
        self.runs.setdefault(id(u.run), u.run)


def _order(u: Unit, timed: bool) -> tuple[Any, ...]:
    pos = u.chunk.positions[u.i] if u.chunk.positions else 0
    return ((u.time,) if timed else ()) + (u.run.sort_key(), pos)


def collect(ctx: Context, scan: Scan, node: Aggregate | Fraction, keep: bool) -> _Tally:
    """Feed every unit of an aggregate or fraction into a tally."""
    tally = _Tally()
    item = node.value
    value = item.value if isinstance(item, Pick) else item
    if isinstance(node, Fraction):
        for u in units(ctx, scan, item):
            tally.add(u)
            tally.k += _holds(ctx, node, u, value)
            if keep:
                tally.units.append(u)
        return tally
    if node.func in ("first", "last"):
        found = list(units(ctx, scan, item))
        for u in found:
            tally.add(u)
        if found:
            timed = all(u.time is not None for u in found)
            pick = max if node.func == "last" else min
            tally.chosen = pick(found, key=lambda u: _order(u, timed))
        if keep:
            tally.units = found
        return tally
    for u, x in numeric_units(ctx, scan, item):
        tally.add(u)
        tally.xs.append(x)
        if keep:
            tally.units.append(u)
    return tally


def _holds(ctx: Context, node: Fraction, u: Unit, value: Any) -> bool:
    if node.comparison is not None:
        x = number(ctx, value, u.chunk, u.i, u.value) if not isinstance(u.value, float) else u.value
        return OPS[node.comparison.op](x, node.comparison.threshold)
    yes = as_bool(u.value, u.text)
    if yes is None:
        where, file = value_where(ctx, value, u.chunk, u.i)
        raise RuleError(
            f"value at {where} is {short(u.value)}, not a yes/no (true/false, 0/1) in {file}"
        )
    return yes


def aggregate(ctx: Context, records: RecordSource, node: Aggregate | Fraction) -> Got:
    """An aggregate or a fraction over the records its filters leave."""
    scan = Scan(
        ctx,
        records.chunks(),
        FilterTest(ctx, node.filters),
        track=node.runs is not None,
        need=needed(node.value),
    )
    tally = collect(ctx, scan, node, keep=node.runs is not None)
    desc = describe(node.filters)
    what = f"{node}"
    words = ctx.rows_word() if not isinstance(node.value, Pick) else "runs"
    _check_runs(ctx, scan, records, node, tally, desc)
    if tally.n == 0:
        want = f"no {'row' if words == 'rows' else 'record'} matches {desc} in {ctx.file}"
        if not desc:
            want = f"no record has {fmt_value(_value(node))} in {ctx.file}"
        raise short_of(ctx, scan, want + (" yet" if ctx.glob else ""), records, not ctx.glob)
    left_out = f"; {len(scan.failed)} failed run(s) left out" if scan.failed else ""
    times = [tally.earliest] if tally.earliest is not None else []
    mtimes = [r.mtime for r in tally.runs.values() if r.mtime is not None]
    over = f" over {tally.n} {words if tally.n != 1 else words[:-1]}" + (
        f" with {desc}" if desc else ""
    )
    if isinstance(node, Fraction):
        detail = (
            f"{tally.k} of {tally.n} {words} have {_cond(node)}{' with ' + desc if desc else ''}"
        )
        return Got(
            tally.k / tally.n, what, ctx.file, detail + left_out, k=tally.k, n=tally.n,
            times=times, mtimes=mtimes,
        )  # fmt: skip
    if tally.chosen is not None:
        u = tally.chosen
        where, file = value_where(ctx, _value(node), u.chunk, u.i)
        detail = f"{node.func} {fmt_value(_value(node))}{over} = {short(u.value)} ({u.where})"
        return Got(u.value, where, file, detail + left_out, u.text, times=times, mtimes=mtimes)
    result = reduce(node.func, tally.xs, ctx.file)
    detail = f"{node.func} of {fmt_value(_value(node))}{over} = {fmt_number(result)}"
    return Got(result, what, ctx.file, detail + left_out, times=times, mtimes=mtimes)


def _value(node: Aggregate | Fraction) -> Any:
    return node.value.value if isinstance(node.value, Pick) else node.value


def _cond(node: Fraction) -> str:
    return fmt_value(node.value) + (f" {node.comparison}" if node.comparison else "")


def _check_runs(
    ctx: Context,
    scan: Scan,
    records: RecordSource,
    node: Aggregate | Fraction,
    tally: _Tally,
    desc: str,
    group: str = "",
) -> None:
    want = node.runs
    if want is None:
        return
    words = "runs" if isinstance(node.value, Pick) else ctx.rows_word()
    at = f" at {group}" if group else (f" with {desc}" if desc else "")
    if tally.n > want:
        raise RuleError(f"{node}: runs={want}, but {tally.n} {words} match{at} in {ctx.file}")
    if tally.n < want:
        missing = name_missing(ctx, scan, records, node.filters, tally.units, _value(node))
        why = f"{tally.n} of {want} {words} so far{at} in {ctx.file}"
        if missing:
            why += ": missing " + ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        if scan.failed:
            raise Failed(
                why
                + "; failed: "
                + "; ".join(f"{r.where}: {r.reason or 'failed'}" for r in scan.failed[:5]),
                missing,
            )
        raise Missing(why, missing, hard=False)


def name_missing(
    ctx: Context,
    scan: Scan,
    records: RecordSource,
    filters: Sequence[Filter],
    have: Sequence[Unit],
    value: Any,
    x: Any = None,
) -> list[str]:
    """What a selection lacks: job folders without their file, then field values seen elsewhere."""
    out: list[str] = []
    fixed = {f.column for f in filters if f.op == "="}
    for folder, fields in records.missing_folders():
        if _folder_matches(fields, filters, x):
            shown = ", ".join(
                f"{k}={_text(v)}"
                for k, v in fields.items()
                if k not in fixed and (x is None or k != x[0])
            )
            out.append(f"{folder} ({shown})" if shown else folder)
    present: dict[str, set[Any]] = {}
    for u in have:
        for name, v in u.run.fields.items():
            present.setdefault(name, set()).add(match_key(v))
    for name, seen in sorted(scan.values.items()):
        if name in fixed or name == "run" or (x is not None and name == x[0]) or len(seen) < 2:
            continue
        if ctx.cls.axes is not None and not any(
            name == a or (a.endswith(".") and name.startswith(a)) for a in ctx.cls.axes
        ):
            continue  # a tracker's measured values, ids and times say nothing of what is missing
        here = present.get(name, set())
        folders = " ".join(out)
        for key, text in sorted(seen.items(), key=_by_value):
            item = f"{name}={text}"
            if (
                key not in here
                and f"({item}," not in folders
                and f" {item}," not in folders
                and (f" {item})" not in folders and f"({item})" not in folders)
            ):
                out.append(item)
    if not out and have and have[0].chunk.columns is not None and not ctx.glob:
        out = _missing_cells(ctx, records, filters, have, fixed | {value})
    return out


def _by_value(item: tuple[Any, str]) -> tuple[int, float, str]:
    key, text = item
    return (0, key, text) if isinstance(key, float) else (1, 0.0, text)


def _text(v: Any) -> str:
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def _folder_matches(fields: dict[str, Any], filters: Sequence[Filter], x: Any) -> bool:
    """Whether a job folder's run fields pass the filters that name them (and the group's x)."""
    if x is not None and x[0] in fields and match_key(fields[x[0]]) != match_key(x[1]):
        return False
    for f in filters:
        if isinstance(f.column, str) and f.column in fields:
            want, num = filter_wants(f)
            if not passes(f.op, fields[f.column], want, num):
                return False
    return True


def _missing_cells(
    ctx: Context,
    records: RecordSource,
    filters: Sequence[Filter],
    have: Sequence[Unit],
    fixed: set[Any],
) -> list[str]:
    """In one long-format table: values of its other columns seen in rows but not here.

    Only columns that repeat (at most half as many values as rows, and at most 64) and tell
    the selected rows apart are used: `seed`, not a measured value.
    """
    header = list(have[0].chunk.columns or ())
    skip = fixed | {f.column for f in filters} | set(TIME_FIELDS)
    seen: dict[str, dict[Any, str]] = {c: {} for c in header if c not in skip}
    rows = 0
    for chunk in records.chunks():
        rows += len(chunk.records)
        for c in list(seen):
            get = getter(ctx, chunk, c)
            for rec in chunk.records:
                v = get(rec)
                if isinstance(v, str):
                    seen[c].setdefault(match_key(v), v)
            if len(seen[c]) > _DISTINCT:
                del seen[c]
    out: list[str] = []
    for c, values in seen.items():
        here = {match_key(u.field(ctx, c)) for u in have}
        if len(here) != len(have) or len(values) > rows / 2:
            continue
        out.extend(f"{c}={t}" for k, t in sorted(values.items(), key=_by_value) if k not in here)
    return out


def crossing(ctx: Context, records: RecordSource, sel: Crossing) -> Got:
    """Records grouped by x, y aggregated within each group (or one per x), then the crossing."""
    y = sel.y
    node = y if isinstance(y, Aggregate | Fraction) else None
    item: Item = node.value if node is not None else y  # type: ignore[assignment]
    scan = Scan(
        ctx,
        records.chunks(),
        FilterTest(ctx, sel.filters),
        track=node is not None and node.runs is not None,
        need=needed(item, sel.x),
    )
    x_name, y_name = fmt_value(sel.x), str(node) if node is not None else fmt_value(item)
    groups: dict[float, list[Unit]] = {}
    x_of: tuple[Any, Any] = (None, None)  # the x getter of the last chunk
    for u in units(ctx, scan, item):
        if x_of[0] is not u.chunk:
            x_of = (u.chunk, getter(ctx, u.chunk, sel.x))
        xv = number(ctx, sel.x, u.chunk, u.i, x_of[1](u.chunk.records[u.i]))
        groups.setdefault(xv, []).append(u)
    rows = ctx.rows_word() if not isinstance(item, Pick) else "runs"
    value = item.value if isinstance(item, Pick) else item
    points: list[tuple[float, float]] = []
    earliest: list[float] = []
    runs: dict[int, Run] = {}
    for xv, group in groups.items():
        for u in group:
            runs.setdefault(id(u.run), u.run)
            if u.earliest is not None:
                earliest.append(u.earliest)
        if node is None:
            if len(group) > 1:
                raise RuleError(_duplicate(ctx, x_name, xv, group))
            u = group[0]
            yv = float(u.value) if isinstance(item, Pick) and item.how in ("max", "min") else (
                number(ctx, value, u.chunk, u.i, u.value)
            )  # fmt: skip
        else:
            yv = _group_value(ctx, scan, records, node, group, sel, xv)
        points.append((xv, yv))
    if not points and (scan.failed or scan.running or ctx.glob):
        raise short_of(
            ctx, scan, f"no record matches {describe(sel.filters) or str(sel)} yet", records, False
        )
    if len(points) < 2:
        word = rows if node is None else f"values of {x_name}"
        raise RuleError(
            f"crossing needs at least 2 {word}, {ctx.file} has {len(points)} that match"
        )
    points.sort()
    if sel.fit == "logistic":
        word = rows if node is None else "points"
        result, detail = fit.logistic_crossing(points, x_name, y_name, sel.level, ctx.file, word)
    else:
        result, detail = fit.linear_crossing(points, x_name, y_name, sel.level, ctx.file)
    mtimes = [r.mtime for r in runs.values() if r.mtime is not None]
    times = [min(earliest)] if earliest else []
    return Got(result, str(sel), ctx.file, detail, times=times, mtimes=mtimes)


def _duplicate(ctx: Context, x_name: str, xv: float, group: list[Unit]) -> str:
    a, b = group[0], group[1]
    if ctx.glob or ctx.cls.runs_are_records:
        at = f"in {a.where} and {b.where}"
    else:
        at = f"at lines {a.chunk.positions[a.i]} and {b.chunk.positions[b.i]} in {ctx.file}"
    return (
        f"duplicate {x_name}={fmt_number(xv)} {at}; crossing needs one {ctx.rows_word()[:-1]} "
        "per x (add a filter, or aggregate y, as in y=mean(...))"
    )


def _group_value(
    ctx: Context,
    scan: Scan,
    records: RecordSource,
    node: Aggregate | Fraction,
    group: list[Unit],
    sel: Crossing,
    xv: float,
) -> float:
    value = _value(node)
    label = f"{fmt_value(sel.x)}={fmt_number(xv)}"
    tally = _Tally()
    for u in group:
        tally.add(u)
        tally.units.append(u)
        if isinstance(node, Fraction):
            tally.k += _holds(ctx, node, u, value)
        elif node.func not in ("first", "last"):
            picked = isinstance(node.value, Pick) and node.value.how in ("max", "min")
            tally.xs.append(float(u.value) if picked else number(ctx, value, u.chunk, u.i, u.value))
    if node.runs is not None:
        if tally.n > node.runs:
            raise RuleError(
                f"{node}: runs={node.runs}, but {tally.n} match at {label} in {ctx.file}"
            )
        if tally.n < node.runs:
            x_field = (sel.x, xv) if isinstance(sel.x, str) else None
            missing = name_missing(ctx, scan, records, sel.filters, tally.units, value, x_field)
            words = "runs" if isinstance(node.value, Pick) else ctx.rows_word()
            why = f"{tally.n} of {node.runs} {words} so far at {label} in {ctx.file}"
            items = [f"{label}: {m}" for m in missing]
            raise Missing(why + (": missing " + ", ".join(missing[:10]) if missing else ""), items)
    if isinstance(node, Fraction):
        return tally.k / tally.n
    if node.func in ("first", "last"):
        timed = all(u.time is not None for u in group)
        u = (max if node.func == "last" else min)(group, key=lambda u: _order(u, timed))
        return number(ctx, value, u.chunk, u.i, u.value)
    return reduce(node.func, tally.xs, f"{label} in {ctx.file}")


__all__ = ["aggregate", "collect", "crossing", "name_missing", "reduce"]
