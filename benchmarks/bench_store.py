"""A large store, end to end, against the DESIGN §9 targets, on SQLite and (optionally) PostgreSQL.

Run:
    python benchmarks/bench_store.py                       # SQLite only
    python benchmarks/bench_store.py --postgres postgresql+psycopg://postgres@127.0.0.1:54329/postgres
    python benchmarks/bench_store.py --questions 2000 --json   # smaller, machine-readable

Each step is a real `predtrack` command in a fresh process, timed by wall clock:
  bulk 10k    10,000 predictions from one file (1,000 questions x 10 forecasters)  target <= 5 s
  bulk        N x 10 predictions from one file (default 100,000 over 10,000 questions)
  resolve     every question from one results.json written after the predictions
  score       `predtrack score`                                                     target <= 3 s
  score/by    `predtrack score --by forecaster --baseline climatology`
  verify      `predtrack verify`                                                    target <= 3 s
  report      `predtrack report`                                  target <= 10 s and <= 3 MB
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

KINDS = ["binary"] * 6 + ["quantity"] * 2 + ["fraction", "categorical"]


def write_study(
    folder: Path, questions: int, forecasters: int, seed: int, name: str
) -> tuple[Path, dict[str, Any]]:
    """A pre-registration file of mixed kinds, and the outcomes its rules will read."""
    rng = random.Random(seed)
    lines = [f'experiment = "{name}"']
    results: dict[str, Any] = {}
    for i in range(questions):
        kind, key = KINDS[i % len(KINDS)], f"q{i}"
        lines.append(f'[[question]]\nkey = "{key}"\ntitle = "Scale question {i}"\nkind = "{kind}"')
        if kind == "binary":
            results[key] = rng.random() < 0.4
            rule = f"results.json#/{key}"
            forecasts = {f"f{j}": f"{rng.randint(1, 99) / 100}" for j in range(forecasters)}
        elif kind == "quantity":
            results[key] = round(rng.gauss(15, 4), 3)
            rule = f"results.json#/{key}"
            forecasts = {
                f"f{j}": (
                    f"{10 + rng.random() * 3:.2f} to {17 + rng.random() * 5:.2f}"
                    if j % 2
                    else f"normal({14 + rng.random() * 2:.2f}, {2 + rng.random():.2f})"
                )
                for j in range(forecasters)
            }
        elif kind == "fraction":
            results[key] = {"k": rng.randint(0, 50), "n": 50}
            rule = f"results.json#/{key}/k/of/{key}/n"
            forecasts = {
                f"f{j}": f"beta({rng.randint(2, 9)}, {rng.randint(2, 9)})"
                for j in range(forecasters)
            }
        else:
            results[key] = rng.choice(["a", "b", "c"])
            rule = f"results.json#/{key}"
            forecasts = {}
            for j in range(forecasters):
                a = rng.randint(1, 8)
                b = rng.randint(1, 9 - a)
                forecasts[f"f{j}"] = f"a:0.{a}, b:0.{b}, c:{(10 - a - b) / 10}"
        lines.append(f'rule = "{rule}"')
        lines.append(
            "forecasts = { " + ", ".join(f'{k} = "{v}"' for k, v in forecasts.items()) + " }"
        )
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, results


def predtrack(*args: str, db: str, cwd: Path) -> tuple[float, str]:
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    env = {**os.environ, "PREDTRACK_DB": db, "PREDTRACK_USER": "bench"}
    start = time.perf_counter()
    done = subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"predtrack {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
        )
    return seconds, done.stdout


def run_backend(
    label: str, db: str, folder: Path, questions: int, forecasters: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(step: str, seconds: float, target: float | None, note: str = "") -> None:
        rows.append(
            {
                "backend": label,
                "step": step,
                "seconds": round(seconds, 3),
                "target": target,
                "note": note,
                "ok": None if target is None else seconds <= target,
            }
        )

    predtrack("init", db=db, cwd=folder)
    small, _ = write_study(folder, 1000, 10, seed=1, name="bulk10k")
    add(
        "bulk 10k predictions",
        predtrack("predict", "--file", str(small), db=db, cwd=folder)[0],
        5.0,
    )

    big, results = write_study(folder, questions, forecasters, seed=2, name="scale")
    n = questions * forecasters
    add(
        f"bulk {n:,} predictions",
        predtrack("predict", "--file", str(big), db=db, cwd=folder)[0],
        None,
    )
    # The runs finish after the pre-registration: the results file is newer than every prediction.
    (folder / "results.json").write_text(json.dumps(results))
    add(
        f"resolve {questions:,} questions",
        predtrack("resolve", "-e", "scale", db=db, cwd=folder)[0],
        None,
    )
    add("score", predtrack("score", db=db, cwd=folder)[0], 3.0)
    add(
        "score --by forecaster --baseline climatology",
        predtrack("score", "--by", "forecaster", "--baseline", "climatology", db=db, cwd=folder)[0],
        None,
    )
    add("verify", predtrack("verify", db=db, cwd=folder)[0], 3.0)
    report = folder / f"report-{label}.html"
    seconds, _ = predtrack("report", "-o", str(report), db=db, cwd=folder)
    size_mb = report.stat().st_size / 1e6
    add("report", seconds, 10.0, f"{size_mb:.2f} MB")
    rows.append(
        {
            "backend": label,
            "step": "report size (MB)",
            "seconds": None,
            "target": 3.0,
            "note": f"{size_mb:.2f} MB",
            "ok": size_mb <= 3.0,
            "value": round(size_mb, 3),
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--forecasters", type=int, default=10)
    parser.add_argument(
        "--postgres", metavar="URL", help="also run on this PostgreSQL server (a scratch schema)"
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="predtrack-bench-") as tmp:
        folder = Path(tmp) / "sqlite"
        folder.mkdir()
        rows += run_backend(
            "sqlite", str(folder / "bench.db"), folder, options.questions, options.forecasters
        )
        if options.postgres:
            from sqlalchemy import create_engine, text

            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(options.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                folder = Path(tmp) / "postgres"
                folder.mkdir()
                separator = "&" if "?" in options.postgres else "?"
                url = f"{options.postgres}{separator}options=-csearch_path%3D{schema}"
                rows += run_backend("postgres", url, folder, options.questions, options.forecasters)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{options.questions:,} questions x {options.forecasters} forecasters; {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}; wall-clock seconds of real `predtrack` processes"
    )
    print(f"{'backend':9} {'step':46} {'measured':>10} {'target':>8}  ok")
    for row in rows:
        measured = f"{row['seconds']:.2f} s" if row["seconds"] is not None else row["note"]
        target = (
            ""
            if row["target"] is None
            else (
                f"<= {row['target']:g} MB" if row["seconds"] is None else f"<= {row['target']:g} s"
            )
        )
        ok = "" if row["ok"] is None else ("yes" if row["ok"] else "NO")
        extra = f"  ({row['note']})" if row["note"] and row["seconds"] is not None else ""
        print(f"{row['backend']:9} {row['step']:46} {measured:>10} {target:>8}  {ok}{extra}")


if __name__ == "__main__":
    main()
