"""`export` / `import`: the ledger replays into an identical store, across backends."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_ENV, Run, head_of, write
from tests.test_resolve import register, write_results


def build_store(run: Run, tmp_path: Path) -> None:
    register(run)
    write_results(tmp_path)
    run("link", "results.json", "sweep.csv", "-e", "cheese-maze")
    run("predict", "--question", "flip", "14 to 16", "--by", "bob")
    run("resolve")
    run("resolve", "flip", "--annul", "crashed", "--correct", "the sweep crashed")


def test_export_import_reproduces_the_head(store_db: str, run: Run, tmp_path: Path) -> None:
    build_store(run, tmp_path)
    head = head_of(run)
    exported = run("export").output
    lines = exported.splitlines()
    assert len(lines) == int(head.split(":")[0])
    first = json.loads(lines[0])
    assert set(first) == {"seq", "prev", "kind", "hash", "payload"} and first["seq"] == 1
    source = write(tmp_path / "ledger.jsonl", exported)
    copy = tmp_path / "copy.db"
    assert f"head {head}" in run("import", str(source), "--db", str(copy)).output
    assert head_of_db(run, copy) == head
    original = json.loads(run("list", "--json", "--reveal").output)
    assert json.loads(run("list", "--json", "--reveal", "--db", str(copy)).output) == original
    assert json.loads(run("verify", "--json", "--db", str(copy)).output)["ok"]
    # A second import into the now non-empty store is refused.
    assert (
        "only into an empty store" in run("import", str(source), "--db", str(copy), code=2).output
    )


def head_of_db(run: Run, db: Path | str) -> str:
    return str(run("head", "--db", str(db)).output.strip())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda lines: lines.__setitem__(2, lines[2].replace("alice", "mallory")),
            "line 3: hash does not match",
        ),
        (lambda lines: lines.pop(1), "line 2: seq 3, expected 2"),
        (lambda lines: lines.__setitem__(0, "{not json"), "line 1: not valid JSON"),
        (
            lambda lines: lines.__setitem__(
                1, json.dumps({**json.loads(lines[1]), "kind": "lock"})
            ),
            "line 2: kind",
        ),
    ],
    ids=["edited", "deleted", "garbled", "relabelled"],
)
def test_a_tampered_export_is_refused_naming_the_first_bad_line(
    store_db: str, run: Run, tmp_path: Path, mutate, message: str
) -> None:
    build_store(run, tmp_path)
    lines = run("export").output.splitlines()
    mutate(lines)
    source = write(tmp_path / "bad.jsonl", "\n".join(lines) + "\n")
    target = tmp_path / "target.db"
    result = run("import", str(source), "--db", str(target), code=2)
    assert message in result.output
    assert not target.exists()  # nothing was written


def test_round_trip_sqlite_postgres_sqlite(run: Run, tmp_path: Path) -> None:
    server = os.environ.get(PG_ENV)
    if not server:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set")
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}")
    from sqlalchemy import create_engine, text

    run("init")
    build_store(run, tmp_path)
    head = head_of(run)
    first = write(tmp_path / "one.jsonl", run("export").output)
    schema = "rt_" + uuid.uuid4().hex[:10]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        pg = f"{server}?options=-csearch_path%3D{schema}"
        run("import", str(first), "--db", pg)
        assert head_of_db(run, pg) == head
        assert json.loads(run("verify", "--json", "--db", pg).output)["ok"]
        second = write(tmp_path / "two.jsonl", run("export", "--db", pg).output)
        assert second.read_text() == first.read_text()
        back = tmp_path / "back.db"
        run("import", str(second), "--db", str(back))
        assert head_of_db(run, back) == head
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
