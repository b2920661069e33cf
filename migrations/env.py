"""Alembic environment: predtrack always passes its own connection in `config.attributes`."""

from alembic import context
from sqlmodel import SQLModel

import predtrack.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through `predtrack init` or `predtrack db upgrade`")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
