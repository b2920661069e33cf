"""Core tables: experiments, questions, predictions and the append-only ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.String(32)  # UTCDateTime: ISO-8601 UTC text, identical on every backend


def ledger_triggers(dialect: str) -> list[str]:
    """SQL that makes the ledger table append-only (also re-run after any batch rebuild)."""
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger "
            "BEGIN SELECT RAISE(ABORT, 'the predtrack ledger is append-only'); END",
            "CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger "
            "BEGIN SELECT RAISE(ABORT, 'the predtrack ledger is append-only'); END",
        ]
    return [
        "CREATE OR REPLACE FUNCTION predtrack_ledger_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the predtrack ledger is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger "
        "FOR EACH ROW EXECUTE FUNCTION predtrack_ledger_append_only()",
        "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
        "FOR EACH ROW EXECUTE FUNCTION predtrack_ledger_append_only()",
    ]


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("locked_at", TIME),
        sa.Column("lock_reason", sa.Text()),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("experiment_id", sa.Integer(), sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("key", sa.String(200)),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(200)),
        sa.Column("lower", sa.Float()),
        sa.Column("upper", sa.Float()),
        sa.Column("categories", sa.Text()),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.Text()),
        sa.Column("rule_dir", sa.Text()),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("experiment_id", "key", name="uq_questions_experiment_key"),
    )
    op.create_index("ix_questions_experiment_id", "questions", ["experiment_id"])
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("forecaster", sa.String(200), nullable=False),
        sa.Column("made_at", TIME, nullable=False),
        sa.Column("forecast", sa.Text(), nullable=False),
        sa.Column("distribution", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("late_reason", sa.Text()),
    )
    op.create_index("ix_predictions_question_id", "predictions", ["question_id"])
    op.create_table(
        "ledger",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    for statement in ledger_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP TRIGGER IF EXISTS ledger_no_update" + ("" if dialect == "sqlite" else " ON ledger"))
    op.execute("DROP TRIGGER IF EXISTS ledger_no_delete" + ("" if dialect == "sqlite" else " ON ledger"))
    if dialect != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS predtrack_ledger_append_only()")
    op.drop_table("ledger")
    op.drop_index("ix_predictions_question_id", "predictions")
    op.drop_table("predictions")
    op.drop_index("ix_questions_experiment_id", "questions")
    op.drop_table("questions")
    op.drop_table("experiments")
