"""Selectors over records: the one record a filter leaves, series picks, and the units aggregates use.

A unit is what an aggregate, a fraction or a crossing counts: a record, or - when the
VALUE has a series pick (`/val_acc@max`) - one point per run (a file, or a tracker run),
picked within that run's records. `first`/`last` and `@first`/`@last` follow the records'
own times when every record compared has one, else path order (natural sort), then line
or row order; a tracker metric's `@last` is its highest step, then its latest time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from predtrack.errors import RuleError
from predtrack.rules.access import (
    MISSING,
    SHORT,
    Context,
    FilterTest,
    Scan,
    column_index,
    getter,
    lookup,
    min_time,
    time_of,
    walk_strict,
)
from predtrack.rules.base import Chunk, Point, RulePending, Run, Series
from predtrack.rules.convert import Got, as_number, describe_bad_number, match_key
from predtrack.rules.nodes import (
    Counts,
    Filter,
    Item,
    Pick,
    Pointer,
    Rule,
    Select,
    Value,
    fmt_number,
    fmt_value,
    short,
)


class RecordSource(Protocol):
    """What the selector layer reads: `sources.runs.Records`."""

    def chunks(self) -> Iterator[Chunk]: ...
    def last(self) -> Chunk: ...
    def missing_folders(self) -> list[tuple[str, dict[str, Any]]]: ...


class Missing(Exception):
    """Fewer records than the selector needs: pending (an error for one existing file)."""

    def __init__(self, reason: str, missing: Sequence[str] = (), hard: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.missing, self.hard = reason, tuple(missing), hard


class Failed(Exception):
    """The runs the selector needs exist but failed."""

    def __init__(self, reason: str, missing: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason, self.missing = reason, tuple(missing)


@dataclass
class Unit:
    """One value a selector uses: a record's, or the point a pick chose within a run."""

    value: Any
    text: bool
    chunk: Chunk
    i: int  # the record's index in its chunk
    where: str  # for messages: "line 5", "runs/a/metrics.json"
    time: float | None  # the record's (or point's) own time, for first/last
    earliest: float | None  # the earliest time among the records the unit used
    order: tuple[Any, ...] = field(default=())

    @property
    def run(self) -> Run:
        return self.chunk.run

    def field(self, ctx: Context, name: Value) -> Any:
        return getter(ctx, self.chunk, name)(self.chunk.records[self.i])


def where_of(ctx: Context, chunk: Chunk, i: int) -> str:
    pos = chunk.positions[i] if chunk.positions else 0
    if ctx.cls.runs_are_records:
        return chunk.run.where
    if ctx.glob:
        return f"{chunk.run.where} line {pos}" if pos else chunk.run.where
    return f"line {pos}" if pos else ctx.file


def value_where(ctx: Context, value: Value, chunk: Chunk, i: int) -> tuple[str, str]:
    """(where, file) naming a value of a record in messages: ("/acc (line 5)", "log.jsonl")."""
    pos = chunk.positions[i] if chunk.positions else 0
    name = value.raw if isinstance(value, Pointer) else value
    if ctx.cls.runs_are_records:
        return name, chunk.run.where
    return (f"{name} (line {pos})" if pos else name), chunk.run.where


def short_row(ctx: Context, chunk: Chunk, i: int, name: str) -> RuleError:
    row, idx = chunk.records[i], column_index(ctx, chunk, name) or 0
    return RuleError(
        f"{chunk.run.where} line {chunk.positions[i]} has {len(row)} fields; column {name!r} "
        f"is field {idx + 1}"
    )


def number(ctx: Context, value: Value, chunk: Chunk, i: int, v: Any) -> float:
    """A unit's value as a finite number (booleans are 1/0), or a RuleError naming it."""
    if v is SHORT and isinstance(value, str):
        raise short_row(ctx, chunk, i, value)
    x = as_number(v, chunk.text)
    if x is not None and math.isfinite(x):
        return x
    where, file = value_where(ctx, value, chunk, i)
    raise RuleError(f"value at {where} is {describe_bad_number(v, chunk.text)} in {file}")


def missing_value(ctx: Context, value: Value, chunk: Chunk, i: int) -> RuleError:
    rec = chunk.records[i]
    if isinstance(value, Pointer):
        try:
            walk_strict(rec, value, where_of(ctx, chunk, i), lambda: ctx.quotable(chunk.run))
        except RuleError as e:
            return e
    return RuleError(f"{where_of(ctx, chunk, i)} has no {fmt_value(value)}")


# ---------------------------------------------------------------- units


def units(ctx: Context, scan: Scan, item: Item) -> Iterator[Unit]:
    """The units of `item` among the scanned records: records, or one pick per run."""
    if not isinstance(item, Pick):
        yield from _record_units(ctx, scan, item)
    elif ctx.cls.runs_are_records:
        yield from _series_units(ctx, scan, item)
    else:
        run: Run | None = None
        picker: _Picker | None = None
        for chunk, idxs in scan:
            if chunk.run is not run:
                if picker is not None:
                    yield picker.result()
                run, picker = chunk.run, _Picker(ctx, item)
            assert picker is not None
            picker.feed(chunk, idxs)
        if picker is not None:
            yield picker.result()


def _record_units(ctx: Context, scan: Scan, value: Value) -> Iterator[Unit]:
    skip = ctx.cls.skip_missing
    for chunk, idxs in scan:
        recs, text = chunk.records, chunk.text
        get = None if len(recs) == 1 else getter(ctx, chunk, value)
        for i in idxs:
            v = lookup(ctx, chunk, value, recs[i]) if get is None else get(recs[i])
            if v is MISSING:
                if skip:
                    continue
                raise missing_value(ctx, value, chunk, i)
            t = time_of(chunk, i)
            yield Unit(v, text, chunk, i, where_of(ctx, chunk, i), t, t)


class _Picker:
    """The point a series pick chooses within one plain run (a file's records), streamed."""

    def __init__(self, ctx: Context, pick: Pick) -> None:
        self.ctx, self.pick = ctx, pick
        self.best: tuple[Any, Chunk, int] | None = None  # (key, chunk, i)
        self.best_timed: tuple[Any, Chunk, int] | None = None
        self.all_timed = True
        self.earliest: float | None = None
        self.hits: list[tuple[Chunk, int]] = []
        self.value_seen = False

    def feed(self, chunk: Chunk, idxs: Sequence[int]) -> None:
        t = min_time(chunk, idxs)
        if t is not None and (self.earliest is None or t < self.earliest):
            self.earliest = t
        how, recs = self.pick.how, chunk.records
        if how in ("last", "first"):
            self._feed_order(chunk, idxs, how == "last")
        elif how == "step":
            get, want = getter(self.ctx, chunk, "step"), float(self.pick.step or 0.0)
            for i in idxs:
                s = get(recs[i])
                if s is not MISSING and match_key(s) == want:
                    self.hits.append((chunk, i))
        else:
            target = self.pick.value if how in ("max", "min") else self.pick.other
            assert target is not None
            self._feed_extreme(chunk, idxs, target, how in ("max", "argmax"))

    def _feed_order(self, chunk: Chunk, idxs: Sequence[int], latest: bool) -> None:
        get, recs, pos = getter(self.ctx, chunk, self.pick.value), chunk.records, chunk.positions
        for i in idxs:
            if get(recs[i]) is MISSING:
                continue
            self.value_seen = True
            t = time_of(chunk, i)
            key = (pos[i] if pos else 0,)
            if self.best is None or (key >= self.best[0] if latest else key < self.best[0]):
                self.best = (key, chunk, i)
            if t is None:
                self.all_timed = False
            elif self.best_timed is None or (
                (t, key) >= self.best_timed[0] if latest else (t, key) < self.best_timed[0]
            ):
                self.best_timed = ((t, key), chunk, i)

    def _feed_extreme(self, chunk: Chunk, idxs: Sequence[int], target: Value, high: bool) -> None:
        get, recs, best = getter(self.ctx, chunk, target), chunk.records, self.best
        tok = target.tokens[0] if isinstance(target, Pointer) and len(target.tokens) == 1 else None
        for i in idxs:
            rec = recs[i]
            v = rec.get(tok, MISSING) if tok is not None and type(rec) is dict else get(rec)
            if type(v) is float or type(v) is int:
                x = v
            elif v is MISSING:
                continue
            else:
                x = number(self.ctx, target, chunk, i, v)
            if x != x:
                number(self.ctx, target, chunk, i, v)  # raises: NaN
            if best is None or (x > best[0] if high else x < best[0]):
                best = (x, chunk, i)
        self.best = best

    def result(self) -> Unit:
        ctx, pick = self.ctx, self.pick
        if pick.how == "step":
            run_where = self.hits[0][0].run.where if self.hits else ""
            if len(self.hits) > 1:
                lines = ", ".join(str(c.positions[i]) for c, i in self.hits[:5])
                raise RuleError(
                    f"{len(self.hits)} records have step={fmt_number(pick.step or 0)} in "
                    f"{run_where} (lines {lines}); @step needs one"
                )
            if not self.hits:
                raise _NoPoint(f"no record with step={fmt_number(pick.step or 0)}")
            chunk, i = self.hits[0]
        else:
            chosen = (
                self.best_timed if pick.how in ("last", "first") and self.all_timed else self.best
            )
            if chosen is None:
                target = pick.value if pick.how in ("max", "min", "last", "first") else pick.other
                raise _NoPoint(f"no record has {fmt_value(target or '')}")
            _, chunk, i = chosen
        rec = chunk.records[i]
        if pick.how in ("max", "min"):
            value: Any = self.best[0] if self.best else None
            text = False
        else:
            value = getter(ctx, chunk, pick.value)(rec)
            text = chunk.text
            if value is MISSING:
                raise missing_value(ctx, pick.value, chunk, i)
        return Unit(
            value, text, chunk, i, where_of(ctx, chunk, i), time_of(chunk, i), self.earliest
        )


class _NoPoint(RuleError):
    """A run's records hold no point for the pick."""


def _series_units(ctx: Context, scan: Scan, pick: Pick) -> Iterator[Unit]:
    """Picks over tracker metric histories (a record is a run)."""
    for chunk, idxs in scan:
        for i in idxs:
            yield _series_pick(ctx, chunk, i, pick)


def _series_pick(ctx: Context, chunk: Chunk, i: int, pick: Pick) -> Unit:
    run, rec = chunk.run, chunk.records[i]
    name = pick.value if isinstance(pick.value, str) else pick.value.raw
    history = (run.series or {}).get(name) or ()
    own = time_of(chunk, i)
    if not history:
        v = getter(ctx, chunk, pick.value)(rec)
        if v is MISSING:
            raise RuleError(f"{run.where} has no {name}")
        return Unit(v, chunk.text, chunk, i, run.where, own, own)
    if isinstance(history, Series) and isinstance(_other(run, pick)[1], Series | None):
        return _compact_pick(chunk, i, pick, name, history, own)
    points = list(history)
    times = [p.time for p in points if p.time is not None]
    earliest = min([*times, *([own] if own is not None else [])], default=None)

    def order(p: tuple[int, Point]) -> tuple[float, float, int]:
        n, pt = p
        step = -math.inf if pt.step is None else float(pt.step)
        return (step, -math.inf if pt.time is None else pt.time, n)

    def numeric(pt: Point, what: str = name) -> float:
        x = as_number(pt.value, True)
        if x is None or x != x:
            raise RuleError(
                f"value of {what} at step {pt.step} in {run.where} is {short(pt.value)}"
            )
        return x

    how, numbered = pick.how, list(enumerate(points))
    if how in ("last", "first"):
        chosen = (max if how == "last" else min)(numbered, key=order)[1]
    elif how in ("max", "min"):
        sign = 1 if how == "max" else -1  # ties: the first point with the best value
        best = max(numbered, key=lambda p: (sign * numeric(p[1]), -p[0]))
        chosen = Point(best[1].step, best[1].time, numeric(best[1]))
    elif how == "step":
        at = [p for p in numbered if p[1].step is not None and float(p[1].step) == pick.step]
        if not at:
            raise _NoPoint(f"{run.where} has no {name} at step {fmt_number(pick.step or 0)}")
        chosen = max(at, key=order)[1]
    else:
        other = (
            pick.other if isinstance(pick.other, str) else (pick.other.raw if pick.other else "")
        )
        theirs = list(enumerate((run.series or {}).get(other) or ()))
        if not theirs:
            raise RuleError(f"{run.where} has no history of {other} for @{how}")
        sign = 1 if how == "argmax" else -1
        best_pt = max(theirs, key=lambda p: (sign * numeric(p[1], other), -p[0]))[1]
        at = [p for p in numbered if p[1].step == best_pt.step]
        if not at:
            raise RuleError(
                f"{run.where} has no {name} at step {best_pt.step}, where {other} is best"
            )
        chosen = max(at, key=order)[1]
        times += [p.time for _, p in theirs if p.time is not None]
        earliest = min([*times, *([own] if own is not None else [])], default=None)
    return Unit(chosen.value, True, chunk, i, run.where, chosen.time, earliest)


def _other(run: Run, pick: Pick) -> tuple[str, Sequence[Point] | None]:
    """The name and history of the OTHER of `@argmax(OTHER)` (None: no such pick or history)."""
    if pick.how not in ("argmax", "argmin"):
        return "", None
    other = pick.other if isinstance(pick.other, str) else (pick.other.raw if pick.other else "")
    return other, (run.series or {}).get(other) or None


def _compact_pick(
    chunk: Chunk, i: int, pick: Pick, name: str, history: Series, own: float | None
) -> Unit:
    """`_series_pick` on a compact Series: the same choice, over its arrays."""
    run = chunk.run
    times = [min(history.times), *([own] if own is not None else [])]
    how = pick.how

    def no_nan(s: Series, what: str) -> None:
        bad = s.nan_index()
        if bad is not None:
            raise RuleError(
                f"value of {what} at step {s.steps[bad]} in {run.where} is {short(s.values[bad])}"
            )

    at: int | None
    if how in ("last", "first"):
        at = history.last_index(first=how == "first")
    elif how in ("max", "min"):
        no_nan(history, name)
        at = history.best_index("max" if how == "max" else "min")
    elif how == "step":
        at = history.step_index(pick.step or 0.0)
        if at is None:
            raise _NoPoint(f"{run.where} has no {name} at step {fmt_number(pick.step or 0)}")
    else:
        other, theirs = _other(run, pick)
        if not isinstance(theirs, Series) or not theirs:
            raise RuleError(f"{run.where} has no history of {other} for @{how}")
        no_nan(theirs, other)
        step = theirs.steps[theirs.best_index("max" if how == "argmax" else "min")]
        at = history.step_index(step)
        if at is None:
            raise RuleError(f"{run.where} has no {name} at step {step}, where {other} is best")
        times.append(min(theirs.times))
    chosen = history[at]
    return Unit(chosen.value, True, chunk, i, run.where, chosen.time, min(times))


# ---------------------------------------------------------------- one record


def needed(item: Item, *more: Value) -> list[Value]:
    """The names of an item (and more) that every chunk must have."""
    out = [item.value, item.other] if isinstance(item, Pick) else [item]
    return [v for v in (*out, *more) if v is not None]


def describe(filters: Sequence[Filter]) -> str:
    return ", ".join(map(str, filters))


def short_of(ctx: Context, scan: Scan, want: str, records: RecordSource, hard: bool) -> Exception:
    """Why nothing (or too little) matched: failed runs, running runs, or missing records."""
    if scan.failed:
        runs = "; ".join(f"{r.where}: {r.reason or 'failed'}" for r in scan.failed[:5])
        return Failed(
            f"{want}: the runs it selects failed ({runs})", [r.where for r in scan.failed]
        )
    if scan.running:
        runs = ", ".join(r.where for r in scan.running[:5])
        return RulePending(
            f"{want}: its runs are still running ({runs})", [r.where for r in scan.running]
        )
    return Missing(want, (), hard)


def one_record(ctx: Context, rule: Rule, records: RecordSource) -> Got:
    """VALUE or VALUE[filters]: exactly one record (the last line of a lone JSON-lines file)."""
    sel = rule.selector
    value: Item | Counts
    filters: Sequence[Filter]
    if isinstance(sel, Select):
        value, filters = sel.value, sel.filters
    elif isinstance(sel, Pointer | Counts):
        value, filters = sel, ()
    else:
        raise TypeError(f"one_record cannot read {sel}")
    if isinstance(value, Pick):
        return _one_pick(ctx, rule, records, value, filters)
    if not filters and ctx.cls.last_by_default and not ctx.glob:
        chunk = records.last()
        return _got(ctx, value, chunk, 0, f"the last line of {ctx.file}: ", str(sel))
    need = [value] if isinstance(value, str) else []
    scan = Scan(ctx, records.chunks(), FilterTest(ctx, filters), need=need)
    count, hits = 0, list[tuple[Chunk, int]]()
    for chunk, idxs in scan:
        count += len(idxs)
        hits.extend((chunk, i) for i in idxs[: max(0, 6 - len(hits))])
    rows, desc = ctx.rows_word(), describe(filters)
    if count == 1:
        return _got(ctx, value, hits[0][0], hits[0][1], "", str(sel))
    if not filters and ctx.cls.values == "name" and not ctx.cls.runs_are_records:
        raise RuleError(
            f"{ctx.file} has {count} data rows; a column without a filter needs exactly one "
            f"(pick a row with {fmt_value(value) if not isinstance(value, Counts) else value}"
            "[COLUMN=VALUE])"
        )
    if count == 0:
        word = "row" if rows == "rows" else "record"
        want = f"no {word} matches {desc} in {ctx.file}" if desc else f"no {word} in {ctx.file}"
        raise short_of(ctx, scan, want if not ctx.glob else want + " yet", records, not ctx.glob)
    places = _places(ctx, hits)
    raise RuleError(f"{count} {rows} match {desc} in {ctx.file} ({places}); exactly one must match")


def _places(ctx: Context, hits: list[tuple[Chunk, int]]) -> str:
    more = ", ..." if len(hits) > 5 else ""
    if ctx.glob or ctx.cls.runs_are_records:
        return "in " + ", ".join(where_of(ctx, c, i) for c, i in hits[:5]) + more
    return "lines " + ", ".join(str(c.positions[i]) for c, i in hits[:5]) + more


def _got(ctx: Context, value: Item | Counts, chunk: Chunk, i: int, prefix: str, sel: str) -> Got:
    rec, run = chunk.records[i], chunk.run
    t = time_of(chunk, i)
    times, mtimes = ([t] if t is not None else []), ([run.mtime] if run.mtime is not None else [])
    pos = chunk.positions[i] if chunk.positions else 0
    file = run.where
    suffix = f" in {file}" if ctx.glob else f" at line {pos}" if pos and not prefix else ""
    if isinstance(value, Counts):

        def quote() -> bool:
            return ctx.quotable(run)

        k = _count(walk_strict(rec, value.k, file, quote), value.k, file)
        n = _count(walk_strict(rec, value.n, file, quote), value.n, file)
        if n == 0:
            raise RuleError(f"count n at {value.n} is 0 in {file}; a fraction needs n > 0")
        if k > n:
            raise RuleError(f"count k={k} at {value.k} exceeds n={n} at {value.n} in {file}")
        detail = f"{prefix}{value.k} = {k} of {value.n} = {n}{suffix}"
        return Got(k / n, str(value), file, detail, k=k, n=n, times=times, mtimes=mtimes)
    assert not isinstance(value, Pick)
    if isinstance(value, Pointer):
        v = walk_strict(rec, value, file, lambda: ctx.quotable(run))
        at = value.raw or "the document root"
        where = f"{at} (line {pos})" if pos and not prefix else at
        detail = f"{prefix}{at} = {short(v)}{suffix}"
        return Got(v, where, file, detail, chunk.text, times=times, mtimes=mtimes)
    v = getter(ctx, chunk, value)(rec)
    if v is SHORT:
        raise short_row(ctx, chunk, i, value)
    if v is MISSING:
        raise RuleError(f"{run.where} has no {fmt_value(value)}")
    where = f"{value} (line {pos})" if pos else value
    detail = f"{sel} = {short(v) if not chunk.text else repr(v)}" + (
        f" at line {pos}" if pos and not ctx.glob else f" in {file}" if ctx.glob else ""
    )
    return Got(v, where, file, detail, chunk.text, times=times, mtimes=mtimes)


def _count(value: Any, ptr: Pointer, file: str) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and math.isfinite(value) and value >= 0 and float(value).is_integer():
        return int(value)
    raise RuleError(f"count at {ptr} is {short(value)}, not a non-negative integer, in {file}")


def _one_pick(
    ctx: Context, rule: Rule, records: RecordSource, pick: Pick, filters: Sequence[Filter]
) -> Got:
    scan = Scan(ctx, records.chunks(), FilterTest(ctx, filters), need=needed(pick))
    found: list[Unit] = []
    try:
        for unit in units(ctx, scan, pick):
            found.append(unit)
    except _NoPoint as e:
        if ctx.glob or ctx.cls.runs_are_records:
            raise
        raise short_of(ctx, scan, f"{e} in {ctx.file}", records, True) from None
    desc = describe(filters)
    if len(found) > 1:
        runs = ", ".join(u.run.where for u in found[:5]) + (", ..." if len(found) > 5 else "")
        raise RuleError(
            f"{len(found)} runs match {desc} in {ctx.file} ({runs}); exactly one must match"
        )
    if not found:
        want = f"no run matches {desc} in {ctx.file}" if desc else f"no record in {ctx.file}"
        raise short_of(ctx, scan, want + (" yet" if ctx.glob else ""), records, not ctx.glob)
    return unit_got(ctx, found[0], pick.value, str(rule.selector))


def unit_got(ctx: Context, unit: Unit, value: Value, sel: str) -> Got:
    """The Got of one chosen unit."""
    where, file = value_where(ctx, value, unit.chunk, unit.i)
    times = [unit.earliest] if unit.earliest is not None else []
    mtimes = [unit.run.mtime] if unit.run.mtime is not None else []
    shown = repr(unit.value) if unit.text and isinstance(unit.value, str) else short(unit.value)
    detail = f"{sel} = {shown} ({unit.where})"
    return Got(unit.value, where, file, detail, unit.text, times=times, mtimes=mtimes)


def numeric_units(
    ctx: Context, scan: Scan, item: Item, extra: Callable[[Unit], None] | None = None
) -> Iterator[tuple[Unit, float]]:
    """Units with their values as finite numbers."""
    value = item.value if isinstance(item, Pick) else item
    for u in units(ctx, scan, item):
        if isinstance(item, Pick) and item.how in ("max", "min"):
            x = float(u.value)
            if not math.isfinite(x):
                number(ctx, value, u.chunk, u.i, u.value)
        else:
            x = number(ctx, value, u.chunk, u.i, u.value)
        if extra is not None:
            extra(u)
        yield u, x
