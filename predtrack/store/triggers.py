"""The ledger's guard triggers: the SQL that creates them, and what `verify` expects to find.

The ledger is append-only (no UPDATE, no DELETE) and takes only the next entry after its head
(no gap, no REPLACE of an old entry, no duplicate hash; on PostgreSQL the hash itself is
recomputed). The migration creates exactly these definitions and `verify` compares what the
database holds with them, so a trigger replaced by a do-nothing one of the same name, or
disabled, is reported.
"""

from __future__ import annotations

import re

GENESIS = "0" * 64
_REFUSE = "'the predtrack ledger is append-only'"
_NEXT = "'the predtrack ledger takes only the next entry after its head'"

SQLITE = {
    "ledger_no_update": (
        "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger "
        f"BEGIN SELECT RAISE(ABORT, {_REFUSE}); END"
    ),
    "ledger_no_delete": (
        "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
        f"BEGIN SELECT RAISE(ABORT, {_REFUSE}); END"
    ),
    "ledger_append_next": (
        "CREATE TRIGGER ledger_append_next BEFORE INSERT ON ledger "
        "WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger) "
        f"OR NEW.prev IS NOT COALESCE((SELECT hash FROM ledger WHERE seq = NEW.seq - 1), '{GENESIS}') "
        "OR EXISTS (SELECT 1 FROM ledger WHERE hash = NEW.hash) "
        f"BEGIN SELECT RAISE(ABORT, {_NEXT}); END"
    ),
}

# PostgreSQL: trigger functions (their bodies are checked by verify), then the triggers.
PG_FUNCTIONS = {
    "predtrack_ledger_append_only": f"BEGIN RAISE EXCEPTION {_REFUSE}; END;",
    "predtrack_ledger_next": (
        "DECLARE head_seq integer; head_hash text; "
        "BEGIN "
        "SELECT seq, hash INTO head_seq, head_hash FROM ledger ORDER BY seq DESC LIMIT 1; "
        "IF NEW.seq <> COALESCE(head_seq, 0) + 1 "
        f"OR NEW.prev <> COALESCE(head_hash, '{GENESIS}') "
        "OR NEW.hash <> encode(sha256(convert_to(NEW.prev || NEW.payload, 'UTF8')), 'hex') "
        f"THEN RAISE EXCEPTION {_NEXT}; END IF; "
        "RETURN NEW; "
        "END;"
    ),
}
PG_TRIGGERS = {
    "ledger_no_update": ("BEFORE UPDATE", "predtrack_ledger_append_only"),
    "ledger_no_delete": ("BEFORE DELETE", "predtrack_ledger_append_only"),
    "ledger_append_next": ("BEFORE INSERT", "predtrack_ledger_next"),
}


def pg_statements() -> list[str]:
    """The PostgreSQL DDL that (re)creates the guard functions and triggers."""
    out = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $predtrack$ {body} "
        "$predtrack$ LANGUAGE plpgsql"
        for name, body in PG_FUNCTIONS.items()
    ]
    for trigger, (when, function) in PG_TRIGGERS.items():
        out.append(f"DROP TRIGGER IF EXISTS {trigger} ON ledger")
        out.append(
            f"CREATE TRIGGER {trigger} {when} ON ledger FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    return out


def sqlite_statements() -> list[str]:
    """The SQLite DDL that (re)creates the guard triggers."""
    out = []
    for name, sql in SQLITE.items():
        out.append(f"DROP TRIGGER IF EXISTS {name}")
        out.append(sql)
    return out


def normalise(sql: str | None) -> str:
    """SQL with runs of whitespace folded, for comparing definitions."""
    return re.sub(r"\s+", " ", sql or "").strip()


def problems(session: object) -> list[str]:
    """What is wrong with the guards the database holds now (empty when they are intact)."""
    rows: list[tuple[object, ...]]
    found: list[str] = []
    if getattr(session, "backend", "sqlite") == "sqlite":
        rows = session.rows(  # type: ignore[attr-defined]
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'"
        )
        present = {str(name): normalise(str(sql)) for name, sql in rows}
        for name, sql in SQLITE.items():
            if name not in present:
                found.append(f"guard trigger {name} is missing")
            elif present[name] != normalise(sql):
                found.append(f"guard trigger {name} was replaced by another definition")
        found += [
            f"unexpected trigger {name} on the ledger"
            for name in sorted(set(present) - set(SQLITE))
        ]
        return found
    rows = session.rows(  # type: ignore[attr-defined]
        "SELECT t.tgname, t.tgenabled, p.proname, p.prosrc FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = 'ledger'::regclass AND NOT t.tgisinternal"
    )
    present_pg = {str(r[0]): r for r in rows}
    for name, (_when, function) in PG_TRIGGERS.items():
        row = present_pg.get(name)
        if row is None:
            found.append(f"guard trigger {name} is missing")
            continue
        enabled, proname, body = row[1], row[2], row[3]
        if enabled not in ("O", "A"):
            found.append(f"guard trigger {name} is disabled")
        if proname != function or normalise(str(body)) != normalise(PG_FUNCTIONS[function]):
            found.append(f"guard trigger {name} runs another function than the one installed")
    found += [
        f"unexpected trigger {name} on the ledger"
        for name in sorted(set(present_pg) - set(PG_TRIGGERS))
    ]
    return found
