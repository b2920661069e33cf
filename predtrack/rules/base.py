"""The Source interface: how a rule reads records from a file, a glob of files or a tracker store.

A rule is `[SCHEME ":"] PATH "#" SELECTOR`. The path (or the scheme) chooses a `Source`
class from the registry below; the selector layer (`predtrack.rules.select`) then filters,
picks and aggregates the records the source lists. Sources never see the selector: they
list records, and say what they are.

The record model
----------------
- A `Run` is where records come from: one data file (a JSON document, a JSON-lines log, a
  CSV table, each file of a glob) or one tracker run. It carries the run fields (Hydra
  overrides, tracker params and tags), a status, a label for messages and, for trackers,
  the metric histories (`series`).
- A `Chunk` is a batch of records of one run, streamed: a JSON document or a line is a JSON
  value; a CSV row is a list of cells named by `Chunk.columns`; a tracker run is one
  record, a `dict` from names (`cheese_rate`, `params.maze_size`) to scalars.
- A name is looked up in the record first, then in the run's fields.
- A record's time is `Chunk.times[i]` (epoch seconds) when the source gives it, else the
  first of its fields named in `TIME_FIELDS` that holds a time (`parse_time`).

Adding a source
---------------
1. Write `predtrack/rules/sources/NAME.py` with a subclass of `Source` (a file format:
   implement `chunks()`) or of `StoreSource` (a tracker's store, each run one record:
   implement `units()` and `record()`). Keep its module import light (standard library;
   import heavy libraries inside the methods): the rule grammar imports the class when a
   prediction is registered. Set the class attributes that describe the records:

   ```python
   class MlflowSource(StoreSource, name="mlflow", store="MLflow store"):
       uses_names = True         # what it reads depends on target.names

       def units(self, path: Path) -> Sequence[Any]:
           return [...]                          # one per run, natural order

       def record(self, unit: Any) -> Chunk:
           data = self.reader.read_bytes(unit / "meta.yaml")   # hashed: evidence
           run = Run(name=run_name, where=f"run {run_name} in {self.target.shown}",
                     status="failed", reason="MLflow status FAILED",
                     series={"cheese_rate": [Point(step, time, value), ...]})
           return Chunk.one(run, {"cheese_rate": 0.61, "params.maze_size": "25"},
                            time=start_seconds, text=True)
   ```

   Read every file through `self.reader` (`open`, `read_bytes`, or `hash_file` for a file
   another library opens, such as SQLite): that is what hashes it into the evidence, in the
   same pass that reads it, and what refuses FIFOs, directories and files outside the
   folder the rule was registered from. `self.target.names` lists the names the rule uses,
   so a source can read only those metrics. Raise `RuleError` (one line naming the file)
   for data that cannot be read, `RulePending` for a store that does not exist yet.
   Optionally override `check_layout` (refuse, at registration, a path that exists but is
   not this layout, or a name the source cannot have) and `fields`.
2. Register it: one line in `_BUILTIN` below (scheme or file extensions, and
   `"module:Class"`), or `register_source(...)` from outside the package.
3. Tests: `tests/test_sources_NAME.py`, on files written by the real tool.

Statuses: `Run.status` is None (the source records none: plain files), "finished",
"running" (not yet: the question stays pending) or "failed" (with `Run.reason`). Records
of runs that are not finished are left out; when that leaves a selector short, the rule
is pending (running) or its run failed (`RunFailed`).
"""

from __future__ import annotations

import importlib
import math
import os
import re
from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, overload

from predtrack.errors import RuleError, RuleSyntaxError

if TYPE_CHECKING:
    from predtrack.rules.files import Reader

__all__ = [
    "TIME_FIELDS",
    "Chunk",
    "Evidence",
    "OutsideFolder",
    "Point",
    "RulePending",
    "Run",
    "RunFailed",
    "Series",
    "Source",
    "Status",
    "StoreSource",
    "Target",
    "latest",
    "latest_values",
    "natural_key",
    "parse_time",
    "points",
    "register_source",
    "source_class",
    "source_name",
]

Status = Literal["finished", "running", "failed"]

# Field names whose value is a record's own time, in the order they are tried.
TIME_FIELDS = ("timestamp", "time", "_timestamp")
# Epoch seconds outside [2001-09-09, 2286-11-20] are not taken as times: a `time` field of
# 12.5 is far more likely seconds since the start than a moment in 1970.
_EPOCH_MIN, _EPOCH_MAX = 1e9, 1e10


# ---------------------------------------------------------------- outcomes other than a value


class RulePending(Exception):
    """Not yet: the data the rule needs does not exist (a file, a run, fewer than runs=N).

    `missing` names what is missing, one item each (`seed=7`, a job folder).
    """

    def __init__(self, reason: str, missing: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = tuple(missing)


class RunFailed(Exception):
    """The runs the rule selects exist but failed: pending, or annulled under `if_run_fails`.

    For plain files, which record no status, a rule still missing its records after the
    runs were declared complete (`final=True`) counts as failed. Not a RulePending: a
    caller decides what a failed run means (`evidence` holds the files read).
    """

    def __init__(
        self, reason: str, evidence: Sequence[Evidence] = (), missing: Sequence[str] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = tuple(missing)
        self.evidence = tuple(evidence)


class OutsideFolder(RuleError):
    """The rule's file lies outside the folder it was registered from; read only when allowed."""


# ---------------------------------------------------------------- what a source gives


@dataclass(frozen=True)
class Evidence:
    """One file a rule read: its real path (symlinks resolved), sha256, size and mtime (UTC)."""

    path: str
    sha256: str
    size: int
    mtime: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


class Point(NamedTuple):
    """One point of a metric history: step (or None), time in epoch seconds (or None), value."""

    step: float | None
    time: float | None
    value: Any


class Series(Sequence[Point]):
    """A long numeric metric history, kept compact: 24 bytes a point, not a tuple each.

    Steps are integers and times and values floats, none missing (TensorBoard's scalars).
    The selector layer reads its picks through the `*_index` methods, which run over the
    arrays without making a Point for each of a million points.
    """

    __slots__ = ("steps", "times", "values")

    def __init__(self) -> None:
        self.steps, self.times, self.values = array("q"), array("d"), array("d")

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, i: int) -> Point: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Point]: ...
    def __getitem__(self, i: int | slice) -> Point | Sequence[Point]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Point(self.steps[i], self.times[i], self.values[i])

    def __iter__(self) -> Iterator[Point]:
        return map(Point, self.steps, self.times, self.values)

    def extend(self, other: Series) -> None:
        self.steps.extend(other.steps)
        self.times.extend(other.times)
        self.values.extend(other.values)

    def nan_index(self) -> int | None:
        """The first point whose value is NaN, or None."""
        if not math.isnan(sum(self.values)):
            return None
        return next((i for i, v in enumerate(self.values) if v != v), None)

    def best_index(self, how: Literal["max", "min"]) -> int:
        """The first point of the highest (lowest) value; the values hold no NaN."""
        return self.values.index(max(self.values) if how == "max" else min(self.values))

    def last_index(self, first: bool = False) -> int:
        """The latest point: highest step, then latest time, then last logged (`first`: the
        earliest: lowest step, then earliest time, then first logged)."""
        found = self._among(min(self.steps) if first else max(self.steps), first)
        assert found is not None  # a step the series has
        return found

    def step_index(self, step: float) -> int | None:
        """The latest point logged at `step`, or None."""
        if step != int(step) or not self.steps:
            return None
        return self._among(int(step), False)

    def _among(self, step: int, first: bool) -> int | None:
        steps, times = self.steps, self.times
        try:
            best = i = steps.index(step)
        except (ValueError, OverflowError):
            return None
        while True:
            try:
                i = steps.index(step, i + 1)
            except ValueError:
                return best
            if (times[i] < times[best]) if first else (times[i] >= times[best]):
                best = i


@dataclass(eq=False)
class Run:
    """Where records come from: one data file, or one tracker run."""

    name: str  # the `run` field: a job folder relative to the glob's root, or a run name
    where: str  # how messages name it: a path relative to the rule's folder, `run X in mlruns`
    fields: Mapping[str, Any] = field(default_factory=dict)  # run fields: Hydra overrides, ...
    status: Status | None = None
    reason: str = ""  # why it is not finished, one line: "MLflow status FAILED"
    series: Mapping[str, Sequence[Point]] | None = None  # trackers: metric histories by name
    order: tuple[Any, ...] = ()  # sort key among runs; natural_key(where) when empty
    mtime: float | None = None  # epoch seconds: "data existed at" when records carry no time
    # What the selector layer derives from the run once (a cached store's runs serve many rules).
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def sort_key(self) -> tuple[Any, ...]:
        return self.order or natural_key(self.where)


@dataclass(eq=False)
class Chunk:
    """A batch of records of one run."""

    run: Run
    records: Sequence[Any]
    positions: Sequence[int]  # each record's line or row number (0 for a whole document)
    columns: Sequence[str] | None = None  # set when records are rows: the header
    text: bool = False  # string values are text to read as numbers/booleans (CSV, params)
    times: Sequence[float | None] | None = None  # epoch seconds; None: from TIME_FIELDS

    @classmethod
    def one(cls, run: Run, record: Any, *, time: float | None = None, text: bool = False) -> Chunk:
        """A chunk of a single record (a tracker run, a JSON document)."""
        return cls(run, [record], [0], None, text, None if time is None else [time])


@dataclass(frozen=True)
class Target:
    """What a source opens: a path, how messages show it, and what the rule asks of it."""

    path: Path  # absolute, as written under the rule's folder (symlinks not resolved)
    shown: str  # as the rule wrote it (a glob's match: relative to the rule's folder)
    run: Run  # the run a plain file's records belong to (trackers make their own)
    # The names the rule uses (values, filters, crossing x) and the tokens of its pointers.
    names: frozenset[str] = frozenset()


class Source(ABC):
    """One kind of data a rule reads: a file format, or a tracker's store layout."""

    name: ClassVar[str] = ""
    values: ClassVar[Literal["pointer", "name"]] = "name"  # how VALUEs are written
    one_record: ClassVar[bool] = False  # each file is a single record (a JSON document)
    last_by_default: ClassVar[bool] = False  # VALUE alone reads the last record (JSON lines)
    skip_missing: ClassVar[bool] = False  # records lacking a VALUE are skipped, not errors
    runs_are_records: ClassVar[bool] = False  # a record is a run with metric histories
    folder: ClassVar[bool] = False  # the path names a folder or a store, not a data file
    uses_names: ClassVar[bool] = False  # chunks() depends on target.names (cached per names)
    # The run fields that say how a run was configured ("params." a prefix, "model" a name),
    # by which a short `runs=N` names what is missing; None: every run field (Hydra overrides).
    axes: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, target: Target, reader: Reader) -> None:
        self.target = target
        self.reader = reader

    @abstractmethod
    def chunks(self) -> Iterator[Chunk]:
        """List the records, streamed, in their natural order."""

    def last(self) -> Chunk:
        """The last record alone, for sources with `last_by_default`."""
        raise NotImplementedError

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        """Raise RuleSyntaxError if `path` exists but is not this source's layout."""
        return None

    @classmethod
    def fields(cls, path: Path) -> frozenset[str] | None:
        """The field names an existing `path` has, or None when they cannot be told cheaply."""
        return None


class StoreSource(Source):
    """A tracker's store or a folder of eval logs, where each run (or log) is one record.

    A subclass lists its runs (`units`) and makes each one's record (`record`); a store
    that does not exist yet is pending, one that holds no runs is an error naming what
    it lacks (`holds`).
    """

    values = "name"
    runs_are_records = True
    folder = True
    store: ClassVar[str] = ""  # how messages name the store: "MLflow store"
    holds: ClassVar[str] = ""  # what a store without runs lacks; "": it may be empty

    def __init_subclass__(cls, *, name: str, store: str, holds: str = "") -> None:
        super().__init_subclass__()
        cls.name, cls.store, cls.holds = name, store, holds

    def chunks(self) -> Iterator[Chunk]:
        path, shown = self.target.path, self.target.shown
        if not path.exists():
            raise RulePending(f"the {self.store} {shown} does not exist yet ({path})")
        units = self.units(path)
        if not units and self.holds:
            raise RuleError(f"{shown} holds {self.holds}")
        for unit in units:
            yield self.record(unit)

    @abstractmethod
    def units(self, path: Path) -> Sequence[Any]:
        """The store's runs (files, folders, or runs read from a database), in natural order."""

    @abstractmethod
    def record(self, unit: Any) -> Chunk:
        """One run's record."""

    @classmethod
    @abstractmethod
    def files(cls, path: Path) -> list[Path]:
        """Every file a rule may read from the existing store at `path` (what `link` hashes)."""

    def place(self, file: Path) -> tuple[str, str]:
        """A file of the store: (its path relative to the store, how messages name it)."""
        path, shown = self.target.path, self.target.shown
        if not path.is_dir():
            return file.name, shown
        rel = file.relative_to(path).as_posix()
        return rel, f"{shown}/{rel}"


def points(series: Mapping[str, Sequence[tuple[Any, Any, Any]]]) -> dict[str, list[Point]]:
    """Metric histories of (step, time, value) tuples as Points."""
    return {name: [Point(*p) for p in history] for name, history in series.items()}


def latest(history: Sequence[Point]) -> Point:
    """A history's latest point, as MLflow defines it: highest step, then latest time."""
    return max(history, key=lambda p: (p.step or 0, p.time or 0.0))


def latest_values(
    series: Mapping[str, Sequence[Point]], start: float | None
) -> tuple[dict[str, Any], float | None]:
    """Each metric's latest value, and the time of the latest of them (`start` if none has one)."""
    record: dict[str, Any] = {}
    times = []
    for name, history in series.items():
        if history:
            last = latest(history)
            record[name] = last.value
            if last.time is not None:
                times.append(last.time)
    return record, max(times, default=start)


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class _Entry:
    name: str
    target: str | type[Source]
    extensions: tuple[str, ...]
    scheme: str | None


_REGISTRY: dict[str, _Entry] = {}
_BY_EXTENSION: dict[str, str] = {}
_BY_SCHEME: dict[str, str] = {}
_LOADED: dict[str, type[Source]] = {}


def register_source(
    name: str,
    target: str | type[Source],
    *,
    extensions: Sequence[str] = (),
    scheme: str | None = None,
) -> None:
    """Make a source available by file extension (`.json`) or scheme (`mlflow`).

    `target` is the class, or `"package.module:Class"` imported on first use.
    """
    exts = tuple(e.lower() for e in extensions)
    if not exts and scheme is None:
        raise ValueError(f"source {name!r} needs an extension or a scheme")
    _REGISTRY[name] = _Entry(name, target, exts, scheme)
    _LOADED.pop(name, None)
    for ext in exts:
        _BY_EXTENSION[ext] = name
    if scheme is not None:
        _BY_SCHEME[scheme] = name


def source_name(path: str, scheme: str | None) -> str | None:
    """The registered source for a scheme, or else for the path's extension; None if none."""
    if scheme is not None:
        return _BY_SCHEME.get(scheme)
    return _BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def schemes() -> tuple[str, ...]:
    return tuple(_BY_SCHEME)


def extensions() -> tuple[str, ...]:
    return tuple(_BY_EXTENSION)


def source_class(name: str) -> type[Source]:
    """The class registered under `name`, imported on first use."""
    if name in _LOADED:
        return _LOADED[name]
    entry = _REGISTRY[name]
    if isinstance(entry.target, str):
        module, _, attr = entry.target.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise RuleSyntaxError(f"the {name} source is not available: {e}") from None
    else:
        cls = entry.target
    _LOADED[name] = cls
    return cls


_PKG = "predtrack.rules.sources"
_BUILTIN: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("json", f"{_PKG}.json:JsonSource", (".json",), None),
    ("jsonl", f"{_PKG}.jsonl:JsonlSource", (".jsonl", ".ndjson"), None),
    ("csv", f"{_PKG}.csv:CsvSource", (".csv",), None),
    ("tsv", f"{_PKG}.csv:TsvSource", (".tsv",), None),
    ("mlflow", f"{_PKG}.mlflow:MlflowSource", (), "mlflow"),
    ("tensorboard", f"{_PKG}.tensorboard:TensorboardSource", (), "tensorboard"),
    ("wandb", f"{_PKG}.wandb:WandbSource", (), "wandb"),
    ("inspect", f"{_PKG}.inspect_logs:InspectSource", (), "inspect"),
    ("lmeval", f"{_PKG}.lmeval:LmevalSource", (), "lmeval"),
    ("sacred", f"{_PKG}.sacred:SacredSource", (), "sacred"),
)
for _name, _target, _exts, _scheme in _BUILTIN:
    register_source(_name, _target, extensions=_exts, scheme=_scheme)


# ---------------------------------------------------------------- helpers for sources

_DIGITS = re.compile(r"(\d+)")
_EPOCH_TEXT = re.compile(r"[0-9]{9,11}(?:\.[0-9]*)?")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders `run2` before `run10`."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(text))


def parse_time(value: Any) -> float | None:
    """A record's time as epoch seconds: an ISO-8601 string or epoch seconds, else None.

    An ISO time without an offset is read as UTC, so the result does not depend on the
    resolving machine's zone. Numbers outside 2001..2286 are not times (see _EPOCH_MIN).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        return v if math.isfinite(v) and _EPOCH_MIN <= v <= _EPOCH_MAX else None
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value):
        return parse_time(float(value))
    if isinstance(value, str) and 10 <= len(value) <= 40 and value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None
