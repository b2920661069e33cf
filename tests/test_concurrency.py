"""Several processes writing at once: nothing lost, nothing twice, the chain never forks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_entrypoint import predtrack_exe


def bulk_file(path: Path, worker: int, count: int) -> Path:
    lines = ['experiment = "conc"', f'forecaster = "w{worker}"']
    for i in range(count):
        lines += [
            "[[question]]",
            f'key = "w{worker}-q{i}"',
            f'title = "Worker {worker} question {i}"',
            f'forecast = "{(i % 9 + 1) / 10}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def single_calls_script(worker: int, count: int) -> str:
    """A shell loop of single `predtrack predict` calls."""
    exe = predtrack_exe()
    return "\n".join(
        f'"{exe}" predict "Worker {worker} single {i}" 0.{i % 9 + 1} -e conc --key w{worker}-s{i} --by w{worker} || exit 1'
        for i in range(count)
    )


def start(args: list[str], cwd: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PREDTRACK_DB": url, "PREDTRACK_USER": "alice"}
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(
    ("bulk_workers", "bulk_size", "single_workers", "single_size"),
    [(4, 50, 0, 0), (5, 70, 3, 20)],
    ids=["4x50-bulk", "8-mixed-410"],
)
def test_concurrent_writers(
    store_db: str,
    run: Run,
    tmp_path: Path,
    bulk_workers: int,
    bulk_size: int,
    single_workers: int,
    single_size: int,
) -> None:
    procs = []
    for w in range(bulk_workers):
        path = bulk_file(tmp_path / f"w{w}.toml", w, bulk_size)
        procs.append(start([predtrack_exe(), "predict", "--file", str(path)], tmp_path, store_db))
    for w in range(bulk_workers, bulk_workers + single_workers):
        procs.append(start(["sh", "-c", single_calls_script(w, single_size)], tmp_path, store_db))
    failures = []
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        if proc.returncode != 0 or "locked" in err.lower() or "error" in err.lower():
            failures.append((proc.returncode, err[-500:]))
    assert failures == []

    expected = bulk_workers * bulk_size + single_workers * single_size
    views = json.loads(run("list", "--json", "--reveal").output)
    keys = [v["key"] for v in views]
    assert len(keys) == expected == len(set(keys))
    assert sum(len(v["predictions"]) for v in views) == expected
    report = json.loads(run("verify", "--json").output)
    assert report["ok"] and report["entries"] == bulk_workers + single_workers * single_size
