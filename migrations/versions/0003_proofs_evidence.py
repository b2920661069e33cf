"""Evidence and run records, signatures, commitments, anchors; ledger times and guards.

- ledger: `at` (the entry's time, also inside its payload), and a trigger that takes only the
  next entry after the head (no REPLACE of an old entry, no gap, no duplicate hash).
- questions: `rule_hint` (the rule folder's absolute path when it was registered), `if_run_fails`.
- predictions: `signature`, `key_id`, `commitment_id` (SSH signatures and sealed forecasts).
- artifacts: `path_hint`, `supersedes`; `size` as a 64-bit integer.
- resolutions: `evidence` (artifact ids), `evidence_digest`, `data_time`, `data_time_source`;
  `k` and `n` as 64-bit integers.
- new tables `keys`, `commitments`, `anchors`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from predtrack.store import triggers

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.String(32)  # UTCDateTime: ISO-8601 UTC text, identical on every backend


def _add_reference(table: str, column: str, target: str, dialect: str) -> None:
    """A nullable integer column referencing `target`.id, without rebuilding the table."""
    if dialect == "sqlite":  # SQLite's ADD COLUMN takes a REFERENCES clause on a NULL column
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id")))


def _drop_guards(dialect: str) -> None:
    for name in ("ledger_no_update", "ledger_no_delete", "ledger_append_next"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if dialect == "sqlite" else " ON ledger"))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("forecaster", sa.String(200), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=False),
        sa.Column("valid_from", TIME, nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", TIME),
        sa.Column("supersedes", sa.Integer(), sa.ForeignKey("keys.id")),
    )
    op.create_index("ix_keys_forecaster", "keys", ["forecaster"])
    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("forecaster", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("committed_at", TIME, nullable=False),
        sa.Column("revealed_at", TIME),
    )
    op.create_index("ix_commitments_question_id", "commitments", ["question_id"])
    op.create_table(
        "anchors",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("authority", sa.Text()),
        sa.Column("time", TIME),
        sa.Column("token", sa.Text()),
        sa.Column("location", sa.Text()),
    )
    # Plain ADD COLUMN, no table rebuild (a rebuild would drop triggers and copy every row).
    op.add_column("questions", sa.Column("rule_hint", sa.Text()))
    op.add_column("questions", sa.Column("if_run_fails", sa.String(20)))
    op.add_column("predictions", sa.Column("signature", sa.Text()))
    _add_reference("predictions", "key_id", "keys", dialect)
    _add_reference("predictions", "commitment_id", "commitments", dialect)
    op.add_column("artifacts", sa.Column("path_hint", sa.Text()))
    _add_reference("artifacts", "supersedes", "artifacts", dialect)
    op.add_column("resolutions", sa.Column("evidence", sa.Text()))
    op.add_column("resolutions", sa.Column("evidence_digest", sa.String(64)))
    op.add_column("resolutions", sa.Column("data_time", TIME))
    op.add_column("resolutions", sa.Column("data_time_source", sa.String(20)))
    if dialect != "sqlite":  # SQLite integers are 64-bit already
        op.alter_column("artifacts", "size", type_=sa.BigInteger())
        op.alter_column("resolutions", "k", type_=sa.BigInteger())
        op.alter_column("resolutions", "n", type_=sa.BigInteger())

    # The entry time as a column, filled in from each payload (the guards are lifted for it).
    op.add_column("ledger", sa.Column("at", sa.String(32)))
    _drop_guards(dialect)
    if dialect == "sqlite":
        op.execute("UPDATE ledger SET at = json_extract(payload, '$.at')")
        for statement in triggers.sqlite_statements():
            op.execute(statement)
    else:
        op.execute("UPDATE ledger SET at = payload::json->>'at'")
        for statement in triggers.pg_statements():
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_guards(dialect)
    if dialect != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS predtrack_ledger_next()")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("at")
    for table, columns in (
        ("resolutions", ("evidence", "evidence_digest", "data_time", "data_time_source")),
        ("artifacts", ("path_hint", "supersedes")),
        ("predictions", ("signature", "key_id", "commitment_id")),
        ("questions", ("rule_hint", "if_run_fails")),
    ):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
    op.drop_table("anchors")
    op.drop_index("ix_commitments_question_id", "commitments")
    op.drop_table("commitments")
    op.drop_index("ix_keys_forecaster", "keys")
    op.drop_table("keys")
    if dialect == "sqlite":
        for name in ("ledger_no_update", "ledger_no_delete"):
            op.execute(triggers.SQLITE[name])
    else:
        for statement in triggers.pg_statements():
            if "ledger_append_next" not in statement and "predtrack_ledger_next" not in statement:
                op.execute(statement)
