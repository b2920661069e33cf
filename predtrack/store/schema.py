"""Schema revisions: a cheap check on every open, and `init`/`db upgrade` through alembic.

The check reads one row of `alembic_version` through the DB-API and never imports alembic or
SQLAlchemy; only `init` and `db upgrade` do.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import InputError, StoreError
from predtrack.output import Result
from predtrack.store.engine import SQLITE_MAGIC, Location, Store, describe_db_error, locate

# Every revision in migrations/versions, oldest first. A test keeps this equal to alembic's
# script directory, so the check on every open needs no alembic import.
REVISIONS = ("0001", "0002", "0003")
HEAD_REVISION = REVISIONS[-1]


def migrations_dir() -> Path:
    """The alembic script directory: inside the wheel, or at the top of a source checkout."""
    from importlib.resources import files

    packaged = Path(str(files("predtrack"))) / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a database file")
    if not path.exists():
        if not path.parent.is_dir():
            raise InputError(f"no database at {path}: the folder {path.parent} does not exist")
        raise InputError(
            f"no database file at {path} (create one there with `predtrack init`, "
            "or name another with --db or PREDTRACK_DB)"
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}") from error
    if header != SQLITE_MAGIC:
        raise InputError(f"{path} is not a predtrack database (not an SQLite file)")


def current_revision(store: Store) -> str | None:
    """The revision stamped in the database, or None when it has no predtrack schema."""
    if store.is_sqlite:
        probe = "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    else:
        probe = (
            "SELECT 1 FROM information_schema.tables WHERE table_name='alembic_version' "
            "AND table_schema=current_schema()"
        )
    with store.read() as session:
        if session.first(probe) is None:
            return None
        row = session.first("SELECT version_num FROM alembic_version")
    return None if row is None else str(row[0])


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


def _existing(db: str | None) -> Store:
    """A Store on a database that must already exist (its file checked first)."""
    location = locate(db)
    if location.path is not None:
        _check_file(location.path)
    return Store(location)


def open_store(db: str | None = None) -> Store:
    """Open an existing predtrack database at the head revision, or explain why not."""
    store = _existing(db)
    revision = current_revision(store)
    if revision == HEAD_REVISION:
        return store
    store.dispose()
    raise _wrong_revision(store.label, revision)


def revision_info(db: str | None = None) -> dict[str, Any]:
    """The database's revision next to the newest one this predtrack knows."""
    store = _existing(db)
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


def _run_migrations(location: Location, target: str = "head") -> None:
    """Run alembic on the store in one transaction (SQLite: foreign keys off around it)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, exc

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    engine = create_engine(location.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            if location.backend == "sqlite":
                # Batch mode rebuilds tables; with foreign keys on, dropping the old copy can
                # cascade. The PRAGMA is a no-op inside a transaction, so set it first.
                raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, target)
            if location.backend == "sqlite":
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()  # type: ignore[union-attr]
                if broken:
                    raise StoreError(f"migration left {len(broken)} broken foreign keys")
    except exc.SQLAlchemyError as error:
        raise StoreError(describe_db_error(getattr(error, "orig", error), location.label)) from None
    finally:
        engine.dispose()


@dataclass
class InitResult(Result):
    """What `init` did."""

    database: str
    revision: str
    created: bool
    journal: str | None


def _init_sqlite(path: Path, fill: Callable[[str], None] | None = None) -> str:
    """Build a new SQLite store in a temporary file beside `path` (filled by `fill`, given its
    path), then link it into place.

    A kill at any moment leaves no store or a complete one at the newest revision.
    """
    import sqlite3

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".init")
    os.close(handle)
    try:
        _run_migrations(Location("sqlite", Path(temporary), url=temporary))
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            journal = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.Error as error:  # WAL fails on some network file systems
            journal = f"delete ({error})"
        finally:
            conn.close()
        if fill is not None:
            fill(temporary)
        try:
            os.link(temporary, path)  # fails if another init got there first
        except FileExistsError:
            if path.stat().st_size:
                raise StoreError(f"{path} was created by another process meanwhile") from None
            os.replace(temporary, path)
        return journal
    finally:
        Path(temporary).unlink(missing_ok=True)


def init_store(db: str | None = None, *, fill: Callable[[str], None] | None = None) -> InitResult:
    """Create the database at the head revision (or confirm it is there already); `fill` (an
    import) then writes into it, given its location: a new SQLite file appears only filled."""
    location = locate(db)
    path = location.path
    if path is not None:
        if path.is_dir():
            raise InputError(f"{path} is a directory, not a database file")
        if not path.parent.is_dir():
            raise InputError(f"cannot create {path}: the folder {path.parent} does not exist")
        if not path.exists() or path.stat().st_size == 0:
            try:
                journal = _init_sqlite(path, fill)
            except OSError as error:
                raise StoreError(f"cannot create {path}: {error.strerror}") from None
            return InitResult(location.label, HEAD_REVISION, True, journal)
        _check_file(path)
    store = Store(location)
    try:
        revision = current_revision(store)
    finally:
        store.dispose()
    if revision is not None and revision != HEAD_REVISION:
        raise _wrong_revision(location.label, revision)
    if revision is None:
        _run_migrations(location)
    if fill is not None:
        fill(db or location.url)
    return InitResult(location.label, HEAD_REVISION, revision is None, None)


@dataclass
class UpgradeResult(Result):
    """What `db upgrade` did."""

    database: str
    before: str | None
    after: str
    backup: Path | None


def upgrade_store(db: str | None = None, *, target: str = "head") -> UpgradeResult:
    """Back up a SQLite file, then migrate it to the newest revision."""
    store = _existing(db)
    try:
        before = current_revision(store)
        if before is None or before not in REVISIONS:
            raise _wrong_revision(store.label, before)
        if before == HEAD_REVISION and target == "head":
            return UpgradeResult(store.label, before, before, None)
        backup = None
        if store.path is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            backup = store.path.with_name(f"{store.path.name}.backup-{before}-{stamp}")
            # A file copy of a live WAL database can be torn; VACUUM INTO is consistent.
            store.connection().execute("VACUUM INTO ?", (str(backup),))
        store.dispose()
        _run_migrations(store.location, target)
        after = current_revision(store) or ""
        return UpgradeResult(store.label, before, after, backup)
    finally:
        store.dispose()
