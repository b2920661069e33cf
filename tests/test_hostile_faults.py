"""Faults contained: read-only stores read, a silent server timed out, a full disk leaves no
partial export, a killed `init` leaves no store or a whole one, one bad rule fails its own
question, a symlinked secret is never echoed, and a 300 MB line stays within bounded memory."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from predtrack.store.schema import HEAD_REVISION
from tests.conftest import Run, head_of, sql, write
from tests.test_entrypoint import predtrack_exe
from tests.test_hostile import as_user, kill_after, prepared_store, shared_dir  # noqa: F401

# --- a read-only store: every read command works, every write is one line ---

READS = [
    (["head"], ""),
    (["verify"], "OK: "),
    (["list"], "Seeded"),
    (["show", "q"], "#1 Q"),
    (["score"], "Brier"),
    (["export"], '"seq":1'),
]
WRITES = [
    ["predict", "--question", "q", "0.4"],
    ["predict", "New", "0.4"],
    ["lock", "default"],
    ["resolve", "later", "--yes"],
    ["experiment", "add", "another"],
]


@pytest.mark.parametrize("mode", ["file 444", "folder 555", "both"])
def test_a_read_only_store_is_read_by_every_read_command(
    shared_dir: Path,  # noqa: F811
    tmp_path: Path,
    mode: str,
) -> None:
    db = prepared_store(shared_dir)
    for args in (
        ["predict", "Seeded", "0.6", "--key", "s"],
        ["predict", "Later", "0.2", "--key", "later"],
        ["resolve", "q", "--yes"],
        ["resolve", "s", "--no"],
    ):
        assert as_user(args, db, shared_dir).returncode == 0
    head = as_user(["head"], db, shared_dir).stdout
    out = tmp_path / "elsewhere"
    out.mkdir()
    if mode != "folder 555":
        db.chmod(0o444)
    if mode != "file 444":
        shared_dir.chmod(0o555)
    try:
        for args, needle in [*READS, (["report", "-o", str(out / "r.html")], "r.html")]:
            done = as_user(args, db, shared_dir)
            assert done.returncode == 0 and needle in done.stdout, (args, done.stderr)
        assert (out / "r.html").read_text().startswith("<!DOCTYPE html>")
        for args in WRITES:
            done = as_user(args, db, shared_dir)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1, (args, done.stderr)
            assert "read-only" in lines[0], lines
    finally:
        shared_dir.chmod(0o755)
        db.chmod(0o644)
    assert as_user(["head"], db, shared_dir).stdout == head
    assert sorted(p.name for p in shared_dir.iterdir()) == ["p.db"]


# --- a PostgreSQL server that accepts the connection and never answers ---


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_a_server_that_never_answers_times_out(
    run: Run, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDTRACK_PG_TIMEOUT", "2")
    started = time.monotonic()
    result = run("list", "--db", f"postgresql+psycopg://u@127.0.0.1:{silent_server}/db", code=2)
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 8, elapsed  # the 2 s limit, with room for a loaded machine
    (line,) = result.output.strip().splitlines()
    assert "did not answer in time" in line and "PREDTRACK_PG_TIMEOUT sets the limit" in line


@pytest.mark.postgres
def test_a_statement_that_waits_too_long_times_out(
    store_db: str, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer kept waiting for the ledger lock longer than the statement timeout gives up
    with the same message; the head is unchanged."""
    if not store_db.startswith("postgresql"):
        pytest.skip("a PostgreSQL statement timeout")
    import psycopg

    from predtrack.store.engine import PG_LEDGER_LOCK, locate

    run("predict", "Q", "0.3", "--key", "q")
    before = head_of(run)
    monkeypatch.setenv("PREDTRACK_PG_TIMEOUT", "1")
    with psycopg.connect(locate(store_db).conninfo or "") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (PG_LEDGER_LOCK,))
        result = run("predict", "--question", "q", "0.4", code=2)
    assert "did not answer in time" in result.output and "statement timeout" in result.output
    monkeypatch.delenv("PREDTRACK_PG_TIMEOUT")
    assert head_of(run) == before


# --- export onto a full disk: nothing partial is left ---


def _exported_store(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PREDTRACK_DB": str(folder / "p.db"), "PREDTRACK_USER": "alice"}
    lines = ['experiment = "big"']
    for i in range(400):
        lines.append(f'[[question]]\nkey = "q{i}"\ntitle = "Question {i}"\nforecast = "0.4"')
    bulk = write(folder / "bulk.toml", "\n".join(lines) + "\n")
    for args in (["init"], ["predict", "--file", str(bulk)]):
        subprocess.run([predtrack_exe(), *args], env=env, check=True, capture_output=True)
    return env


def _with_file_size_limit(limit: int) -> None:
    # As a full disk does: writes past `limit` bytes fail with EFBIG instead of killing us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_export_onto_a_full_disk_leaves_nothing_partial(tmp_path: Path) -> None:
    env = _exported_store(tmp_path)
    full = subprocess.run(
        [predtrack_exe(), "export"], env=env, check=True, capture_output=True, text=True
    ).stdout
    limit = 40_000  # above SQLite's 32 KiB shared-memory file, far below the export
    assert len(full) > 4 * limit
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.jsonl").write_text("the previous export\n")
    for name in ("old.jsonl", "new.jsonl"):
        done = subprocess.run(
            [predtrack_exe(), "export", "-o", str(out / name)],
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=lambda: _with_file_size_limit(limit),
        )
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line == f"Error: -o {str(out / name)!r}: cannot write there (File too large)"
        assert sorted(p.name for p in out.iterdir()) == ["old.jsonl"]
        assert (out / "old.jsonl").read_text() == "the previous export\n"
    subprocess.run([predtrack_exe(), "export", "-o", str(out / "new.jsonl")], env=env, check=True)
    assert (out / "new.jsonl").read_text() == full


def test_export_into_a_fifo_writes_through_it(run: Run, tmp_path: Path) -> None:
    """A device or FIFO given to -o is written in place, never replaced by a regular file."""
    run("init")
    run("predict", "Q", "0.3")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    run("export", "-o", str(fifo))
    reader.join(timeout=30)
    assert received == [run("export").output]
    assert fifo.is_fifo()


# --- init killed at any moment ---


def _assert_no_store_or_a_whole_one(env: dict[str, str], cwd: Path) -> str:
    """After a kill: init accepts what is there (creating it if nothing is), and the store is
    at the newest revision with an empty, verifiable ledger."""
    exe = predtrack_exe()
    before = subprocess.run([exe, "db", "current", "--json"], env=env, cwd=cwd, capture_output=True)
    done = subprocess.run([exe, "init"], env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0 and f"at schema revision {HEAD_REVISION}" in done.stdout, (
        done.stderr
    )
    verify = subprocess.run(
        [exe, "verify", "--against", "0:" + "0" * 16], env=env, cwd=cwd, capture_output=True
    )
    assert verify.returncode == 0, verify.stdout
    if before.returncode != 0 or json.loads(before.stdout)["revision"] is None:
        return "none"  # no file, or (on a server) no table
    assert json.loads(before.stdout)["up_to_date"], before.stdout
    return "whole"


def test_init_killed_at_random_moments_on_sqlite(tmp_path: Path) -> None:
    exe = predtrack_exe()
    started = time.monotonic()
    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "timed.db"), "PREDTRACK_USER": "alice"}
    subprocess.run([exe, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    duration = time.monotonic() - started
    outcomes: set[str] = set()
    tries = 16
    for attempt in range(tries):
        folder = tmp_path / f"try{attempt}"
        folder.mkdir()
        env["PREDTRACK_DB"] = str(folder / "p.db")
        kill_after(duration * 1.2 * attempt / tries, ["init"], env, folder)
        outcomes.add(_assert_no_store_or_a_whole_one(env, folder))
    assert "none" in outcomes, outcomes


@pytest.mark.postgres
def test_init_killed_at_random_moments_on_postgresql(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("migrations on a server")
    exe = predtrack_exe()
    env = {**os.environ, "PREDTRACK_DB": db_url, "PREDTRACK_USER": "alice"}
    started = time.monotonic()
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    duration = time.monotonic() - started
    schema = db_url.rsplit("%3D", 1)[1]
    outcomes: set[str] = set()
    tries = 8
    for attempt in range(tries):
        sql(db_url, f'DROP SCHEMA "{schema}" CASCADE')
        sql(db_url, f'CREATE SCHEMA "{schema}"')
        kill_after(duration * 1.2 * attempt / tries, ["init"], env, Path.cwd())
        outcomes.add(_assert_no_store_or_a_whole_one(env, Path.cwd()))
    assert "none" in outcomes, outcomes


# --- rules that must fail their own question only, and never echo what they read ---


def test_a_rule_with_a_nul_byte_fails_its_own_question_only(tmp_path: Path, run: Run) -> None:
    """Such a rule can only come from a tampered SQLite store (every backend refuses it at
    input, PostgreSQL cannot store it): resolve still resolves every other question."""
    run("init")
    write(tmp_path / "ok.json", '{"a": true}')
    run("predict", "Broken", "0.5", "--key", "broken", "--rule", "ok.json#/a")
    run("predict", "Fine", "0.5", "--key", "fine", "--rule", "ok.json#/a")
    sql(str(tmp_path / "predictions.db"), "UPDATE questions SET rule = :r WHERE key = 'broken'",
        r="o\x00k.json#/a")  # fmt: skip
    for extra in (["--dry-run"], []):
        outcomes = json.loads(run("resolve", "--json", *extra, code=1).output)["questions"]
        by_key = {q["label"]: q for q in outcomes}
        assert by_key["default/broken"]["status"] == "failed"
        assert "the file name holds a NUL byte" in by_key["default/broken"]["reason"]
        assert by_key["default/fine"]["status"] == "resolved"
    assert json.loads(run("show", "fine", "--json").output)["status"] == "resolved"


SECRET = "root:$6$S3CR3TSALT$hashedpassword:19000:0:99999:7:::"


def test_a_symlink_to_a_file_outside_never_prints_its_content(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules registered by a colleague on a shared store, pointing through symlinks at a file
    the resolver's machine can read (standing in for /etc/shadow)."""
    outside = tmp_path / "etc"
    outside.mkdir()
    write(outside / "shadow", f"user,password,x\n{SECRET},1\nbin,*,2\n")
    write(outside / "shadow.json", json.dumps({SECRET: {"nested": SECRET}, "k": 1}))
    project = tmp_path / "project"
    project.mkdir()
    (project / "r.csv").symlink_to(outside / "shadow")
    (project / "r.json").symlink_to(outside / "shadow.json")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PREDTRACK_DB", str(project / "p.db"))
    run("init")
    rules = [
        "r.csv#nope[user=root] > 1",
        "r.csv#x[user=nobody] > 1",
        "r.csv#x > 1",
        "r.csv#x[nope=1] > 1",
        "r.csv#mean(nope) > 1",
        "r.json#/nope",
        "r.json#/k/deeper",
    ]
    for number, rule in enumerate(rules):
        run("predict", f"Q{number}", "0.5", "--key", f"k{number}", "--rule", rule)
    before = head_of(run)
    skipped = json.loads(run("resolve", "--json", code=None).output)["questions"]
    assert all("lies outside the folder" in q["reason"] for q in skipped), skipped
    for args in (["--json"], [], ["--dry-run"]):
        output = run("resolve", "--allow-outside", *args, code=1).output
        assert "S3CR3T" not in output and "hashedpassword" not in output, output
    assert "r.csv" in output
    assert head_of(run) == before


# The child's exact peak resident memory, from wait4 in a bare interpreter that forks and
# execs it (so the peak is the command's, not a copy of the test process).
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print('peak-kib', usage.ru_maxrss, file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, int]:
    """(exit code, stdout, peak resident KiB) of one predtrack command."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, predtrack_exe(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    peak = int(done.stderr.strip().splitlines()[-1].split()[1])
    return done.returncode, done.stdout, peak


def test_a_300_mb_line_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    with (tmp_path / "sweep.csv").open("w") as handle:
        handle.write("maze_size,cheese_rate\n")
        block = "25,0.7," * (1 << 17)
        for _ in range(300 * 1024 * 1024 // len(block)):
            handle.write(block)
        handle.write("\n")
    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "p.db"), "PREDTRACK_USER": "alice"}
    rule = "sweep.csv#cheese_rate[maze_size=25] > 0.5"
    for args in (["init"], ["predict", "Big", "0.5", "--key", "big", "--rule", rule]):
        subprocess.run(
            [predtrack_exe(), *args], env=env, cwd=tmp_path, check=True, capture_output=True
        )
    code, out, peak_kib = run_measured(["resolve", "--dry-run", "--json"], env, tmp_path)
    assert code == 1, out
    (question,) = json.loads(out)["questions"]
    assert question["status"] == "failed"
    assert question["reason"].startswith("sweep.csv line 2 is over 4 MiB"), question["reason"]
    assert 0 < peak_kib < 200 * 1024, peak_kib
