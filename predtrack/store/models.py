"""The SQLModel tables: one class per table, nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from predtrack.store.types import JSONText, UTCDateTime


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


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    experiment_id: int = Field(foreign_key="experiments.id", nullable=False, index=True)
    location: str = Field(sa_column=Column(Text, nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    is_uri: bool = False
    sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    size: int | None = None
    mtime: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    linked_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    linked_by: str = Field(sa_column=Column(String(200), nullable=False))


class Resolution(SQLModel, table=True):
    __tablename__ = "resolutions"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    question_id: int = Field(foreign_key="questions.id", nullable=False, index=True)
    status: str = Field(sa_column=Column(String(20), nullable=False))
    outcome: Any = Field(default=None, sa_column=Column(JSONText))
    k: int | None = None
    n: int | None = None
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


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger"

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    prev: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))


# The domain tables the ledger describes, in dependency order (parents first).
DOMAIN_TABLES: dict[str, type[SQLModel]] = {
    "experiments": Experiment,
    "questions": Question,
    "predictions": Prediction,
    "artifacts": Artifact,
    "resolutions": Resolution,
}
