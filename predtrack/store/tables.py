"""The rows predtrack reads and writes, and how each column is stored, without SQLAlchemy.

`store/models.py` declares the same tables as SQLModel classes for alembic; a test keeps the two
equal. This module exists because `import sqlmodel` alone costs more than the whole start-up
budget of `predtrack list` or `predict`: the hot path reads and writes through the DB-API with
these plain dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from predtrack.store.types import canonical_json, iso_z, parse_iso_z, parse_json

# Column kinds: how a value is stored, and how it appears in a ledger payload.
INT, REAL, BOOL, TEXT, TIME, JSON = "int", "real", "bool", "text", "time", "json"
_KINDS = {"int": INT, "float": REAL, "bool": BOOL, "str": TEXT, "datetime": TIME}


@dataclass(slots=True)
class Row:
    """Base of the table rows; `TABLE` names the table."""

    TABLE: ClassVar[str] = ""


@dataclass(slots=True)
class Experiment(Row):
    TABLE: ClassVar[str] = "experiments"
    id: int
    name: str
    created_at: datetime
    created_by: str
    description: str | None = None
    locked_at: datetime | None = None
    lock_reason: str | None = None


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class Commitment(Row):
    TABLE: ClassVar[str] = "commitments"
    id: int
    question_id: int
    forecaster: str
    digest: str
    committed_at: datetime
    revealed_at: datetime | None = None


@dataclass(slots=True)
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
#
# Each table's converters are generated once as straight-line functions (one expression per
# column): a bulk file converts a million rows, and a loop over per-column lambdas cost more
# than the database's own work.


def _time_text(v: Any, _memo: dict[Any, str] = {}) -> Any:  # noqa: B006 - a memo
    """A time in stored form; equal datetimes (one write's time, one file's mtime) format once."""
    if v is None or isinstance(v, str):
        return v
    text = _memo.get(v)
    if text is None:
        text = iso_z(v)  # equal aware datetimes are one instant, so one UTC text
        if len(_memo) >= 4096:
            _memo.clear()
        _memo[v] = text
    return text


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:  # the C encoder json.dumps itself uses, made once (json.dumps makes one per call)
    from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

    _ENCODE = c_make_encoder(None, _refuse, encode_basestring, None, ":", ",", True, False, False)
except ImportError:  # pragma: no cover - CPython always has it
    _ENCODE = None


def fast_canonical_json(value: Any) -> str:
    """`canonical_json` (the same text) for a value without reference cycles, 40% faster on
    the small values of one column."""
    if _ENCODE is None:  # pragma: no cover
        return canonical_json(value)
    return "".join(_ENCODE(value, 0))


def _json_text(v: Any) -> Any:
    return None if v is None else fast_canonical_json(v)


def _bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _float(v: Any) -> Any:
    return None if v is None else float(v)


def _int(v: Any) -> Any:
    return None if v is None else int(v)


def _parse_time(v: Any) -> Any:
    return None if v is None else parse_iso_z(v)


def _parse_json(v: Any) -> Any:
    return None if v is None else parse_json(v)


_TO_DB = {TIME: "_time_text", JSON: "_json_text", BOOL: "_bool"}
_TO_LEDGER = {TIME: "_time_text", BOOL: "_bool", REAL: "_float", INT: "_int"}
_FROM_DB = {TIME: "_parse_time", JSON: "_parse_json", BOOL: "_bool", REAL: "_float"}


def _wrap(function: str | None, value: str) -> str:
    return value if function is None else f"{function}({value})"


@dataclass(frozen=True)
class Codec:
    """Per-table converters, built once: rows to parameters, results to rows, rows to payloads.

    `params`/`payload` take column values by name (missing ones are None); `params_of` and
    `payload_of` take a tuple of every column's value in column order (bulk writes).
    """

    table: Table
    params: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    payload: Callable[[Mapping[str, Any]], dict[str, Any]]
    params_of: Callable[[Sequence[Any]], tuple[Any, ...]]
    payload_of: Callable[[Sequence[Any]], dict[str, Any]]
    row: Callable[[Sequence[Any]], Any]  # a row object from a SELECT of every column in order
    params_many: Callable[..., list[tuple[Any, ...]]]  # (rows, memo=None): `params_of` of each
    to_db: dict[str, Callable[[Any], Any]]  # one column's value in stored form
    to_ledger: dict[str, Callable[[Any], Any]]  # one column's value in ledger form


def _compile(spec: Table) -> Codec:
    """Generate the converters of one table as Python source, compiled once."""
    kinds = [c.kind for c in spec.columns]
    by_name = [f"g({c.name!r})" for c in spec.columns]
    by_index = [f"t[{i}]" for i in range(len(spec.columns))]

    def tuple_of(table: dict[str, str], values: list[str], json: str = "_json_text") -> str:
        parts = [
            _wrap(json if k == JSON and table is _TO_DB else table.get(k), v)
            for k, v in zip(kinds, values, strict=True)
        ]
        return "(" + "".join(f"{p}, " for p in parts) + ")"

    def dict_of(values: list[str]) -> str:
        parts = [
            f"{c.name!r}: {_wrap(_TO_LEDGER.get(k), v)}"
            for c, k, v in zip(spec.columns, kinds, values, strict=True)
        ]
        return "{" + ", ".join(parts) + "}"

    from_db = ", ".join(_wrap(_FROM_DB.get(k), f"s[{i}]") for i, k in enumerate(kinds))
    source = f"""
def params(values):
    g = values.get
    return {tuple_of(_TO_DB, by_name)}

def payload(values):
    g = values.get
    return {dict_of(by_name)}

def params_of(t):
    return {tuple_of(_TO_DB, by_index)}

def payload_of(t):
    return {dict_of(by_index)}

def row(s):
    return _row({from_db})

def params_many(rows, memo=None):
    # Rows of one bulk write share their distribution objects: each is encoded once.
    if memo is None:
        memo = {{}}
    def _memo_json(v):
        if v is None:
            return None
        hit = memo.get(id(v))
        if hit is None or hit[0] is not v:
            hit = memo[id(v)] = (v, _json_text(v))
        return hit[1]
    return [{tuple_of(_TO_DB, by_index, "_memo_json")} for t in rows]
"""
    namespace: dict[str, Any] = {
        "_row": spec.row,
        **{f.__name__: f for f in (_time_text, _json_text, _bool, _float, _int)},
        **{f.__name__: f for f in (_parse_time, _parse_json)},
    }
    exec(compile(source, f"<codec {spec.name}>", "exec"), namespace)
    identity: Callable[[Any], Any] = _same_value
    return Codec(
        spec,
        params=namespace["params"],
        payload=namespace["payload"],
        params_of=namespace["params_of"],
        payload_of=namespace["payload_of"],
        row=namespace["row"],
        params_many=namespace["params_many"],
        to_db={c.name: namespace.get(_TO_DB.get(c.kind, ""), identity) for c in spec.columns},
        to_ledger={
            c.name: namespace.get(_TO_LEDGER.get(c.kind, ""), identity) for c in spec.columns
        },
    )


def _same_value(v: Any) -> Any:
    return v


_CODECS: dict[str, Codec] = {}


def codec(table: Table | str) -> Codec:
    """The converters of a table (cached)."""
    name = table if isinstance(table, str) else table.name
    found = _CODECS.get(name)
    if found is None:
        found = _CODECS[name] = _compile(DOMAIN[name])
    return found


def values_of(row: Row) -> dict[str, Any]:
    """A row object's column values by name."""
    return {c.name: getattr(row, c.name) for c in table_of(row).columns}


def select_all(table: Table | str, alias: str = "") -> str:
    """`SELECT` list of every column of a table (optionally qualified by an alias)."""
    spec = DOMAIN[table] if isinstance(table, str) else table
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{name}"' for name in spec.names)
