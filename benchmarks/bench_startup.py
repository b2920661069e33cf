"""Small commands on the shipped example store against bare `python -c pass`, in one run.

Run: python benchmarks/bench_startup.py [--repeat N] [--json]

The store is a copy of `predictions.db.example` (29 questions, 5 forecasters), with the study
root at the repository so `verify` re-hashes the example's result files. Each command runs N
times in a fresh process after warm-up runs (hyperfine when installed, else a timing loop);
the figure is the median wall time. Targets: `--help`, `list`, `show`, `head`, `verify` and
`experiment list` within 0.15 s of `python -c pass`, `predict` within 0.2 s. `list` is also
compared with the plain baseline `plain/list.py` (`sqlite3` + `click`, one query, a table).
Bytecode is cached, as for an installed package.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import study
from study import Row

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(command: list[str], env: dict[str, str], cwd: Path, repeat: int) -> float:
    """Median wall time of a command (hyperfine when available)."""
    if shutil.which("hyperfine"):
        export = cwd / "hyperfine.json"
        subprocess.run(
            ["hyperfine", "-N", "-w", "3", "-r", str(repeat), "--export-json", str(export),
             subprocess.list2cmdline(command)],
            env=env, cwd=cwd, check=True, capture_output=True,
        )  # fmt: skip
        return float(json.loads(export.read_text())["results"][0]["median"])
    for _ in range(3):
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    exe = study.predtrack_exe()
    with tempfile.TemporaryDirectory(prefix="predtrack-startup-") as tmp:
        cwd = Path(tmp)
        db = cwd / "example.db"
        shutil.copy(ROOT / "predictions.db.example", db)
        env = {**os.environ, "PREDTRACK_DB": str(db), "PREDTRACK_USER": "bench"}
        env["PREDTRACK_ROOT"] = str(ROOT)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = median_seconds([sys.executable, "-c", "pass"], env, cwd, options.repeat)
        commands = [
            ("--help", ["--help"], 0.15),
            ("list", ["list"], 0.15),
            ("show above5", ["show", "above5"], 0.15),
            ("head", ["head"], 0.15),
            ("verify", ["verify"], 0.15),
            ("experiment list", ["experiment", "list"], 0.15),
            ("predict (one forecast)", ["predict", "--question", "above5", "0.4", "--by", "zed"],
             0.2),
        ]  # fmt: skip
        rows = []
        for name, args, within in commands:
            seconds = median_seconds([*exe, *args], env, cwd, options.repeat)
            rows.append(Row("sqlite", f"predtrack {name}", seconds, python, "python -c pass",
                            f"+ {within} s"))  # fmt: skip
        plain_list = median_seconds(
            [sys.executable, str(ROOT / "benchmarks/plain/list.py"), "--db", str(db)],
            env, cwd, options.repeat,
        )  # fmt: skip
        rows.append(Row("sqlite", "predtrack list vs plain list", rows[1].ours, plain_list,
                        "plain/list.py (sqlite3 + click)"))  # fmt: skip
    title = (
        f"predtrack start-up on the 29-question example; {study.machine()}; "
        f"{options.repeat} runs per command"
    )
    study.print_table(rows, title, as_json=options.json)


if __name__ == "__main__":
    main()
