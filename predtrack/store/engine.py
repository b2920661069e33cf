"""Engines, sessions and the write transaction with its lock, retries and error translation."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from predtrack.errors import StoreError

T = TypeVar("T")

DEFAULT_DB = "predictions.db"
BUSY_TIMEOUT_S = 30.0
# Any constant will do: every predtrack writer on a server takes this one advisory lock.
PG_LEDGER_LOCK = 0x70726564  # "pred"
MAX_ATTEMPTS = 8


def database_url(db: str | None = None) -> str:
    """The SQLAlchemy URL for `--db`, else `PREDTRACK_DB`, else ./predictions.db."""
    value = db or os.environ.get("PREDTRACK_DB") or DEFAULT_DB
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().absolute())


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """Build an engine for the URL: SQLite gets foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    if sqlite_path(url) is not None or url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is deferred).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # A deferred BEGIN that later writes fails at once under contention (PITFALLS):
            # writers take the lock up front.
            if conn.get_execution_options().get("predtrack_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise StoreError(
        f"unsupported database URL {url!r}: use a file path, sqlite:/// or postgresql+psycopg://"
    )


def is_sqlite(engine: Engine) -> bool:
    """True for a SQLite engine."""
    return engine.dialect.name == "sqlite"


def _is_transient(error: exc.DBAPIError) -> bool:
    """Errors that a later attempt of the same transaction can get past."""
    message = str(error.orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return True
    code = getattr(error.orig, "sqlstate", None)
    return code in {"40001", "40P01", "55P03"}


def describe_db_error(error: exc.SQLAlchemyError, where: str) -> str:
    """A one-line user-facing explanation of a database failure."""
    message = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    low = message.lower()
    if "readonly" in low or "read-only" in low:
        return f"cannot write to {where}: the database file or its folder is read-only"
    if "file is not a database" in low or "not a database" in low:
        return f"{where} is not a predtrack database (not an SQLite file)"
    if "unable to open database file" in low:
        return f"cannot open {where}: the file or its folder cannot be read or created"
    if "disk i/o error" in low or "database or disk is full" in low:
        return f"cannot write to {where}: {message} (is the disk full or read-only?)"
    if "database is locked" in low:
        return f"{where} stayed locked by another writer for too long; try again"
    return f"database error on {where}: {message}"


class Store:
    """A database opened by predtrack: its URL, engine and transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(predtrack_write=True)

    @property
    def label(self) -> str:
        """The database as shown to users (a path, or the URL without its password)."""
        path = sqlite_path(self.url)
        if path is not None:
            return str(path)
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session; database failures become StoreError."""
        try:
            # Closing (not rolling back) keeps loaded objects usable after the block.
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except exc.SQLAlchemyError as error:
            raise StoreError(describe_db_error(error, self.label)) from error

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one serialised write transaction, retrying transient lock failures."""
        delay = 0.05
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with Session(self._writer, expire_on_commit=False) as session, session.begin():
                    if not self.is_sqlite:
                        session.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LEDGER_LOCK}
                        )
                    return work(session)
            except exc.DBAPIError as error:
                if attempt < MAX_ATTEMPTS and _is_transient(error):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)
                    continue
                raise StoreError(describe_db_error(error, self.label)) from error
            except exc.SQLAlchemyError as error:
                raise StoreError(describe_db_error(error, self.label)) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()
