"""Schema revisions: the cheap check, upgrades with a backup, and migrations that match the models."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from predtrack.store.schema import HEAD_REVISION, REVISIONS, migrations_dir
from tests.conftest import Run, head_of, sa_engine, sql


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def test_revision_constants_match_the_scripts() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == HEAD_REVISION
    ordered = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert tuple(ordered) == REVISIONS


def test_migrations_build_exactly_the_models(store_db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import predtrack.store.models  # noqa: F401

    engine = sa_engine(store_db)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_the_runtime_tables_match_the_models() -> None:
    """store/tables.py (the DB-API hot path) describes exactly the SQLModel tables."""
    from sqlalchemy import BigInteger, Boolean, Float, Integer

    from predtrack.store import models, tables
    from predtrack.store.models import JSONText, UTCDateTime

    kinds = {UTCDateTime: "time", JSONText: "json", Boolean: "bool", Float: "real"}
    assert list(tables.DOMAIN) == list(models.DOMAIN_TABLES)
    for name, model in models.DOMAIN_TABLES.items():
        sa_table = model.__table__  # type: ignore[attr-defined]
        runtime = tables.DOMAIN[name]
        assert sorted(runtime.names) == sorted(c.name for c in sa_table.columns), name
        for column in sa_table.columns:
            spec = next(c for c in runtime.columns if c.name == column.name)
            kind = next((k for t, k in kinds.items() if isinstance(column.type, t)), None)
            if kind is None:
                kind = "int" if isinstance(column.type, Integer | BigInteger) else "text"
            assert spec.kind == kind, (name, column.name)
            assert spec.nullable == bool(column.nullable) or column.primary_key, (name, column.name)


def downgrade(url: str, target: str) -> None:
    config = alembic_config()
    engine = sa_engine(url)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, target)
        conn.commit()
    engine.dispose()


def test_first_revision_upgrades_with_data_intact(store_db: str, run: Run) -> None:
    run("predict", "Reaches cheese", "30%", "-e", "maze", "--key", "tl25")
    run("predict", "Flip", "10 to 20", "--kind", "quantity", "-e", "maze", "--key", "flip")
    before = json.loads(run("list", "--json").output)
    head = head_of(run)
    downgrade(store_db, "0001")

    refused = run("list", code=2)
    assert "revision 0001" in refused.output and "predtrack db upgrade" in refused.output
    assert "0001" in run("db", "current").output

    out = run("db", "upgrade").output
    assert f"from revision 0001 to {HEAD_REVISION}" in out
    if not store_db.startswith("postgresql"):
        backups = list(Path(store_db).parent.glob("predictions.db.backup-0001-*"))
        assert len(backups) == 1 and "Backed up to" in out
        assert sql(str(backups[0]), "SELECT version_num FROM alembic_version") == [("0001",)]
    assert json.loads(run("list", "--json").output) == before
    assert head_of(run) == head
    assert run("verify").output.startswith("OK")
    assert "nothing to do" in run("db", "upgrade").output


def test_a_database_from_a_newer_predtrack_is_refused(store_db: str, run: Run) -> None:
    sql(store_db, "UPDATE alembic_version SET version_num = '9999'")
    result = run("list", code=2)
    assert "newer predtrack" in result.output
    assert "newer predtrack" in run("db", "upgrade", code=2).output


def test_init_twice_is_harmless(store_db: str, run: Run) -> None:
    assert "already at schema revision" in run("init").output


def test_the_revision_check_does_not_import_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    from predtrack.store.schema import init_store

    init_store(str(tmp_path / "p.db"))
    code = (
        "import sys; from predtrack.store.schema import open_store; "
        f"open_store({str(tmp_path / 'p.db')!r}); "
        "print(any(m.split('.')[0] == 'alembic' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
