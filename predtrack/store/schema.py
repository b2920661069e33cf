"""Schema revisions: a cheap check on every open, and init/upgrade through alembic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc, text

from predtrack.errors import StoreError
from predtrack.store.engine import Store, database_url, describe_db_error, sqlite_path

# Every revision in migrations/versions, oldest first. A test keeps this equal to alembic's
# script directory, so the check on every open needs no alembic import.
REVISIONS = ("0001", "0002")
HEAD_REVISION = REVISIONS[-1]
SQLITE_MAGIC = b"SQLite format 3\x00"


def migrations_dir() -> Path:
    """The alembic script directory: inside the wheel, or at the top of a source checkout."""
    from importlib.resources import files

    packaged = Path(str(files("predtrack"))) / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.exists():
        raise StoreError(f"no predtrack database at {path}: create one with `predtrack init`")
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}") from error
    if header and header != SQLITE_MAGIC:
        raise StoreError(f"{path} is not a predtrack database (not an SQLite file)")


def current_revision(store: Store) -> str | None:
    """The revision stamped in the database, or None when it has no predtrack schema."""
    try:
        with store.engine.connect() as conn:
            has_table = _has_version_table(conn)
            if not has_table:
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            conn.rollback()
    except exc.SQLAlchemyError as error:
        raise StoreError(describe_db_error(error, store.label)) from error
    return None if row is None else str(row[0])


def _has_version_table(conn: Any) -> bool:
    if conn.dialect.name == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    else:
        sql = "SELECT 1 FROM information_schema.tables WHERE table_name='alembic_version' AND table_schema=current_schema()"
    return conn.execute(text(sql)).first() is not None


def _existing(db: str | None) -> tuple[Store, Path | None]:
    """A Store on a database that must already exist (its file checked first)."""
    url = database_url(db)
    path = sqlite_path(url)
    if path is not None:
        _check_file(path)
    return Store(url), path


def _wrong_revision(label: str, revision: str | None) -> StoreError:
    """Why a database at `revision` (not the head) cannot be used as it is."""
    if revision is None:
        return StoreError(f"{label} has no predtrack schema: create one with `predtrack init`")
    if revision in REVISIONS:
        return StoreError(
            f"{label} is at schema revision {revision}, this predtrack needs {HEAD_REVISION}: "
            "run `predtrack db upgrade` (it backs the file up first)"
        )
    return StoreError(
        f"{label} is at schema revision {revision!r}, unknown to this predtrack "
        f"(newest known: {HEAD_REVISION}); it was written by a newer predtrack: upgrade predtrack"
    )


def open_store(db: str | None = None) -> Store:
    """Open an existing predtrack database at the head revision, or explain why not."""
    store, _ = _existing(db)
    revision = current_revision(store)
    if revision == HEAD_REVISION:
        return store
    store.dispose()
    raise _wrong_revision(store.label, revision)


def revision_info(db: str | None = None) -> dict[str, Any]:
    """The database's revision next to the newest one this predtrack knows."""
    store, _ = _existing(db)
    try:
        revision = current_revision(store)
    finally:
        store.dispose()
    return {
        "database": store.label,
        "revision": revision,
        "head": HEAD_REVISION,
        "up_to_date": revision == HEAD_REVISION,
    }


def _raw_sqlite(store: Store, *statements: str) -> list[Any]:
    """Run statements outside any transaction (PRAGMAs that are no-ops inside one)."""
    results = []
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for statement in statements:
            results.append(raw.execute(statement).fetchall())
    return results


def _run_migrations(store: Store, target: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    writer = store.engine.execution_options(predtrack_write=True)
    try:
        with writer.connect() as conn:
            if store.is_sqlite:
                # Batch mode rebuilds tables; with foreign keys on, dropping the old copy
                # can cascade. The PRAGMA is a no-op inside a transaction, so set it first.
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA foreign_keys=OFF")
            config.attributes["connection"] = conn
            command.upgrade(config, target)
            if store.is_sqlite:
                raw = conn.connection.driver_connection
                assert raw is not None
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                raw.execute("PRAGMA foreign_keys=ON")
                if broken:
                    raise StoreError(f"migration left {len(broken)} broken foreign keys")
    except exc.SQLAlchemyError as error:
        raise StoreError(describe_db_error(error, store.label)) from error


@dataclass
class InitResult:
    label: str
    revision: str
    created: bool
    journal: str | None


def init_store(db: str | None = None) -> InitResult:
    """Create the database at the head revision (or confirm it is there already)."""
    url = database_url(db)
    path = sqlite_path(url)
    if path is not None:
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a database file")
        if path.exists():
            _check_file(path)
        elif not path.parent.exists():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
    store = Store(url)
    try:
        revision = current_revision(store)
        if revision == HEAD_REVISION:
            return InitResult(store.label, revision, False, None)
        if revision is not None:
            raise _wrong_revision(store.label, revision)
        journal = None
        if store.is_sqlite:
            try:
                journal = str(_raw_sqlite(store, "PRAGMA journal_mode=WAL")[0][0][0])
            except Exception as error:  # WAL fails on some network file systems
                journal = f"delete ({error})"
        _run_migrations(store)
        return InitResult(store.label, HEAD_REVISION, True, journal)
    finally:
        store.dispose()


@dataclass
class UpgradeResult:
    label: str
    before: str | None
    after: str
    backup: Path | None


def upgrade_store(db: str | None = None, *, target: str = "head") -> UpgradeResult:
    """Back up a SQLite file, then migrate it to the newest revision."""
    store, path = _existing(db)
    try:
        before = current_revision(store)
        if before is None or before not in REVISIONS:
            raise _wrong_revision(store.label, before)
        if before == HEAD_REVISION and target == "head":
            return UpgradeResult(store.label, before, before, None)
        backup = None
        if path is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            backup = path.with_name(f"{path.name}.backup-{before}-{stamp}")
            # A file copy of a live WAL database can be torn; VACUUM INTO is consistent.
            _raw_sqlite(store, f"VACUUM INTO '{str(backup).replace(chr(39), chr(39) * 2)}'")
        _run_migrations(store, target)
        after = current_revision(store) or ""
        return UpgradeResult(store.label, before, after, backup)
    finally:
        store.dispose()
