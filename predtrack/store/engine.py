"""Opening a store from a path or URL, and its read and write transactions (DB-API, no ORM).

SQLite goes through the standard library's `sqlite3`, PostgreSQL through `psycopg`; every query
is written once with `?` placeholders and runs on both. Writers are serialised on the ledger
head (SQLite: `BEGIN IMMEDIATE`, WAL and a busy timeout; PostgreSQL: a transaction-level
advisory lock), retried with bounded backoff, and stamped with the store's clock.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from predtrack.errors import InputError, StoreError

T = TypeVar("T")

DEFAULT_DB = "predictions.db"
BUSY_TIMEOUT_S = 30.0
# Any constant will do: every predtrack writer on a server takes this one advisory lock.
PG_LEDGER_LOCK = 0x70726564  # "pred"
MAX_ATTEMPTS = 8
PG_TIMEOUT_ENV = "PREDTRACK_PG_TIMEOUT"
PG_TIMEOUT_S = 10.0
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Location:
    """Where a store lives: a SQLite file, or a PostgreSQL connection string."""

    backend: str  # "sqlite" | "postgresql"
    path: Path | None = None
    conninfo: str | None = None
    url: str = ""

    @property
    def label(self) -> str:
        """The store as shown to users (a path, or the URL without its password)."""
        if self.path is not None:
            return str(self.path)
        parts = urlsplit(self.url)
        if parts.password is not None:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url

    @property
    def sqlalchemy_url(self) -> str:
        """The same store as a SQLAlchemy URL (for alembic migrations only)."""
        if self.path is not None:
            return f"sqlite:///{self.path}"
        return "postgresql+psycopg://" + (self.conninfo or "").split("://", 1)[1]


def locate(db: str | None = None) -> Location:
    """The store for `--db`, else `PREDTRACK_DB`, else ./predictions.db."""
    value = db or os.environ.get("PREDTRACK_DB") or DEFAULT_DB
    if "\x00" in value:
        raise InputError("--db contains a NUL byte")
    if "://" not in value:
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # `~nosuchuser/...`
            raise InputError(
                f"--db {value!r}: no such user's home folder (the folder does not exist)"
            ) from None
        return Location("sqlite", path.absolute(), url=value)
    try:
        urlsplit(value).port  # noqa: B018  (parses the host and port, or raises)
    except ValueError as error:
        raise InputError(f"--db {value!r}: not a valid URL ({error})") from None
    scheme, _, rest = value.partition("://")
    dialect, _, driver = scheme.lower().partition("+")
    if dialect == "sqlite" and not driver:
        if rest in ("", "/", "/:memory:"):
            raise InputError(f"--db {value!r}: give the path of a database file")
        return Location(
            "sqlite", Path(rest[1:] if rest.startswith("/") else rest).absolute(), url=value
        )
    if dialect in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise InputError(
                f"--db {value!r}: the {driver} driver is not supported; use postgresql+psycopg://"
            )
        if not rest.strip("/"):
            raise InputError(f"--db {value!r}: no server in the URL")
        return Location("postgresql", conninfo=f"postgresql://{rest}", url=value)
    raise InputError(
        f"--db {value!r}: unsupported database URL "
        "(use a file path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
    )


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Session:
    """One transaction on one connection: run SQL written once with `?` placeholders."""

    def __init__(self, conn: Any, backend: str) -> None:
        self.conn = conn
        self.backend = backend
        self.now: datetime = datetime.now(UTC)  # replaced by the store's clock in writes
        self.clock = "local"

    def _sql(self, sql: str) -> str:
        return sql if self.backend == "sqlite" else _pg_sql(sql)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the DB-API cursor."""
        return self.conn.execute(self._sql(sql), tuple(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        return list(self.conn.execute(self._sql(sql), tuple(params)).fetchall())

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, streamed."""
        cursor = self.conn.execute(self._sql(sql), tuple(params))
        while batch := cursor.fetchmany(5000):
            yield from batch

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        row = self.conn.execute(self._sql(sql), tuple(params)).fetchone()
        return None if row is None else tuple(row)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.first(sql, params)
        return None if row is None else row[0]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows (bulk inserts)."""
        if not rows:
            return
        if self.backend == "sqlite":
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cursor:
                cursor.executemany(_pg_sql(sql), rows)


def _is_transient(error: BaseException) -> bool:
    """Errors that a later attempt of the same transaction can get past."""
    message = str(error).lower()
    if "database is locked" in message or "database is busy" in message:
        return True
    return getattr(error, "sqlstate", None) in {"40001", "40P01", "55P03"}


def describe_db_error(error: BaseException, where: str) -> str:
    """A one-line user-facing explanation of a database failure."""
    message = (str(error).strip().splitlines() or [type(error).__name__])[0]
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
    if "timeout" in low or "canceling statement" in low:
        return f"{where} did not answer in time ({message}); {PG_TIMEOUT_ENV} sets the limit"
    return f"database error on {where}: {message}"


def pg_timeout() -> float:
    """Seconds allowed to connect to PostgreSQL and for one statement."""
    text = os.environ.get(PG_TIMEOUT_ENV, "")
    if not text:
        return PG_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{PG_TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise InputError(f"{PG_TIMEOUT_ENV}={text!r} must be between 0 and 86400 seconds")
    return value


class Store:
    """A predtrack store: its location and one lazily opened connection."""

    def __init__(self, where: str | Location) -> None:
        self.location = where if isinstance(where, Location) else locate(where)
        self.url = self.location.url
        self._conn: Any = None
        self.read_only = False
        # The driver's error classes, caught and turned into StoreError.
        self.errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    @property
    def label(self) -> str:
        return self.location.label

    @property
    def is_sqlite(self) -> bool:
        return self.location.backend == "sqlite"

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return self.location.path

    def connection(self) -> Any:
        """The open DB-API connection (opened on first use)."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> Any:
        if self.is_sqlite:
            return self._open_sqlite()
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "PostgreSQL needs the psycopg driver: pip install 'predtrack[postgres]'"
            ) from None
        limit = pg_timeout()
        try:
            conn = psycopg.connect(
                self.location.conninfo or "",
                connect_timeout=max(1, round(limit)),
                autocommit=True,
            )
            conn.execute(f"SET statement_timeout = {int(limit * 1000)}")
        except psycopg.Error as error:
            raise StoreError(describe_db_error(error, self.label)) from None
        self.errors = (sqlite3.Error, psycopg.Error)
        return conn

    def _open_sqlite(self) -> sqlite3.Connection:
        path = self.location.path
        assert path is not None
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
                raise sqlite3.OperationalError("readonly")
            return conn
        except sqlite3.Error:
            # A store the user may only read (file or folder without write permission): WAL
            # readers need a writable folder, so open it as an immutable snapshot.
            uri = f"file:{path.as_posix()}?mode=ro&immutable=1"
            try:
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            except sqlite3.Error as error:
                raise StoreError(describe_db_error(error, self.label)) from None
            self.read_only = True
            return conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (a consistent snapshot); database failures become StoreError."""
        conn = self.connection()
        try:
            conn.execute("BEGIN" if self.is_sqlite else "BEGIN READ ONLY")
            try:
                yield Session(conn, self.location.backend)
            finally:
                if self._conn is conn:  # closed meanwhile (the command ended): nothing to end
                    conn.execute("ROLLBACK")
        except self.errors as error:
            raise StoreError(describe_db_error(error, self.label)) from None

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one serialised write transaction, retrying transient lock failures."""
        if self.read_only:
            raise StoreError(
                f"cannot write to {self.label}: the database file or its folder is read-only"
            )
        delay = 0.05
        for attempt in range(1, MAX_ATTEMPTS + 1):
            conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if self.is_sqlite else "BEGIN")
                try:
                    session = Session(conn, self.location.backend)
                    self._stamp(session)
                    result = work(session)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except self.errors as error:
                if attempt < MAX_ATTEMPTS and _is_transient(error):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)
                    continue
                raise StoreError(describe_db_error(error, self.label)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _stamp(self, session: Session) -> None:
        """Take the ledger lock and the write's time from the store, never before the head."""
        from predtrack.store.types import parse_iso_z

        if self.is_sqlite:
            now, clock = datetime.now(UTC), "local"
        else:
            session.execute("SELECT pg_advisory_xact_lock(?)", (PG_LEDGER_LOCK,))
            now = session.scalar("SELECT clock_timestamp()").astimezone(UTC)
            clock = "server"
        last = session.scalar('SELECT "at" FROM ledger ORDER BY seq DESC LIMIT 1')
        if last is not None:
            previous = parse_iso_z(last)
            if now < previous:
                # A clock behind the chain: the entry keeps the chain's order and says so.
                now, clock = previous, f"{clock}, clamped to the previous entry"
        session.now, session.clock = now, clock

    def dispose(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
