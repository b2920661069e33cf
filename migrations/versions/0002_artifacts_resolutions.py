"""Artifacts (result files linked to an experiment) and resolutions (question outcomes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.String(32)  # UTCDateTime: ISO-8601 UTC text, identical on every backend


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("experiment_id", sa.Integer(), sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("is_uri", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.Integer()),
        sa.Column("mtime", TIME),
        sa.Column("linked_at", TIME, nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_artifacts_experiment_id", "artifacts", ["experiment_id"])
    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.Text()),
        sa.Column("k", sa.Integer()),
        sa.Column("n", sa.Integer()),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("rule", sa.Text()),
        sa.Column("artifact_id", sa.Integer(), sa.ForeignKey("artifacts.id")),
        sa.Column("artifact_path", sa.Text()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("detail", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("resolved_at", TIME, nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=False),
        sa.Column("supersedes", sa.Integer(), sa.ForeignKey("resolutions.id")),
    )
    op.create_index("ix_resolutions_question_id", "resolutions", ["question_id"])


def downgrade() -> None:
    op.drop_index("ix_resolutions_question_id", "resolutions")
    op.drop_table("resolutions")
    op.drop_index("ix_artifacts_experiment_id", "artifacts")
    op.drop_table("artifacts")
