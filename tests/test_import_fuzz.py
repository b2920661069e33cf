"""`import` of mutated exports: each mutated export either imports and then verifies, or is
refused with exit 2 naming its line; never an unexpected error, never a store verify rejects.

The exports come from a real store (every kind of question and entry: signed and sealed
forecasts, a late one, linked files, a lock, rule and manual resolutions, an annulment, a git
anchor). After each mutation the chain is re-hashed, so only the checks of what a payload says
can refuse it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from predtrack.cli import cli
from tests.conftest import PG_ENV, _postgres_server

GENESIS = "0" * 64
Entry = dict[str, Any]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stdout and stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=True)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unexpected exception {result.exception!r}: {output}")
    return result.exit_code, output


def build_rich_store(folder: Path) -> list[Entry]:
    """A store written by the real commands, and its export as parsed lines."""
    db = folder / "p.db"
    env = {
        "PREDTRACK_DB": str(db),
        "PREDTRACK_USER": "alice",
        "PREDTRACK_OPENINGS_DIR": str(folder / "openings"),
        "SSH_AUTH_SOCK": "",
    }
    key = folder / "bobkey"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@test", "-f", key],
        check=True,
        timeout=60,
    )
    (folder / "results.csv").write_text("size,rate\n25,0.7\n50,0.4\n")
    (folder / "results.json").write_text('{"acc": 0.81}')
    repo = folder / "repo"
    repo.mkdir()
    for git in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "A"],
        ["config", "user.email", "a@example.org"],
        ["commit", "-q", "--allow-empty", "-m", "start"],
    ):
        subprocess.run(["git", "-C", str(repo), *git], check=True, timeout=60)
    rule_csv = str(folder / "results.csv") + "#rate[size=25] > 0.5"
    rule_json = str(folder / "results.json") + "#/acc"
    steps: list[tuple[list[str], dict[str, str]]] = [
        (["init"], {}),
        (["key", "add", "bob", f"{key}.pub"], {}),
        (["predict", "Cheese", "30%", "-e", "maze", "--key", "c", "--rule", rule_csv,
          "--tag", "a", "--note", "why"], {}),
        (["predict", "-q", "maze/c", "0.6", "--by", "bob"], {}),
        (["predict", "-q", "maze/c", "0.65", "--by", "bob", "--sign"],
         {"PREDTRACK_SSH_KEY": str(key)}),
        (["predict", "Acc", "0.7 to 0.9", "--kind", "fraction", "-e", "maze", "--key", "acc",
          "--rule", rule_json], {}),
        (["predict", "Size", "10 to 20", "--kind", "quantity", "--unit", "cm", "--bounds",
          "0", "100", "-e", "maze", "--key", "size"], {}),
        (["predict", "Colour", "red:0.5, green:0.3, blue:0.2", "-e", "maze", "--key", "col",
          "--ordered"], {}),
        (["predict", "Other", "0.2", "-e", "other", "--key", "o"], {}),
        (["predict", "-q", "maze/size", "12 to 18", "--sealed", "--by", "carol"], {}),
        (["link", "-e", "maze", str(folder / "results.csv"), str(folder / "results.json")], {}),
        (["lock", "maze"], {}),
        (["predict", "-q", "maze/c", "0.9", "--by", "dave"], {}),
        (["reveal", "--by", "carol"], {}),
        (["resolve"], {}),
        (["resolve", "maze/size", "--value", "15"], {}),
        (["resolve", "maze/col", "--category", "green"], {}),
        (["resolve", "other/o", "--annul", "no data"], {}),
        (["anchor", "--git", str(repo)], {}),
    ]  # fmt: skip
    for args, extra in steps:
        code, output = invoke(*args, env={**env, **extra})
        assert code == 0, (args, output)
    code, output = invoke("verify", env=env)
    assert code == 0, output
    code, output = invoke("export", env=env)
    assert code == 0, output
    return [json.loads(line) for line in output.splitlines()]


@pytest.fixture(scope="module")
def real_export(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    return build_rich_store(tmp_path_factory.mktemp("rich"))


# --- mutations of one entry's payload ---

ODD_VALUES: list[Any] = [
    "abc",
    "",
    0,
    -1,
    7.5,
    2**70,
    -(2**70),
    10**30,
    1e308,
    float("nan"),
    float("inf"),
    True,
    False,
    None,
    [],
    {},
    [[1, [2]]],
    {"a": {"b": []}},
    "2026-01-01T00:00:00",
    "2026-01-01T00:00:00+00:00",
    "2026-13-45T25:61:61.000000Z",
    "team",
    "<b>bold</b>",
    "nul\x00byte",
    "esc\x1b[2J",
    "x" * 5000,
    "lone \ud800 surrogate",
    "bo\u202eb",
    "maybe",
    "banana",
]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        body = body[step]
    return body


def mutate_body(body: dict[str, Any], rng: random.Random) -> str:
    """Change one node of a payload in place; returns what was done."""
    nodes = [(p, v) for p, v in _nodes(body) if p]
    path, value = rng.choice(nodes)
    parent = _parent(body, path)
    key = path[-1]
    op = rng.choice(["delete", "retype", "retype", "wrap", "extra", "time", "number"])
    if op == "delete":
        del parent[key]
    elif op == "wrap":
        parent[key] = [[value]]
    elif op == "extra" and isinstance(value, dict):
        value[rng.choice(["zzz", "id", "late", "seq"])] = rng.choice(ODD_VALUES)
    elif op == "time" and isinstance(value, str) and value.endswith("Z"):
        parent[key] = rng.choice([value[:-1], value[:-1] + "+00:00", value.replace("T", " ")])
    elif op == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        parent[key] = rng.choice([value * 2**70, -value, value + 1, value + 0.5, value * 1e300])
    else:
        op = "retype"
        parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    return f"{op} {'/'.join(map(str, path))}"


def rechain(entries: list[Entry]) -> list[str]:
    """Export lines with seq, prev and hash recomputed, as a forger would."""
    prev = GENESIS
    lines = []
    for seq, entry in enumerate(entries, start=1):
        payload = entry["payload"]
        digest = hashlib.sha256((prev + payload).encode("utf-8", "surrogatepass")).hexdigest()
        line = {**entry, "seq": seq, "prev": prev, "hash": digest}
        lines.append(json.dumps(line, separators=(",", ":")))
        prev = digest
    return lines


def mutated_export(lines: list[Entry], rng: random.Random) -> tuple[list[str], str]:
    """One mutation of a real export: a payload changed, or entries dropped, swapped, doubled."""
    entries = [dict(x) for x in lines]
    index = rng.randrange(len(entries))
    roll = rng.random()
    if roll < 0.06:
        del entries[index]
        what = f"drop entry {index + 1}"
    elif roll < 0.12 and index + 1 < len(entries):
        entries[index], entries[index + 1] = entries[index + 1], entries[index]
        what = f"swap entries {index + 1} and {index + 2}"
    elif roll < 0.16:
        entries.insert(index, dict(entries[index]))
        what = f"double entry {index + 1}"
    elif roll < 0.2:
        key = rng.choice(["kind", "seq"])
        entries[index][key] = rng.choice(ODD_VALUES)
        return rechain_keeping(entries, index, key), f"line {index + 1} {key}"
    else:
        body = json.loads(entries[index]["payload"])
        what = f"line {index + 1}: " + mutate_body(body, rng)
        entries[index]["payload"] = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        if isinstance(body, dict) and isinstance(body.get("kind"), str):
            entries[index]["kind"] = body["kind"]
    return rechain(entries), what


def rechain_keeping(entries: list[Entry], index: int, key: str) -> list[str]:
    """Re-hash the chain but keep one outer field as mutated."""
    kept = entries[index][key]
    lines = rechain(entries)
    line = json.loads(lines[index])
    line[key] = kept
    lines[index] = json.dumps(line, separators=(",", ":"))
    return lines


# --- importing into a fresh store on each backend ---


class Target:
    """Fresh empty stores to import into, one per attempt."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self.count = 0
        self.schemas: list[str] = []
        self.server = _postgres_server() if backend == "postgres" else None
        if backend == "postgres" and self.server is None:
            pytest.skip(f"no PostgreSQL server: set {PG_ENV} (the CI script does)")
        if backend == "sqlite":
            self.template = folder / "template.db"
            code, output = invoke("init", "--db", str(self.template))
            assert code == 0, output

    def fresh(self) -> str:
        self.count += 1
        if self.backend == "sqlite":
            path = self.folder / f"t{self.count}.db"
            shutil.copyfile(self.template, path)
            return str(path)
        from sqlalchemy import create_engine, text

        assert self.server is not None
        schema = "f_" + uuid.uuid4().hex[:12]
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        separator = "&" if "?" in self.server else "?"
        return f"{self.server}{separator}options=-csearch_path%3D{schema}"

    def close(self) -> None:
        if not self.schemas:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server or "", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    made = Target(request.param, tmp_path)
    try:
        yield made
    finally:
        made.close()


def import_outcome(lines: list[str], target: Target, folder: Path) -> tuple[int, str, str]:
    """Import the lines into a fresh store: (exit code, output, the store's URL)."""
    source = folder / "mutated.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    db = target.fresh()
    code, output = invoke("import", str(source), "--db", db)
    return code, output, db


def assert_imports_or_refused(lines: list[str], what: str, target: Target, folder: Path) -> str:
    code, output, db = import_outcome(lines, target, folder)
    assert "unexpected" not in output, (what, output)
    if code == 0:
        code, report = invoke("verify", "--json", "--db", db)
        assert code == 0 and json.loads(report)["ok"], (what, report)
        return "imported"
    assert code == 2, (what, output)
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: line "), (what, output)
    assert_nothing_imported(db, target)
    return "refused"


FUZZ_CASES = {"sqlite": 600, "postgres": 150}


@pytest.mark.parametrize("anchored", [True, False], ids=["anchored", "unanchored"])
def test_mutated_exports_import_and_verify_or_are_refused(
    real_export: list[Entry], target: Target, tmp_path: Path, anchored: bool
) -> None:
    """With the anchor kept, almost every mutation rewrites anchored history; without it, the
    mutations that say something predtrack could have written import (and verify)."""
    rng = random.Random(20260115 + anchored)
    export = real_export if anchored else real_export[:-1]
    outcomes: dict[str, int] = {}
    for _ in range(FUZZ_CASES[target.backend]):
        lines, what = mutated_export(export, rng)
        outcome = assert_imports_or_refused(lines, what, target, tmp_path)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > outcomes.get("imported", 0), outcomes
    if not anchored:
        assert outcomes.get("imported", 0) > 0, outcomes


def test_the_unmutated_export_imports(
    real_export: list[Entry], target: Target, tmp_path: Path
) -> None:
    assert assert_imports_or_refused(rechain(real_export), "none", target, tmp_path) == "imported"


# --- each forgery the issue lists: refused naming its line, nothing imported ---


def _bodies(entries: list[Entry]) -> list[dict[str, Any]]:
    return [json.loads(entry["payload"]) for entry in entries]


def _find(entries: list[Entry], test: Callable[[dict[str, Any]], bool]) -> int:
    """The index of the first entry whose payload passes `test`."""
    return next(i for i, body in enumerate(_bodies(entries)) if test(body))


def _rows(body: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return list(body.get("insert", {}).get(table, []))


def _question_id(entries: list[Entry], key: str) -> int:
    return next(
        row["id"]
        for body in _bodies(entries)
        for row in _rows(body, "questions")
        if row["key"] == key
    )


def forged(entries: list[Entry], index: int, change: Callable[[dict[str, Any]], Any]) -> list[str]:
    """The export with one payload changed by `change` (or a new entry appended after the last,
    when `index` is len(entries)), re-hashed."""
    out = [dict(x) for x in entries]
    if index == len(out):
        last = json.loads(out[-1]["payload"])
        out.append(
            {
                "kind": "register",
                "payload": json.dumps({"at": last["at"], "by": "mallory", "kind": "register"}),
            }
        )
    body = json.loads(out[index]["payload"])
    change(body)
    out[index]["payload"] = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    out[index]["kind"] = body.get("kind")
    return rechain(out)


def _prediction_on(question_id: int, at: str) -> dict[str, Any]:
    return {
        "id": 99, "question_id": question_id, "forecaster": "mallory", "made_at": at,
        "forecast": "0.9", "distribution": {"family": "bernoulli", "p": 0.9}, "note": None,
        "late": False, "late_reason": None, "signature": None, "key_id": None,
        "commitment_id": None,
    }  # fmt: skip


def forgeries(entries: list[Entry]) -> Iterator[tuple[str, list[str], int, str]]:
    """(what, forged export lines, the line refused, what the refusal says)."""
    dave = _find(entries, lambda b: any(r["forecaster"] == "dave" for r in _rows(b, "predictions")))
    alice = _find(entries, lambda b: bool(_rows(b, "predictions")))
    size, other = _question_id(entries, "size"), _question_id(entries, "o")
    resolved_size = _find(
        entries, lambda b: any(r["question_id"] == size for r in _rows(b, "resolutions"))
    )
    annul = _find(
        entries, lambda b: any(r["question_id"] == other for r in _rows(b, "resolutions"))
    )
    signed = _find(entries, lambda b: any(r["signature"] for r in _rows(b, "predictions")))

    def first(table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda body: body["insert"][table][0]

    pred, question, resolution = first("predictions"), first("questions"), first("resolutions")
    cases: list[tuple[str, int, Callable[[dict[str, Any]], Any], int, str]] = [
        ("after the lock, not late", dave, lambda b: pred(b).update(late=False, late_reason=None), dave, "not marked late"),
        ("a forecaster named team", alice, lambda b: pred(b).update(forecaster="team"), alice, "reserved"),
        ("probability 7.5", alice, lambda b: pred(b)["distribution"].update(p=7.5), alice, "probability 7.5 is outside [0, 1]"),
        ("an unknown family", alice, lambda b: pred(b)["distribution"].update(family="banana"), alice, "unknown distribution"),
        ("kind banana", alice, lambda b: question(b).update(kind="banana"), alice, "unknown kind 'banana'"),
        ("a quantity resolved as abc", resolved_size, lambda b: resolution(b).update(outcome="abc"), resolved_size, "outcome 'abc' is not a finite number"),
        ("a binary outcome maybe", annul, lambda b: resolution(b).update(status="resolved", outcome="maybe"), annul, "a binary outcome is true or false, not 'maybe'"),
        ("an experiment named <b>", alice, lambda b: first("experiments")(b).update(name="<b>bold</b>"), alice, "'<b>bold</b>' must be 1-100 letters"),
        ("an update of a row no entry inserted", dave, lambda b: b.update(update={"experiments": [{"id": 99, "locked_at": b["at"], "lock_reason": "x"}]}), dave, "id=99 names no experiments row written before"),
        ("insert a string", alice, lambda b: b.update(insert="abc"), alice, "insert and update must be objects"),
        ("update a list", dave, lambda b: b.update(update=[1, 2]), dave, "insert and update must be objects"),
        ("a time without Z", dave, lambda b: b.update(at=b["at"][:-1]), dave, "is not a UTC time"),
        ("a 70-bit id", dave, lambda b: pred(b).update(id=2**70), dave, "is not an integer in [1, 2147483647]"),
        ("a signed forecast changed", signed, lambda b: pred(b)["distribution"].update(p=0.66), signed, "predictions.signature"),
        ("history rewritten under an anchor", alice, lambda b: pred(b).update(note="edited"), len(entries) - 1, "history was rewritten"),
    ]  # fmt: skip
    for what, index, change, refused, message in cases:
        yield what, forged(entries, index, change), refused, message
    # A resolution that did not lock its experiment, then a prediction on the resolved question.
    unlocked = [json.loads(line) for line in forged(entries, annul, lambda b: b.pop("update"))]
    at = json.loads(unlocked[-1]["payload"])["at"]
    late = {"predictions": [_prediction_on(other, at)]}
    yield (
        "after the resolution, not late",
        forged(unlocked, len(unlocked), lambda b: b.update(insert=late, at=at)),
        len(entries),
        "or its question resolved, but is not marked late",
    )
    yield from proof_forgeries(entries)
    swapped = [dict(x) for x in entries]
    swapped[dave], swapped[dave + 1] = swapped[dave + 1], swapped[dave]
    yield "entries out of time order", rechain(swapped), dave + 1, "time runs backwards"


def proof_forgeries(entries: list[Entry]) -> Iterator[tuple[str, list[str], int, str]]:
    """Inserts into the proof tables that no command writes."""
    key = _find(entries, lambda b: bool(_rows(b, "keys")))
    seal = _find(entries, lambda b: bool(_rows(b, "commitments")))
    reveal = _find(entries, lambda b: b["kind"] == "reveal")
    signed = _find(entries, lambda b: any(r["signature"] for r in _rows(b, "predictions")))
    anchor = _find(entries, lambda b: bool(_rows(b, "anchors")))
    cases: list[tuple[str, int, str, Any, str]] = [
        ("an anchor of kind ftp", anchor, "anchors", {"kind": "ftp"}, "neither tsa nor git"),
        ("an anchor over no hash", anchor, "anchors", {"head_hash": "zz" * 32}, "head_hash must be 64"),
        ("a commitment digest not hex", seal, "commitments", {"digest": "0x12"}, "digest must be 64"),
        ("a commitment on no question", seal, "commitments", {"question_id": 42}, "question_id=42 names no questions row written before"),
        ("a key that does not parse", key, "keys", {"public_key": "ssh-ed25519 AAAA"}, "keys.public_key: public key"),
        ("a key with another fingerprint", key, "keys", {"fingerprint": "SHA256:abc"}, "'SHA256:abc' is not its key's"),
        ("a prediction by a key never written", signed, "predictions", {"key_id": 7}, "key_id=7 names no keys row written before"),
        ("a prediction from no commitment", reveal, "predictions", {"commitment_id": 5}, "commitment_id=5 names no commitments row written before"),
    ]  # fmt: skip
    for what, index, table, change, message in cases:

        def edit(body: dict[str, Any], table: str = table, change: Any = change) -> None:
            _rows(body, table)[0].update(change)

        yield what, forged(entries, index, edit), index, message


FORGERIES = [
    "after the lock, not late", "a forecaster named team", "probability 7.5",
    "an unknown family", "kind banana", "a quantity resolved as abc", "a binary outcome maybe",
    "an experiment named <b>", "an update of a row no entry inserted", "insert a string",
    "update a list", "a time without Z", "a 70-bit id", "a signed forecast changed",
    "history rewritten under an anchor", "after the resolution, not late",
    "an anchor of kind ftp", "an anchor over no hash", "a commitment digest not hex",
    "a commitment on no question", "a key that does not parse",
    "a key with another fingerprint", "a prediction by a key never written",
    "a prediction from no commitment", "entries out of time order",
]  # fmt: skip


def test_every_listed_forgery_is_refused_naming_its_line(
    real_export: list[Entry], target: Target, tmp_path: Path
) -> None:
    seen = []
    for what, lines, index, message in forgeries(real_export):
        code, output, db = import_outcome(lines, target, tmp_path)
        errors = [line for line in output.splitlines() if line.startswith("Error:")]
        assert code == 2 and len(errors) == 1, (what, output)
        assert errors[0].startswith(f"Error: line {index + 1}: ") and message in errors[0], (
            what,
            errors,
        )
        assert_nothing_imported(db, target)
        seen.append(what)
    assert seen == FORGERIES


def assert_nothing_imported(db: str, target: Target) -> None:
    """The store stayed empty (on PostgreSQL a refusal before any write leaves no schema)."""
    code, head = invoke("head", "--db", db)
    if target.backend == "postgres" and code != 0:
        assert "has no predtrack schema" in head, head
    else:
        assert code == 0 and head.strip() == "0:" + GENESIS[:16], head


def test_a_refused_import_leaves_no_new_file(real_export: list[Entry], tmp_path: Path) -> None:
    """Refused by verify's checks inside the import's transaction, after the store was set up:
    the new file is never linked into place, and nothing is left beside it."""
    folder = tmp_path / "new"
    folder.mkdir()
    _, lines, index, message = next(f for f in forgeries(real_export) if "anchor" in f[0])
    source = tmp_path / "forged.jsonl"
    source.write_text("\n".join(lines) + "\n")
    code, output = invoke("import", str(source), "--db", str(folder / "copy.db"))
    assert code == 2 and f"line {index + 1}: " in output and message in output, output
    assert list(folder.iterdir()) == []
