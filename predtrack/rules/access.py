"""Reading records: a name or pointer of a chunk's records, filters over them, and their times.

A name is looked up in the record first (a top-level key, a CSV column), then in its
run's fields (Hydra overrides, `run`); a name both hold with different values is an
error, never a silent choice. A record's time is its source's `Chunk.times`, else the
first of its `timestamp`, `time`, `_timestamp` fields that is present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules.base import TIME_FIELDS, Chunk, Run, Source, parse_time
from predtrack.rules.convert import as_number, match_key
from predtrack.rules.grammar import RANGE_OPS
from predtrack.rules.nodes import Filter, Pointer, Value, fmt_value, short

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
SHORT: Any = type("Short", (), {"__repr__": lambda self: "SHORT"})()  # a CSV row too short
_INDEX_DIGITS = frozenset("0123456789")
_ONE = range(1)


@dataclass
class Context:
    """What the selector layer knows about where the records come from."""

    cls: type[Source]
    file: str  # the rule's path as written
    glob: bool
    quotable: Callable[[Run], bool] = lambda run: True  # may messages list its structure?
    indexes: dict[int, dict[str, int]] = field(default_factory=dict)

    def rows_word(self) -> str:
        return "rows" if self.cls.values == "name" and not self.cls.runs_are_records else "records"


def walk(doc: Any, tokens: tuple[str, ...]) -> Any:
    """The value at a pointer, or MISSING."""
    cur = doc
    for tok in tokens:
        if type(cur) is dict:
            cur = cur.get(tok, MISSING)
            if cur is MISSING:
                return MISSING
        elif type(cur) is list:
            if not tok or not set(tok) <= _INDEX_DIGITS or (tok[0] == "0" and tok != "0"):
                return MISSING
            if len(tok) > 18 or int(tok) >= len(cur):
                return MISSING
            cur = cur[int(tok)]
        else:
            return MISSING
    return cur


def walk_strict(
    doc: Any, ptr: Pointer, file: str, list_keys: bool | Callable[[], bool] = True
) -> Any:
    """The value at a pointer, or a RuleError naming the segment that fails.

    `list_keys` may be a callable: it is asked only when a message is written.
    """
    cur = doc
    for i, tok in enumerate(ptr.tokens):
        if type(cur) is dict and tok in cur:  # the common case, before any message is built
            cur = cur[tok]
            continue
        at = Pointer(ptr.tokens[:i]).raw or "the document root"
        if isinstance(cur, dict):
            if tok not in cur:
                if list_keys() if callable(list_keys) else list_keys:
                    keys = ", ".join(short(k, 30) for k in list(cur)[:10])
                    more = ", ..." if len(cur) > 10 else ""
                    there = f" (keys there: {keys}{more})"
                else:
                    there = f" ({len(cur)} keys there)"
                raise RuleError(f"no key {tok!r} at {at} in {file}{there}")
            cur = cur[tok]
        elif isinstance(cur, list):
            if tok == "-":
                raise RuleError(f"'-' at {at} in {file} names the element after the last one")
            if walk(cur, (tok,)) is MISSING:
                if tok and set(tok) <= _INDEX_DIGITS and (tok[0] != "0" or tok == "0"):
                    raise RuleError(
                        f"index {tok} is out of range at {at} in {file} (array of {len(cur)})"
                    )
                raise RuleError(f"{tok!r} is not an array index at {at} in {file}")
            cur = cur[int(tok)]
        else:
            raise RuleError(f"cannot look up {tok!r} at {at} in {file}: it is {short(cur)}")
    return cur


def column_index(ctx: Context, chunk: Chunk, name: str) -> int | None:
    """The index of a CSV column in the chunk's header (None if absent; duplicates refused)."""
    header = chunk.columns or ()
    index = ctx.indexes.get(id(header))
    if index is None:
        index = {}
        for i, col in enumerate(header):
            index[col] = -1 if col in index else i
        ctx.indexes[id(header)] = index
    at = index.get(name)
    if at == -1:
        raise RuleError(
            f"column {name!r} appears {list(header).count(name)} times in the header of "
            f"{chunk.run.where}"
        )
    return at


def no_column(ctx: Context, chunk: Chunk, name: str) -> RuleError:
    header = list(chunk.columns or ())
    if ctx.quotable(chunk.run) and len(header) > 1:
        cols = ", ".join(header[:30]) + (", ..." if len(header) > 30 else "")
        return RuleError(f"no column {name!r} in {chunk.run.where} (columns: {cols})")
    return RuleError(f"no column {name!r} in {chunk.run.where} ({len(header)} columns)")


def getter(ctx: Context, chunk: Chunk, v: Value) -> Callable[[Any], Any]:
    """A function from a record of this chunk to the value of `v` (MISSING if absent)."""
    if isinstance(v, Pointer):
        toks = v.tokens
        if len(toks) == 1:
            tok = toks[0]
            return lambda rec: rec.get(tok, MISSING) if type(rec) is dict else walk(rec, toks)
        return lambda rec: walk(rec, toks)
    run = chunk.run
    rv = run.fields.get(v, MISSING) if run.fields else MISSING
    if chunk.columns is not None:
        i = column_index(ctx, chunk, v)
        if i is None:
            if rv is MISSING:
                raise no_column(ctx, chunk, v)
            return lambda rec: rv
        if rv is MISSING:
            return lambda rec: rec[i] if i < len(rec) else SHORT
        return lambda rec: _agree(rec[i] if i < len(rec) else SHORT, rv, v, run)
    if rv is MISSING:
        return lambda rec: rec.get(v, MISSING) if type(rec) is dict else MISSING
    return lambda rec: _agree(rec.get(v, MISSING) if type(rec) is dict else MISSING, rv, v, run)


def lookup(ctx: Context, chunk: Chunk, v: Value, rec: Any) -> Any:
    """`getter(ctx, chunk, v)(rec)` without compiling: for chunks of one record."""
    if isinstance(v, Pointer):
        return walk(rec, v.tokens)
    if chunk.columns is not None:
        return getter(ctx, chunk, v)(rec)
    own = rec.get(v, MISSING) if type(rec) is dict else MISSING
    fields = chunk.run.fields
    rv = fields.get(v, MISSING) if fields else MISSING
    return own if rv is MISSING else _agree(own, rv, v, chunk.run)


def _agree(own: Any, from_run: Any, name: str, run: Run) -> Any:
    if own is MISSING or own is SHORT:
        return from_run
    if own == from_run and type(own) is type(from_run):
        return own
    if match_key(own) != match_key(from_run):
        raise RuleError(
            f"{name} is {short(own)} in {run.where} but {short(from_run)} in its run's fields "
            "(.hydra/overrides.yaml): which one is meant?"
        )
    return own


def passes(op: str, v: Any, want: Any, num: float) -> bool:
    """Whether a present value passes a filter (`want` its match_key, `num` its number)."""
    if op == "=":
        return bool(match_key(v) == want)
    if op == "!=":
        return bool(match_key(v) != want)
    x = as_number(v, True)
    if x is None:
        return False
    if op == "<":
        return x < num
    if op == ">":
        return x > num
    return x <= num if op == "<=" else x >= num


def filter_wants(f: Filter) -> tuple[Any, float]:
    return match_key(f.value), float(f.value) if f.op in RANGE_OPS else 0.0


class FilterTest:
    """The filters of a selector, compiled for one chunk at a time."""

    def __init__(self, ctx: Context, filters: Sequence[Filter]) -> None:
        self.ctx, self.filters = ctx, tuple(filters)
        self.present = [False] * len(self.filters)
        self._wants = [filter_wants(f) for f in filters]

    def compile(self, chunk: Chunk) -> Callable[[Any], bool] | None:
        if not self.filters:
            return None
        tests: list[Callable[[Any], bool]] = []
        for n, (f, (want, num)) in enumerate(zip(self.filters, self._wants, strict=True)):
            get = getter(self.ctx, chunk, f.column)
            tests.append(self._test(n, f.op, get, want, num))
        if len(tests) == 1:
            return tests[0]
        return lambda rec: all(t(rec) for t in tests)

    def _test(
        self, n: int, op: str, get: Callable[[Any], Any], want: Any, num: float
    ) -> Callable[[Any], bool]:
        present = self.present

        def test(rec: Any) -> bool:
            v = get(rec)
            if v is MISSING:
                return False
            present[n] = True
            return passes(op, "" if v is SHORT else v, want, num)

        return test

    def match_one(self, chunk: Chunk, rec: Any) -> bool:
        """The filters on one record of a chunk of records that are dicts, uncompiled."""
        for n, (f, (want, num)) in enumerate(zip(self.filters, self._wants, strict=True)):
            v = lookup(self.ctx, chunk, f.column, rec)
            if v is MISSING:
                return False
            self.present[n] = True
            if not passes(f.op, v, want, num):
                return False
        return True

    def check_fields(self, seen: int) -> None:
        """After a scan: a filter field no record had is a typo, not "no match yet"."""
        for f, ok in zip(self.filters, self.present, strict=True):
            if seen and not ok:
                raise RuleError(
                    f"no record of {self.ctx.file} has a field {fmt_value(f.column)} (filter {f})"
                )

    def describe(self) -> str:
        return ", ".join(map(str, self.filters))


@dataclass
class Scan:
    """Stream the records that pass the filters, leaving out runs that are not finished."""

    ctx: Context
    chunks: Iterable[Chunk]
    test: FilterTest
    track: bool = False  # keep the values of every run field over all records
    need: Sequence[Value] = ()  # names every chunk must have (a missing column is an error)
    total: int = 0
    failed: list[Run] = field(default_factory=list)
    running: list[Run] = field(default_factory=list)
    values: dict[str, dict[Any, str]] = field(default_factory=dict)  # match key -> text

    def __iter__(self) -> Iterator[tuple[Chunk, Sequence[int]]]:
        last_run: Run | None = None
        for chunk in self.chunks:
            recs = chunk.records
            self.total += len(recs)
            run = chunk.run
            if self.track and run is not last_run:
                for name, key, text in _field_values(run):
                    self.values.setdefault(name, {}).setdefault(key, text)
            last_run = run
            for needed in self.need:
                if isinstance(needed, str) and chunk.columns is not None:
                    getter(self.ctx, chunk, needed)
            idxs: Sequence[int]
            if not self.test.filters:
                idxs = range(len(recs))
            elif len(recs) == 1 and chunk.columns is None:
                idxs = _ONE if self.test.match_one(chunk, recs[0]) else ()
            else:
                test = self.test.compile(chunk)
                assert test is not None
                idxs = [i for i, r in enumerate(recs) if test(r)]
            if not idxs:
                continue
            if run.status in ("failed", "running"):
                bucket = self.failed if run.status == "failed" else self.running
                if not bucket or bucket[-1] is not run:
                    bucket.append(run)
                continue
            yield chunk, idxs
        self.test.check_fields(self.total)


def _field_values(run: Run) -> list[tuple[str, Any, str]]:
    """(name, match key, text) of each run field, computed once per run."""
    got = run.memo.get("fields")
    if got is None:
        got = run.memo["fields"] = [
            (
                name,
                match_key(v),
                "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v),
            )
            for name, v in run.fields.items()
        ]
    return got


def time_of(chunk: Chunk, i: int) -> float | None:
    """A record's own time in epoch seconds, or None."""
    if chunk.times is not None:
        return chunk.times[i]
    rec = chunk.records[i]
    if chunk.columns is not None:
        for name in TIME_FIELDS:
            if name in chunk.columns:
                j = list(chunk.columns).index(name)
                return parse_time(rec[j]) if j < len(rec) else None
        return None
    if type(rec) is dict:
        for name in TIME_FIELDS:
            v = rec.get(name)
            if v is not None:
                return parse_time(v)
    return None


def min_time(chunk: Chunk, idxs: Sequence[int]) -> float | None:
    """The earliest own time among these records of a chunk."""
    if chunk.times is not None:
        ts = [t for t in (chunk.times[i] for i in idxs) if t is not None]
        return min(ts) if ts else None
    recs = chunk.records
    if chunk.columns is None and recs and type(recs[0]) is dict:
        key = next((k for k in TIME_FIELDS if k in recs[0]), None)
        if key is None:
            if not any(
                type(recs[i]) is dict and any(k in recs[i] for k in TIME_FIELDS) for i in idxs
            ):
                return None
        else:
            try:
                vals = [recs[i][key] for i in idxs]
            except (KeyError, TypeError):
                vals = None
            if vals is not None:
                nums = [v for v in vals if type(v) is float or type(v) is int]
                if len(nums) == len(vals):
                    ok = [t for t in map(parse_time, (min(nums), max(nums))) if t is not None]
                    if len(ok) == 2:
                        return min(nums)
    best: float | None = None
    for i in idxs:
        t = time_of(chunk, i)
        if t is not None and (best is None or t < best):
            best = t
    return best
