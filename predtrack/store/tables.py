"""The rows predtrack reads and writes, and how each column is stored, without SQLAlchemy.

`store/models.py` declares the same tables as SQLModel classes for alembic; a test keeps the two
equal. This module exists because `import sqlmodel` alone costs more than the whole start-up
budget of `predtrack list` or `predict`: the hot path reads and writes through the DB-API with
these plain dataclasses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from predtrack.store.types import canonical_json, iso_z, parse_iso_z

# Column kinds: how a value is stored, and how it appears in a ledger payload.
INT, REAL, BOOL, TEXT, TIME, JSON = "int", "real", "bool", "text", "time", "json"
_KINDS = {"int": INT, "float": REAL, "bool": BOOL, "str": TEXT, "datetime": TIME}


@dataclass
class Row:
    """Base of the table rows; `TABLE` names the table."""

    TABLE: ClassVar[str] = ""


@dataclass
class Experiment(Row):
    TABLE: ClassVar[str] = "experiments"
    id: int
    name: str
    created_at: datetime
    created_by: str
    description: str | None = None
    locked_at: datetime | None = None
    lock_reason: str | None = None


@dataclass
class Question(Row):
    TABLE: ClassVar[str] = "questions"
    id: int
    experiment_id: int
    title: str
    kind: str
    created_at: datetime
    created_by: str
    key: str | None = None
    unit: str | None = None
    lower: float | None = None
    upper: float | None = None
    categories: list[str] | None = None
    ordered: bool = False
    rule: str | None = None
    rule_dir: str | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    rule_hint: str | None = None
    if_run_fails: str | None = None

    def label(self, experiment: str) -> str:
        """`experiment/key`, or `experiment#id` for a question without a key."""
        return f"{experiment}/{self.key}" if self.key else f"{experiment}#{self.id}"

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The question's declared bounds, or None."""
        if self.lower is None or self.upper is None:
            return None
        return (self.lower, self.upper)

    @property
    def support(self) -> tuple[float, float] | None:
        """The range forecasts are scored on: [0, 1] for fractions, else the bounds."""
        return (0.0, 1.0) if self.kind == "fraction" else self.bounds


@dataclass
class Prediction(Row):
    TABLE: ClassVar[str] = "predictions"
    id: int
    question_id: int
    forecaster: str
    made_at: datetime
    forecast: str
    distribution: dict[str, Any]
    note: str | None = None
    late: bool = False
    late_reason: str | None = None
    signature: str | None = None
    key_id: int | None = None
    commitment_id: int | None = None


@dataclass
class Artifact(Row):
    TABLE: ClassVar[str] = "artifacts"
    id: int
    experiment_id: int
    location: str
    path: str
    linked_at: datetime
    linked_by: str
    is_uri: bool = False
    sha256: str | None = None
    size: int | None = None
    mtime: datetime | None = None
    path_hint: str | None = None
    supersedes: int | None = None


@dataclass
class Resolution(Row):
    TABLE: ClassVar[str] = "resolutions"
    id: int
    question_id: int
    status: str
    source: str
    resolved_at: datetime
    resolved_by: str
    outcome: Any = None
    k: int | None = None
    n: int | None = None
    rule: str | None = None
    artifact_id: int | None = None
    artifact_path: str | None = None
    sha256: str | None = None
    detail: str | None = None
    reason: str | None = None
    supersedes: int | None = None
    evidence: list[int] | None = None
    evidence_digest: str | None = None
    data_time: datetime | None = None
    data_time_source: str | None = None


@dataclass
class Key(Row):
    TABLE: ClassVar[str] = "keys"
    id: int
    forecaster: str
    public_key: str
    fingerprint: str
    valid_from: datetime
    added_at: datetime
    added_by: str
    revoked_at: datetime | None = None
    supersedes: int | None = None


@dataclass
class Commitment(Row):
    TABLE: ClassVar[str] = "commitments"
    id: int
    question_id: int
    forecaster: str
    digest: str
    committed_at: datetime
    revealed_at: datetime | None = None


@dataclass
class Anchor(Row):
    TABLE: ClassVar[str] = "anchors"
    id: int
    kind: str
    seq: int
    head_hash: str
    created_at: datetime
    created_by: str
    authority: str | None = None
    time: datetime | None = None
    token: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool


@dataclass(frozen=True)
class Table:
    """A table's name, row class and columns in their stored order."""

    name: str
    row: type[Row]
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _table(row: type[Row]) -> Table:
    columns = []
    for f in fields(row):
        annotation = str(f.type)
        kind = _KINDS.get(annotation.replace(" | None", ""), JSON)
        columns.append(Column(f.name, kind, "None" in annotation or annotation == "Any"))
    return Table(row.TABLE, row, tuple(columns))


# The domain tables the ledger describes, in dependency order (parents first).
DOMAIN: dict[str, Table] = {
    t.name: t
    for t in map(
        _table, (Experiment, Question, Key, Commitment, Prediction, Artifact, Resolution, Anchor)
    )
}


def table_of(row: Row | type[Row]) -> Table:
    """The table a row (or row class) belongs to."""
    return DOMAIN[row.TABLE]


# --- conversions between Python values, stored values and ledger values ---


def _to_db(kind: str) -> Callable[[Any], Any]:
    if kind == TIME:
        return lambda v: None if v is None else (v if isinstance(v, str) else iso_z(v))
    if kind == JSON:
        return lambda v: None if v is None else canonical_json(v)
    if kind == BOOL:
        return lambda v: None if v is None else bool(v)
    return lambda v: v


def _from_db(kind: str) -> Callable[[Any], Any]:
    if kind == TIME:
        return lambda v: None if v is None else parse_iso_z(v)
    if kind == JSON:
        return lambda v: None if v is None else json.loads(v)
    if kind == BOOL:
        return lambda v: None if v is None else bool(v)
    if kind == REAL:
        return lambda v: None if v is None else float(v)
    return lambda v: v


def _to_ledger(kind: str) -> Callable[[Any], Any]:
    if kind == TIME:
        return lambda v: None if v is None else (v if isinstance(v, str) else iso_z(v))
    if kind == BOOL:
        return lambda v: None if v is None else bool(v)
    if kind == REAL:
        return lambda v: None if v is None else float(v)
    if kind == INT:
        return lambda v: None if v is None else int(v)
    return lambda v: v


@dataclass(frozen=True)
class Codec:
    """Per-table converters, built once: rows to parameters, results to rows, rows to payloads."""

    table: Table
    to_db: tuple[Callable[[Any], Any], ...]
    from_db: tuple[Callable[[Any], Any], ...]
    to_ledger: tuple[Callable[[Any], Any], ...]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """A row's values in stored form, in column order (for INSERT)."""
        return tuple(
            f(values.get(c.name)) for f, c in zip(self.to_db, self.table.columns, strict=True)
        )

    def payload(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A row in its ledger form: times as `...Z` text, JSON columns as JSON values."""
        return {
            c.name: f(values.get(c.name))
            for f, c in zip(self.to_ledger, self.table.columns, strict=True)
        }

    def row(self, stored: Sequence[Any]) -> Any:
        """A row object from a SELECT of every column in order."""
        return self.table.row(**{
            c.name: f(v)
            for f, c, v in zip(self.from_db, self.table.columns, stored, strict=True)
        })  # fmt: skip


_CODECS: dict[str, Codec] = {}


def codec(table: Table | str) -> Codec:
    """The converters of a table (cached)."""
    name = table if isinstance(table, str) else table.name
    found = _CODECS.get(name)
    if found is None:
        spec = DOMAIN[name]
        kinds = [c.kind for c in spec.columns]
        found = _CODECS[name] = Codec(
            spec,
            tuple(map(_to_db, kinds)),
            tuple(map(_from_db, kinds)),
            tuple(map(_to_ledger, kinds)),
        )
    return found


def values_of(row: Row) -> dict[str, Any]:
    """A row object's column values by name."""
    return {c.name: getattr(row, c.name) for c in table_of(row).columns}


def select_all(table: Table | str, alias: str = "") -> str:
    """`SELECT` list of every column of a table (optionally qualified by an alias)."""
    spec = DOMAIN[table] if isinstance(table, str) else table
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{name}"' for name in spec.names)
