"""Hostile and broken input: one clear line or a working result, never a traceback, and the
ledger head unchanged after every failure."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run, head_of, write
from tests.test_entrypoint import predtrack_exe


def test_a_text_file_as_database(run: Run, tmp_path: Path) -> None:
    fake = write(tmp_path / "notes.txt", "these are my notes, not a database\n" * 20)
    for args in (["list"], ["predict", "Q", "0.3"], ["init"], ["verify"]):
        result = run(*args, "--db", str(fake), code=2)
        assert "is not a predtrack database (not an SQLite file)" in result.output
    assert fake.read_text().startswith("these are my notes")


def test_a_directory_as_database(run: Run, tmp_path: Path) -> None:
    for args in (["list"], ["init"], ["predict", "Q", "0.3"]):
        assert "is a directory" in run(*args, "--db", str(tmp_path), code=2).output


def test_an_unrelated_sqlite_database(run: Run, tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert "has no predtrack schema" in run("list", "--db", str(other), code=2).output


def test_a_missing_folder(run: Run, tmp_path: Path) -> None:
    assert (
        "does not exist"
        in run("init", "--db", str(tmp_path / "no" / "such" / "p.db"), code=2).output
    )


def test_a_bad_url(run: Run) -> None:
    assert "unsupported database URL" in run("list", "--db", "mysql://x/y", code=2).output


# --- permissions: root ignores file modes, so as root the command runs without the
# capabilities that let it (CAP_DAC_OVERRIDE and friends), via util-linux's setpriv.


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "perm"
    folder.mkdir()
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755)


def as_user(args: list[str], db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREDTRACK_DB": str(db), "PREDTRACK_USER": "alice"}
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes cannot be enforced")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    return subprocess.run(
        [*prefix, predtrack_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def prepared_store(folder: Path) -> Path:
    db = folder / "p.db"
    for args in (["init"], ["predict", "Q", "0.3", "--key", "q"]):
        done = as_user(args, db, folder)
        assert done.returncode == 0, done.stderr
    return db


def assert_clean_failure(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert any(n in lines[0] for n in needles), lines[0]


def test_a_read_only_database_file(shared_dir: Path) -> None:
    db = prepared_store(shared_dir)
    head = as_user(["head"], db, shared_dir).stdout
    db.chmod(0o444)
    assert_clean_failure(
        as_user(["predict", "--question", "q", "0.4"], db, shared_dir), "read-only", "cannot open"
    )
    db.chmod(0o644)
    assert as_user(["head"], db, shared_dir).stdout == head


def test_a_read_only_folder_like_a_full_disk(shared_dir: Path) -> None:
    db = prepared_store(shared_dir)
    head = as_user(["head"], db, shared_dir).stdout
    shared_dir.chmod(0o555)
    try:
        assert_clean_failure(
            as_user(["predict", "--question", "q", "0.4"], db, shared_dir),
            "read-only",
            "cannot open",
            "cannot write",
        )
        assert_clean_failure(
            as_user(["init"], shared_dir / "new.db", shared_dir),
            "read-only",
            "cannot open",
            "cannot write",
            "cannot create",
        )
    finally:
        shared_dir.chmod(0o777)
    assert as_user(["head"], db, shared_dir).stdout == head


# --- big and odd inputs ---


def test_ten_thousand_entries_with_one_bad(store_db: str, run: Run, tmp_path: Path) -> None:
    head = head_of(run)
    entries = ['experiment = "big"']
    for i in range(10_000):
        forecast = "10 to 20" if i != 7_777 else "20 to 10"
        entries.append(
            f'[[question]]\nkey = "q{i}"\ntitle = "Question {i}"\nkind = "quantity"\nforecast = "{forecast}"'
        )
    path = write(tmp_path / "big.toml", "\n".join(entries) + "\n")
    result = run("predict", "--file", str(path), code=2)
    assert "question #7778 (key 'q7777')" in result.output and "reversed" in result.output
    assert head_of(run) == head


def test_csv_with_bom_and_json_with_nan(store_db: str, run: Run, tmp_path: Path) -> None:
    write(tmp_path / "bom.csv", "\ufeffmaze_size,cheese_rate\n25,0.7\n")
    write(tmp_path / "nan.json", '{"acc": NaN}')
    run(
        "predict", "BOM", "0.5", "--key", "bom", "--rule", "bom.csv#cheese_rate[maze_size=25] > 0.5"
    )
    run("predict", "NaN", "normal(1, 1)", "--key", "nan", "--rule", "nan.json#/acc")
    out = json.loads(run("resolve", "--json", code=1).output)["questions"]
    by_key = {q["label"].split("/")[1]: q for q in out}
    assert by_key["bom"]["status"] == "resolved" and by_key["bom"]["value"] is True
    assert by_key["nan"]["status"] == "failed" and "NaN" in by_key["nan"]["reason"]


def test_a_500_mb_json_is_refused_before_reading(store_db: str, run: Run, tmp_path: Path) -> None:
    big = tmp_path / "results.json"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(500_000_000)
    run("predict", "Acc", "0.5", "--key", "acc", "--rule", "results.json#/acc > 0.5")
    before = head_of(run)
    reason = json.loads(run("resolve", "--json", code=1).output)["questions"][0]["reason"]
    assert "500 MB" in reason and "refused" in reason
    assert head_of(run) == before


@pytest.mark.slow
def test_a_500_mb_csv_is_streamed(tmp_path: Path) -> None:
    block = "".join(f"{i},{i % 97 / 97:.4f},{i * 3}\n" for i in range(100_000))
    with (tmp_path / "sweep.csv").open("w") as handle:
        handle.write("maze_size,cheese_rate,seed\n")
        written = 0
        while written < 500 * 1024 * 1024:
            handle.write(block)
            written += len(block)
        handle.write("999999,0.7,1\n")
    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "p.db"), "PREDTRACK_USER": "alice"}
    exe = predtrack_exe()
    subprocess.run([exe, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        [
            exe,
            "predict",
            "Big",
            "0.5",
            "--key",
            "big",
            "--rule",
            "sweep.csv#cheese_rate[maze_size=999999] > 0.5",
        ],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [exe, "resolve", "--json"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        peak_kib = 0
        # The child's own high-water mark (VmHWM is per address space, so a forked copy of
        # this test process does not count), sampled until it exits.
        while proc.poll() is None:
            peak_kib = max(peak_kib, _vm_hwm_kib(proc.pid))
            time.sleep(0.1)
        out.seek(0)
        stdout = out.read()
    assert proc.returncode == 0
    assert json.loads(stdout)["questions"][0]["value"] is True
    # Streamed: the peak is a small fraction of the 500 MB file.
    assert 0 < peak_kib < 200 * 1024, peak_kib


def _vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- crash safety ---


def kill_after(delay: float, args: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run a predtrack command and SIGKILL it after `delay` seconds."""
    proc = subprocess.Popen(
        [predtrack_exe(), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkill_during_a_bulk_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "p.db"), "PREDTRACK_USER": "alice"}
    exe = predtrack_exe()
    subprocess.run([exe, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        [exe, "predict", "Before", "0.5", "--key", "before"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    lines = ['experiment = "crash"']
    for i in range(5_000):
        lines.append(
            f'[[question]]\nkey = "c{i}"\ntitle = "Crash test {i}"\nforecasts = {{ a = "0.{i % 9 + 1}", b = "0.5" }}'
        )
    bulk = write(tmp_path / "bulk.toml", "\n".join(lines) + "\n")
    outcomes = set()
    for delay in (0.4, 0.9, 1.4, 2.0, 2.8):
        kill_after(delay, ["predict", "--file", str(bulk)], env, tmp_path)
        listing = subprocess.run(
            [exe, "list", "--json", "-e", "crash"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        count = len(json.loads(listing.stdout)) if listing.returncode == 0 else 0
        assert count in (0, 5_000), count
        outcomes.add(count)
        verify = subprocess.run(
            [exe, "verify", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert json.loads(verify.stdout)["ok"], verify.stdout
        if count == 5_000:
            break
    assert outcomes  # at least one kill landed; each left all or none


def test_unexpected_errors_are_one_line_too(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import predtrack.integrity

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    run("init")
    monkeypatch.setattr(predtrack.integrity, "head", boom)
    result = run("head", code=1)
    assert "unexpected RuntimeError: simulated bug" in result.output
    assert sys.exc_info()[0] is None


def test_an_unreadable_results_file_fails_that_question_only(shared_dir: Path) -> None:
    db = shared_dir / "p.db"
    (shared_dir / "ok.json").write_text('{"a": true}')
    (shared_dir / "secret.json").write_text('{"a": true}')
    for args in (
        ["init"],
        ["predict", "Readable", "0.5", "--key", "ok", "--rule", "ok.json#/a"],
        ["predict", "Unreadable", "0.5", "--key", "secret", "--rule", "secret.json#/a"],
    ):
        assert as_user(args, db, shared_dir).returncode == 0
    (shared_dir / "secret.json").chmod(0)
    done = as_user(["resolve", "--json"], db, shared_dir)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    outcomes = {q["label"]: q for q in json.loads(done.stdout)["questions"]}
    assert outcomes["default/ok"]["status"] == "resolved"
    assert outcomes["default/secret"]["status"] == "failed"
    assert "permission denied" in outcomes["default/secret"]["reason"]
