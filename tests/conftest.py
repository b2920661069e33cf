"""Shared fixtures: an isolated database per test, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from predtrack.cli import cli

PG_ENV = "PREDTRACK_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own database path, user and working directory."""
    monkeypatch.setenv("PREDTRACK_DB", str(tmp_path / "predictions.db"))
    monkeypatch.setenv("PREDTRACK_USER", "alice")
    monkeypatch.delenv("PREDTRACK_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Invoke the CLI in-process; assert the exit code and that no traceback reached the user."""
    runner = CliRunner()

    def invoke(*args: str, code: int | None = 0, input: str | None = None, **env: str) -> Result:
        result = runner.invoke(cli, list(args), input=input, env=env or None, catch_exceptions=True)
        output = result.output + (result.stderr if result.stderr_bytes is not None else "")
        assert "Traceback" not in output, output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"unexpected exception: {result.exception!r}\n{output}")
        if code is not None:
            assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}:\n{output}"
        return result

    return invoke


def _postgres_server() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {PG_ENV} is not set: the PostgreSQL tests must run in CI")
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, empty database URL on each backend, also exported as PREDTRACK_DB."""
    if request.param == "sqlite":
        url = str(tmp_path / "predictions.db")
        monkeypatch.setenv("PREDTRACK_DB", url)
        yield url
        return
    server = _postgres_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV} (the CI script does)")
    from sqlalchemy import create_engine, text

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # pragma: no cover - depends on the machine
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL at {PG_ENV} not reachable: {error}")
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("PREDTRACK_DB", url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store_db(db_url: str, run: Run) -> str:
    """An initialised database on each backend."""
    run("init")
    return db_url


def head_of(run: Run) -> str:
    """The current ledger head as printed by `predtrack head`."""
    return str(run("head").output.strip())


def write(path: Path, text: str) -> Path:
    """Write a text file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


def sa_engine(url: str) -> Any:
    """A SQLAlchemy engine on a test database (for alembic and for tampering)."""
    from sqlalchemy import create_engine

    from predtrack.store.engine import locate

    return create_engine(locate(url).sqlalchemy_url)


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one SQL statement directly on the database, bypassing predtrack (for tampering)."""
    from sqlalchemy import text

    engine = sa_engine(url)
    try:
        with engine.begin() as conn:
            # Without parameters every colon is literal (JSON in the statement, for instance).
            query = text(statement if params else statement.replace(":", "\\:"))
            result = conn.execute(query, params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def readme_section(title: str) -> str:
    """One `## ` section of the README (its subsections included): what tests run as written."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 4)
    return text[start : end if end > 0 else len(text)]
