"""Rebuild predictions.db.example from prereg.toml and the runs' result files.

Only predtrack's own commands are used, in the order a real study would use them:
register the pre-registration, let the "runs" write their results, link them, resolve,
and handle an annulled question and a corrected resolution. Run from anywhere:

    python examples/cheese_maze/build_example.py               # writes ./predictions.db.example
    python examples/cheese_maze/build_example.py --db out.db --workdir /tmp/study

The study runs in a scratch folder laid out like this repository (a temporary one unless
--workdir is given), because the result files must be written *after* the predictions, as in
a real study: their modification times are checked against the prediction times. predtrack
stores every path relative to the database's folder, so the database, copied to the top of
the repository, finds `examples/cheese_maze/results/` in any clone and verifies cleanly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def predtrack(
    *args: str, db: Path, cwd: Path, user: str = "alice", ok: tuple[int, ...] = (0,)
) -> str:
    exe = shutil.which("predtrack")
    command = [exe] if exe else [sys.executable, "-m", "predtrack"]
    env = {**os.environ, "PREDTRACK_DB": str(db), "PREDTRACK_USER": user}
    done = subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True)
    print(f"$ predtrack {' '.join(args)}\n{done.stdout}{done.stderr}", end="")
    if done.returncode not in ok:
        raise SystemExit(f"predtrack {' '.join(args)} exited with {done.returncode}")
    return done.stdout


def run_experiment(study: Path, *names: str) -> None:
    """The runs finish and write their result files (fresh modification times)."""
    (study / "results").mkdir(exist_ok=True)
    for name in names:
        shutil.copyfile(HERE / "results" / name, study / "results" / name)


def build(db: Path, workdir: Path) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    study = workdir / "examples" / "cheese_maze"
    study.mkdir(parents=True)
    shutil.copyfile(HERE / "prereg.toml", study / "prereg.toml")

    predtrack("init", db=db, cwd=study)
    predtrack("predict", "--file", "prereg.toml", db=db, cwd=study)
    predtrack("head", db=db, cwd=study)

    # First the sweep finishes: link it (this locks the experiment) and resolve what it decides.
    run_experiment(study, "sweep.csv")
    predtrack("link", "results/sweep.csv", "-e", "cheese-maze", db=db, cwd=study)
    # Erin joins late, after seeing the sweep: recorded, but marked late and not scored.
    predtrack(
        "predict", "--question", "flip", "14 to 15", "--by", "erin", db=db, cwd=study, user="erin"
    )
    predtrack(
        "predict", "--question", "above15", "0.1", "--by", "erin", db=db, cwd=study, user="erin"
    )
    predtrack("resolve", db=db, cwd=study, user="bob")

    # Then the evaluation and training metrics arrive.
    run_experiment(study, "results.json", "metrics.jsonl")
    predtrack(
        "link",
        "results/results.json",
        "results/metrics.jsonl",
        "-e",
        "cheese-maze",
        db=db,
        cwd=study,
    )
    predtrack("resolve", db=db, cwd=study, user="bob")

    # The size-31 runs crashed: annul the question instead of guessing its outcome.
    predtrack(
        "resolve",
        "above31",
        "--annul",
        "the size-31 runs crashed (out of memory)",
        db=db,
        cwd=study,
    )
    # A question resolved by hand, then corrected: both resolutions stay in the history.
    predtrack("resolve", "raters", "--no", db=db, cwd=study, user="carol")
    predtrack(
        "resolve",
        "raters",
        "--yes",
        "--correct",
        "second rating pass found a labelling slip",
        db=db,
        cwd=study,
        user="carol",
    )
    predtrack("verify", db=db, cwd=study)
    predtrack("list", db=db, cwd=study)


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild predictions.db.example.")
    parser.add_argument(
        "--db", type=Path, default=Path("predictions.db.example"), help="output database"
    )
    parser.add_argument(
        "--workdir", type=Path, help="scratch folder for the study [default: a temporary one]"
    )
    options = parser.parse_args()
    target = options.db.absolute()
    with tempfile.TemporaryDirectory(prefix="predtrack-example-") as scratch:
        workdir = options.workdir.absolute() if options.workdir else Path(scratch) / "study"
        db = workdir / "predictions.db.example"
        build(db, workdir)
        # One self-contained file: fold the WAL back in so the example is a single file.
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        shutil.copyfile(db, target)
    print(f"Wrote {target}")


if __name__ == "__main__":
    main()
