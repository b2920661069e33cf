"""Tamper evidence: any edit, deletion or reordering behind predtrack's back is named by verify."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import Run, head_of, sql


def populate(run: Run) -> None:
    """Two experiments' worth of rows in every table the CLI can fill."""
    run("predict", "Reaches cheese", "30%", "-e", "maze", "--key", "tl25", "--tag", "gen")
    run(
        "predict",
        "Flip size",
        "10 to 20",
        "--kind",
        "quantity",
        "-e",
        "maze",
        "--key",
        "flip",
        "--bounds",
        "3",
        "25",
    )
    run("predict", "--question", "flip", "normal(14, 2)", "--by", "bob")
    run("lock", "maze")
    run("predict", "--question", "tl25", "0.4", "--by", "carol")


def verify_json(run: Run, code: int) -> dict:
    return json.loads(run("verify", "--json", code=code).output)


def test_clean_store_verifies(store_db: str, run: Run) -> None:
    populate(run)
    report = verify_json(run, 0)
    # verify --json may gain sections (signatures, anchors, ...); these fields are fixed.
    assert {k: report[k] for k in ("ok", "entries", "head", "problems", "warnings")} == {
        "ok": True,
        "entries": 5,
        "head": head_of(run),
        "problems": [],
        "warnings": [],
    }


def test_hash_is_sha256_of_prev_and_payload(store_db: str, run: Run) -> None:
    populate(run)
    rows = sql(store_db, "SELECT seq, prev, payload, hash FROM ledger ORDER BY seq")
    previous = "0" * 64
    for _seq, prev, payload, digest in rows:
        assert prev == previous
        assert digest == hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()
        body = json.loads(payload)
        # Canonical JSON: sorted keys, no whitespace.
        assert payload == json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        previous = digest
    assert head_of(run) == f"{rows[-1][0]}:{rows[-1][3][:16]}"
    assert run("head", "--full").output.strip() == f"{rows[-1][0]}:{rows[-1][3]}"


EDITS = [
    ("experiments", "name", "UPDATE experiments SET name = 'other' WHERE id = 1"),
    ("experiments", "locked_at", "UPDATE experiments SET locked_at = NULL WHERE id = 1"),
    ("questions", "title", "UPDATE questions SET title = 'Something else' WHERE id = 1"),
    ("questions", "upper", "UPDATE questions SET upper = 30 WHERE id = 2"),
    ("questions", "tags", "UPDATE questions SET tags = '[]' WHERE id = 1"),
    (
        "predictions",
        "distribution",
        "UPDATE predictions SET distribution = replace(distribution, '0.3', '0.9') WHERE id = 1",
    ),
    (
        "predictions",
        "made_at",
        "UPDATE predictions SET made_at = '2020-01-01T00:00:00.000000Z' WHERE id = 2",
    ),
    ("predictions", "late", "UPDATE predictions SET late = false WHERE id = 4"),
    ("predictions", "forecaster", "UPDATE predictions SET forecaster = 'mallory' WHERE id = 3"),
]


@pytest.mark.parametrize(
    ("table", "field", "statement"), EDITS, ids=[f"{t}.{f}" for t, f, _ in EDITS]
)
def test_an_edited_field_is_named(
    store_db: str, run: Run, table: str, field: str, statement: str
) -> None:
    populate(run)
    sql(store_db, statement)
    report = verify_json(run, 1)
    assert not report["ok"]
    assert any(
        p["table"] == table and p["field"] == field and p["seq"] for p in report["problems"]
    ), report
    text = run("verify", code=1).output
    assert f"{table}.{field}" in text and "FAILED" in text


@pytest.mark.parametrize("table", ["experiments", "questions", "predictions"])
def test_a_deleted_row_is_named(store_db: str, run: Run, tmp_path, table: str) -> None:
    populate(run)
    # Childless rows, so that deleting them trips no foreign key: the tamperer's easy case.
    run("experiment", "add", "empty")
    bare = tmp_path / "bare.toml"
    bare.write_text(
        'experiment = "maze"\n[[question]]\nkey = "bare"\ntitle = "No forecast yet"\nkind = "binary"\n'
    )
    run("predict", "--file", str(bare))
    last = sql(store_db, f"SELECT max(id) FROM {table}")[0][0]
    sql(store_db, f"DELETE FROM {table} WHERE id = {last}")
    report = verify_json(run, 1)
    assert any(
        p["table"] == table and f"id={last} is missing" in p["message"] and p["seq"]
        for p in report["problems"]
    ), report


def test_an_inserted_row_without_ledger_entry_is_named(store_db: str, run: Run) -> None:
    populate(run)
    sql(
        store_db,
        "INSERT INTO predictions (id, question_id, forecaster, made_at, forecast, distribution, late) "
        "VALUES (99, 1, 'mallory', '2020-01-01T00:00:00.000000Z', '0.99', "
        '\'{"family":"bernoulli","p":0.99}\', false)',
    )
    report = verify_json(run, 1)
    assert any(
        p["table"] == "predictions" and "id=99 has no ledger entry" in p["message"]
        for p in report["problems"]
    )


def drop_triggers(url: str) -> None:
    if url.startswith("postgresql"):
        sql(url, "DROP TRIGGER ledger_no_update ON ledger")
        sql(url, "DROP TRIGGER ledger_no_delete ON ledger")
    else:
        sql(url, "DROP TRIGGER ledger_no_update")
        sql(url, "DROP TRIGGER ledger_no_delete")


def test_the_ledger_refuses_updates_and_deletes(store_db: str, run: Run) -> None:
    populate(run)
    with pytest.raises(Exception, match="append-only"):
        sql(store_db, "UPDATE ledger SET kind = 'x' WHERE seq = 1")
    with pytest.raises(Exception, match="append-only"):
        sql(store_db, "DELETE FROM ledger WHERE seq = 2")


@pytest.mark.parametrize(
    ("statement", "field"),
    [
        (
            "UPDATE ledger SET payload = replace(payload, '\"p\":0.3', '\"p\":0.9') WHERE seq = 1",
            "hash",
        ),
        ("UPDATE ledger SET kind = 'lock' WHERE seq = 1", "kind"),
        ("UPDATE ledger SET prev = '" + "1" * 64 + "' WHERE seq = 3", "prev"),
        ("DELETE FROM ledger WHERE seq = 3", "seq"),
    ],
)
def test_ledger_tampering_is_named(store_db: str, run: Run, statement: str, field: str) -> None:
    populate(run)
    drop_triggers(store_db)
    sql(store_db, statement)
    report = verify_json(run, 1)
    assert any(p["table"] == "ledger" and p["field"] == field for p in report["problems"]), report
    assert any("trigger" in p["message"] for p in report["problems"])


def test_reordered_ledger_is_named(store_db: str, run: Run) -> None:
    populate(run)
    drop_triggers(store_db)
    sql(store_db, "UPDATE ledger SET seq = 100 WHERE seq = 2")
    sql(store_db, "UPDATE ledger SET seq = 2 WHERE seq = 3")
    sql(store_db, "UPDATE ledger SET seq = 3 WHERE seq = 100")
    report = verify_json(run, 1)
    assert any(p["table"] == "ledger" and p["field"] == "prev" for p in report["problems"])


def test_verify_against_a_published_head(store_db: str, run: Run) -> None:
    populate(run)
    published = head_of(run)
    run("predict", "Later question", "0.2", "--key", "later")
    run("predict", "--question", "later", "0.25")
    run("verify", "--against", published)
    full = run("head", "--full").output.strip()
    run("verify", "--against", full)
    # Rewrite history: recompute the whole chain after changing an early payload. Every row
    # and hash is consistent again, but the published digest no longer matches.
    drop_triggers(store_db)
    rows = sql(store_db, "SELECT seq, payload FROM ledger ORDER BY seq")
    prev = "0" * 64
    for seq, payload in rows:
        if seq == 1:
            payload = payload.replace('"p":0.3', '"p":0.31')
        digest = hashlib.sha256((prev + payload).encode()).hexdigest()
        sql(
            store_db,
            "UPDATE ledger SET payload = :p, prev = :prev, hash = :h WHERE seq = :s",
            p=payload,
            prev=prev,
            h=digest,
            s=seq,
        )
        prev = digest
    sql(
        store_db,
        "UPDATE predictions SET distribution = replace(distribution, '0.3', '0.31') WHERE id = 1",
    )
    result = run("verify", "--against", published, code=1)
    assert "history was rewritten" in result.output
    unknown = run("verify", "--against", "999:abcdef0123456789", code=1)
    assert "no entry 999" in unknown.output
