"""The SQLModel tables: one class per table, the schema alembic migrates (not the hot path).

The runtime reads and writes go through `store/tables.py` (plain dataclasses over the DB-API);
a test keeps both descriptions of every table equal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from predtrack.store.types import canonical_json, iso_z, parse_iso_z


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as ISO-8601 UTC text (`2026-11-25T12:00:00.000000Z`)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else iso_z(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return None if value is None else parse_iso_z(value)


class JSONText(TypeDecorator[Any]):
    """A JSON value stored as canonical JSON text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


class Experiment(SQLModel, table=True):
    __tablename__ = "experiments"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    description: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    locked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lock_reason: str | None = Field(default=None, sa_column=Column(Text))


class Question(SQLModel, table=True):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("experiment_id", "key", name="uq_questions_experiment_key"),)

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    experiment_id: int = Field(foreign_key="experiments.id", nullable=False, index=True)
    key: str | None = Field(default=None, sa_column=Column(String(200)))
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    unit: str | None = Field(default=None, sa_column=Column(String(200)))
    lower: float | None = None
    upper: float | None = None
    categories: list[str] | None = Field(default=None, sa_column=Column(JSONText))
    ordered: bool = False
    rule: str | None = Field(default=None, sa_column=Column(Text))
    rule_dir: str | None = Field(default=None, sa_column=Column(Text))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONText, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    rule_hint: str | None = Field(default=None, sa_column=Column(Text))
    if_run_fails: str | None = Field(default=None, sa_column=Column(String(20)))


class Key(SQLModel, table=True):
    __tablename__ = "keys"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    forecaster: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(sa_column=Column(String(100), nullable=False))
    valid_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    added_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    added_by: str = Field(sa_column=Column(String(200), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    supersedes: int | None = Field(default=None, foreign_key="keys.id")


class Commitment(SQLModel, table=True):
    __tablename__ = "commitments"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    question_id: int = Field(foreign_key="questions.id", nullable=False, index=True)
    forecaster: str = Field(sa_column=Column(String(200), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    committed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revealed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Prediction(SQLModel, table=True):
    __tablename__ = "predictions"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    question_id: int = Field(foreign_key="questions.id", nullable=False, index=True)
    forecaster: str = Field(sa_column=Column(String(200), nullable=False))
    made_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    forecast: str = Field(sa_column=Column(Text, nullable=False))
    distribution: dict[str, Any] = Field(sa_column=Column(JSONText, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    late: bool = False
    late_reason: str | None = Field(default=None, sa_column=Column(Text))
    signature: str | None = Field(default=None, sa_column=Column(Text))
    key_id: int | None = Field(default=None, foreign_key="keys.id")
    commitment_id: int | None = Field(default=None, foreign_key="commitments.id")


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    experiment_id: int = Field(foreign_key="experiments.id", nullable=False, index=True)
    location: str = Field(sa_column=Column(Text, nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    is_uri: bool = False
    sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    size: int | None = Field(default=None, sa_column=Column(BigInteger))
    mtime: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    linked_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    linked_by: str = Field(sa_column=Column(String(200), nullable=False))
    path_hint: str | None = Field(default=None, sa_column=Column(Text))
    supersedes: int | None = Field(default=None, foreign_key="artifacts.id")


class Resolution(SQLModel, table=True):
    __tablename__ = "resolutions"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    question_id: int = Field(foreign_key="questions.id", nullable=False, index=True)
    status: str = Field(sa_column=Column(String(20), nullable=False))
    outcome: Any = Field(default=None, sa_column=Column(JSONText))
    k: int | None = Field(default=None, sa_column=Column(BigInteger))
    n: int | None = Field(default=None, sa_column=Column(BigInteger))
    source: str = Field(sa_column=Column(String(20), nullable=False))
    rule: str | None = Field(default=None, sa_column=Column(Text))
    artifact_id: int | None = Field(default=None, foreign_key="artifacts.id")
    artifact_path: str | None = Field(default=None, sa_column=Column(Text))
    sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    detail: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    resolved_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_by: str = Field(sa_column=Column(String(200), nullable=False))
    supersedes: int | None = Field(default=None, foreign_key="resolutions.id")
    evidence: list[int] | None = Field(default=None, sa_column=Column(JSONText))
    evidence_digest: str | None = Field(default=None, sa_column=Column(String(64)))
    data_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    data_time_source: str | None = Field(default=None, sa_column=Column(String(20)))


class Anchor(SQLModel, table=True):
    __tablename__ = "anchors"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    head_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    authority: str | None = Field(default=None, sa_column=Column(Text))
    time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    token: str | None = Field(default=None, sa_column=Column(Text))
    location: str | None = Field(default=None, sa_column=Column(Text))


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger"

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    prev: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    at: str | None = Field(default=None, sa_column=Column(String(32)))


# The domain tables the ledger describes, in dependency order (parents first).
DOMAIN_TABLES: dict[str, type[SQLModel]] = {
    "experiments": Experiment,
    "questions": Question,
    "keys": Key,
    "commitments": Commitment,
    "predictions": Prediction,
    "artifacts": Artifact,
    "resolutions": Resolution,
    "anchors": Anchor,
}
