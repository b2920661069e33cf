"""The ledger's guards and the store's clock: triggers verify can trust, times the writer cannot
choose, lateness by the ledger's order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import predtrack
from tests.conftest import Run, head_of, sql


def populate(run: Run) -> None:
    run("predict", "Cheese at 25", "30%", "-e", "maze", "--key", "tl25")
    run("predict", "--question", "tl25", "40%", "--by", "bob")


def problems(run: Run) -> list[dict[str, Any]]:
    return list(json.loads(run("verify", "--json", code=None).output)["problems"])


def test_do_nothing_triggers_of_the_same_name_are_caught(tmp_path: Path, run: Run) -> None:
    run("init")
    populate(run)
    db = str(tmp_path / "predictions.db")
    for name in ("ledger_no_update", "ledger_no_delete", "ledger_append_next"):
        sql(db, f"DROP TRIGGER {name}")
    sql(db, "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT 1; END")
    sql(db, "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT 1; END")
    found = [p["message"] for p in problems(run)]
    assert "guard trigger ledger_no_update was replaced by another definition" in found
    assert "guard trigger ledger_append_next is missing" in found
    run("verify", code=1)


def test_insert_or_replace_cannot_rewrite_an_entry(tmp_path: Path, run: Run) -> None:
    run("init")
    populate(run)
    before = head_of(run)
    db = str(tmp_path / "predictions.db")
    with pytest.raises(Exception, match="only the next entry"):
        sql(
            db,
            "INSERT OR REPLACE INTO ledger (seq, prev, kind, payload, hash) VALUES (1, 'x', 'k', '{}', 'h')",
        )
    with pytest.raises(Exception, match="only the next entry"):
        sql(
            db,
            "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (9, 'x', 'k', '{}', 'h')",
        )
    # The next seq with a copy of an old hash would REPLACE the old row through the unique index.
    old = sql(db, "SELECT hash FROM ledger WHERE seq = 1")[0][0]
    last = sql(db, "SELECT hash FROM ledger WHERE seq = 2")[0][0]
    with pytest.raises(Exception, match="only the next entry"):
        sql(
            db,
            f"INSERT OR REPLACE INTO ledger (seq, prev, kind, payload, hash) VALUES (3, '{last}', 'k', '{{}}', '{old}')",
        )
    assert head_of(run) == before
    run("verify")


@pytest.mark.postgres
def test_disabled_or_replaced_triggers_on_postgresql(store_db: str, run: Run) -> None:
    if not store_db.startswith("postgresql"):
        pytest.skip("PostgreSQL trigger controls")
    populate(run)
    sql(store_db, "ALTER TABLE ledger DISABLE TRIGGER ledger_no_update")
    assert "guard trigger ledger_no_update is disabled" in [p["message"] for p in problems(run)]
    sql(store_db, "ALTER TABLE ledger ENABLE TRIGGER ledger_no_update")
    run("verify")
    sql(
        store_db,
        "CREATE OR REPLACE FUNCTION predtrack_ledger_append_only() RETURNS trigger AS "
        "$x$ BEGIN RETURN NEW; END; $x$ LANGUAGE plpgsql",
    )
    found = [p["message"] for p in problems(run)]
    assert "guard trigger ledger_no_update runs another function than the one installed" in found
    with pytest.raises(Exception, match="only the next entry"):
        sql(
            store_db,
            "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (3, 'x', 'k', '{}', 'h')",
        )


@pytest.mark.postgres
def test_postgresql_takes_only_the_next_entry_with_its_true_hash(store_db: str, run: Run) -> None:
    """No rewrite through ON CONFLICT (PostgreSQL's REPLACE), no gap, no forged hash, no
    UPDATE or DELETE; a disabled or replaced next-entry guard is reported by verify."""
    if not store_db.startswith("postgresql"):
        pytest.skip("PostgreSQL trigger controls")
    import hashlib

    populate(run)
    before = head_of(run)
    last = sql(store_db, "SELECT hash FROM ledger WHERE seq = 2")[0][0]
    payload = '{"kind":"lock"}'
    true_hash = hashlib.sha256((last + payload).encode()).hexdigest()
    for statement in (
        "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (1, :g, 'k', '{}', :h) "
        "ON CONFLICT (seq) DO UPDATE SET payload = EXCLUDED.payload",
        "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (9, :last, 'k', :p, :h)",
        "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (3, :last, 'k', :p, :g)",
        "INSERT INTO ledger (seq, prev, kind, payload, hash) VALUES (3, :g, 'k', :p, :h)",
    ):
        with pytest.raises(Exception, match="only the next entry"):
            sql(store_db, statement, g="0" * 64, h=true_hash, last=last, p=payload)
    for statement in ("UPDATE ledger SET payload = '{}' WHERE seq = 1", "DELETE FROM ledger"):
        with pytest.raises(Exception, match="append-only"):
            sql(store_db, statement)
    assert head_of(run) == before
    run("verify")
    sql(store_db, "ALTER TABLE ledger DISABLE TRIGGER ledger_append_next")
    assert "guard trigger ledger_append_next is disabled" in [p["message"] for p in problems(run)]
    sql(store_db, "ALTER TABLE ledger ENABLE TRIGGER ledger_append_next")
    sql(
        store_db,
        "CREATE OR REPLACE FUNCTION predtrack_ledger_next() RETURNS trigger AS "
        "$x$ BEGIN RETURN NEW; END; $x$ LANGUAGE plpgsql",
    )
    found = [p["message"] for p in problems(run)]
    assert found == [
        "guard trigger ledger_append_next runs another function than the one installed"
    ]
    run("verify", code=1)
    sql(store_db, "DROP TRIGGER ledger_no_delete ON ledger")
    assert "guard trigger ledger_no_delete is missing" in [p["message"] for p in problems(run)]


def test_sqlite_refuses_update_and_delete_of_entries(tmp_path: Path, run: Run) -> None:
    run("init")
    populate(run)
    before = head_of(run)
    db = str(tmp_path / "predictions.db")
    for statement in ("UPDATE ledger SET payload = '{}' WHERE seq = 1", "DELETE FROM ledger"):
        with pytest.raises(Exception, match="append-only"):
            sql(db, statement)
    assert head_of(run) == before
    run("verify")


def test_verify_against_the_empty_head(run: Run) -> None:
    run("init")
    empty = head_of(run)
    assert empty == "0:" + "0" * 16
    run("verify", "--against", empty)


class _Clock:
    """`datetime` as the store's engine sees it, with a settable offset from the real clock."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:
        return datetime.now(tz) + cls.offset


@pytest.fixture
def skewed(monkeypatch: pytest.MonkeyPatch) -> type[_Clock]:
    import predtrack.store.engine as engine

    _Clock.offset = timedelta(0)
    monkeypatch.setattr(engine, "datetime", _Clock)
    return _Clock


def test_a_clock_a_day_behind_cannot_backdate_a_prediction(
    tmp_path: Path, run: Run, skewed: type[_Clock]
) -> None:
    run("init")
    populate(run)
    run("lock", "maze")
    skewed.offset = timedelta(days=-1)
    out = run("predict", "--question", "tl25", "0.9", "--by", "mallory").output
    assert "LATE" in out
    view = json.loads(run("show", "tl25", "--json").output)
    latest = view["predictions"][-1]
    assert latest["late"] is True
    last = sql(
        str(tmp_path / "predictions.db"), "SELECT payload FROM ledger ORDER BY seq DESC LIMIT 1"
    )[0][0]
    assert json.loads(last)["clock"] == "local, clamped to the previous entry"
    run("verify")


CLOCK_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["predict", "lock", "resolve", "new"]),
        st.integers(-86400 * 3, 86400 * 3),
    ),
    min_size=1,
    max_size=12,
)


def _writes_with_random_clocks(
    steps: list[tuple[str, int]], where: str, skewed: type[_Clock]
) -> None:
    """Whatever the clocks say, verify passes and nothing recorded after a lock or a
    resolution entry is scored as pre-registered."""
    after: set[int] = set()  # prediction ids recorded after their question's lock/resolution
    closed: set[str] = set()  # experiments locked (a resolution locks too)
    with predtrack.open(where, user="alice") as study:
        count = 0
        for action, seconds in steps:
            skewed.offset = timedelta(seconds=seconds)
            if action == "new" or count == 0:
                count += 1
                exp = f"e{count % 2}"
                study.predict(f"Q{count}", "0.4", experiment=exp, key=f"q{count}")
                if exp in closed:
                    after.add(study.question(f"{exp}/q{count}")["predictions"][-1]["id"])
            elif action == "predict":
                exp = f"e{count % 2}"
                recorded = study.predict(question=f"{exp}/q{count}", forecast="0.6", by="bob")
                if exp in closed:
                    after.add(recorded.predictions[0].id)
            elif action == "lock":
                study.lock(f"e{count % 2}")
                closed.add(f"e{count % 2}")
            else:
                exp = f"e{count % 2}"
                if study.question(f"{exp}/q{count}")["status"] == "pending":
                    study.resolve(f"{exp}/q{count}", yes=bool(seconds % 2))
                    closed.add(exp)
        result = study.verify()
        assert result.ok, [p.message for p in result.problems]
        scored = {row["prediction_id"] for row in study.scored_predictions()}
        assert not scored & after
    skewed.offset = timedelta(0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=CLOCK_STEPS)
def test_random_client_clocks_never_make_a_late_prediction_count(
    steps: list[tuple[str, int]], tmp_path_factory: pytest.TempPathFactory, skewed: type[_Clock]
) -> None:
    _writes_with_random_clocks(steps, str(tmp_path_factory.mktemp("clocks") / "p.db"), skewed)


@pytest.mark.postgres
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=CLOCK_STEPS)
def test_random_client_clocks_on_postgresql(
    steps: list[tuple[str, int]], servers: Any, skewed: type[_Clock]
) -> None:
    """The same on a server, whose clock dates every write whatever the client's says."""
    _writes_with_random_clocks(steps, servers.fresh(), skewed)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Any]:
    from tests.test_import_fuzz import Target

    made = Target("postgres", tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.postgres
def test_the_server_clock_dates_writes_on_postgresql(
    store_db: str, run: Run, skewed: type[_Clock]
) -> None:
    if not store_db.startswith("postgresql"):
        pytest.skip("the server's clock")
    populate(run)
    run("lock", "maze")
    skewed.offset = timedelta(days=-1)
    assert "LATE" in run("predict", "--question", "tl25", "0.9", "--by", "mallory").output
    last = json.loads(sql(store_db, "SELECT payload FROM ledger ORDER BY seq DESC LIMIT 1")[0][0])
    assert abs(datetime.fromisoformat(last["at"]) - datetime.now(UTC)) < timedelta(minutes=10)
    assert "clock" not in last  # the server's own clock, not clamped to the chain
    skewed.offset = timedelta(0)
    run("verify")


def test_times_never_run_backwards_along_the_chain(tmp_path: Path, run: Run) -> None:
    """A chain rebuilt with an entry dated before the one it follows fails verify."""
    import hashlib

    run("init")
    populate(run)
    db = str(tmp_path / "predictions.db")
    for name in ("ledger_no_update", "ledger_no_delete", "ledger_append_next"):
        sql(db, f"DROP TRIGGER {name}")
    rows = sql(db, 'SELECT seq, payload, "at" FROM ledger ORDER BY seq')
    first_at, second_at = rows[0][2], rows[1][2]
    earlier = (datetime.fromisoformat(first_at) - timedelta(hours=1)).astimezone(UTC)
    stamp = earlier.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    prev = "0" * 64
    for seq, payload, _ in rows:
        if seq == 2:
            payload = payload.replace(second_at, stamp)
            sql(db, f"UPDATE ledger SET \"at\" = '{stamp}' WHERE seq = 2")
            sql(db, f"UPDATE predictions SET made_at = '{stamp}' WHERE id = 2")
        digest = hashlib.sha256((prev + payload).encode()).hexdigest()
        sql(
            db,
            "UPDATE ledger SET payload = :p, prev = :prev, hash = :h WHERE seq = :s",
            p=payload,
            prev=prev,
            h=digest,
            s=seq,
        )
        prev = digest
    found = [p for p in problems(run) if "trigger" not in p["message"]]
    assert [(p["seq"], p["field"], p["message"][:21]) for p in found] == [
        (2, "at", "time runs backwards: ")
    ], found
