"""Bulk import, resolve, score and verify on a large store, each against plain code in one run.

Run:
    python benchmarks/bench_store.py                   # 10,000 questions x 10 = 100,000 predictions
    python benchmarks/bench_store.py --postgres postgresql+psycopg://postgres@127.0.0.1:5433/postgres
    python benchmarks/bench_store.py --quick           # 1,000 questions, one round (a smoke run)

Every figure is the median over `--repeat` rounds; each round builds fresh stores in a temporary
folder. predtrack runs as a user would run it (`predtrack predict --file`, `resolve`, `score
--json`, `verify`), each command a fresh process; the baselines are the scripts in
`benchmarks/plain/` (plain `sqlite3`/`psycopg` + `hashlib` + `json`, numpy for scores), run
the same way on the same files:
  bulk      predict --file prereg.json (and .toml) vs plain/bulk.py; <= 1.5x the time and
            <= 1.5x the peak memory of plain code; the plain store must pass `predtrack verify`
  resolve   every question from its result file vs plain/resolve.py; <= 3x on SQLite, <= 4x
            on PostgreSQL; again with result files older than the predictions (all late)
  score     score --json vs plain/score.py on the same store (its numbers must equal
            predtrack's); <= 1.5 s at 100,000 predictions
  verify    verify vs plain/verify.py (chain and rows only)
score and verify (and their plain scripts) run once untimed before the timed run, so that
each reads its libraries from memory.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import study
from study import Row, Timed, median, plain, predtrack

COMPARED = ("n", "brier", "log", "mcb", "dsc", "unc", "brier_cat", "log_cat", "crps")


@contextmanager
def store(backend: str, folder: Path, postgres: str | None) -> Iterator[str]:
    """A fresh, initialised store whose study root is `folder`."""
    folder.mkdir(parents=True)
    if backend == "sqlite":
        db = str(folder / "bench.db")
        predtrack("init", db=db, cwd=folder)
        yield db
        return
    assert postgres is not None
    with study.postgres_schema(postgres) as url:
        predtrack("init", db=url, cwd=folder)
        yield url


def prepare(folder: Path, files: Path) -> None:
    for name in ("prereg.json", "prereg.toml"):
        shutil.copy(files / name, folder / name)


def same_numbers(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    group = ours["groups"][0]
    return [
        f"{key}: predtrack {group.get(key)!r}, plain {theirs.get(key)!r}"
        for key in COMPARED
        if not math.isclose(float(group[key]), float(theirs[key]), rel_tol=1e-9, abs_tol=1e-12)
    ]


def one_round(
    backend: str, work: Path, files: Path, results: dict[str, Any], postgres: str | None
) -> dict[str, Timed]:
    """Fresh stores: predtrack's pipeline, plain code's pipeline, and the all-late resolves."""
    out: dict[str, Timed] = {}
    for late in (False, True):
        tag = "late" if late else ""
        with store(backend, work / f"pt{tag}", postgres) as db:
            folder = work / f"pt{tag}"
            prepare(folder, files)
            started = time.time()
            out[f"bulk{tag}"] = predtrack("predict", "--file", "prereg.json", db=db, cwd=folder)
            study.write_results(folder, results, started - 3600 if late else None)
            out[f"resolve{tag}"] = predtrack("resolve", db=db, cwd=folder)
            if not late:
                # Each read-only step runs once untimed first, predtrack's and the plain one
                # alike: a machine that pages out files left untouched for a minute (this
                # one does) otherwise charges reading numpy/SciPy from disk to whichever
                # process imports them first.
                for step in (("score", "--json"), ("verify",)):
                    predtrack(*step, db=db, cwd=folder)
                    out[step[0]] = predtrack(*step, db=db, cwd=folder)
                for script in ("score.py", "verify.py"):
                    plain(script, db, cwd=folder)
                    out[f"plain {script[:-3]}"] = plain(script, db, cwd=folder)
                differences = same_numbers(
                    json.loads(out["score"].stdout), json.loads(out["plain score"].stdout)
                )
                if differences:
                    raise SystemExit("plain scores differ:\n" + "\n".join(differences))
        with store(backend, work / f"plain{tag}", postgres) as db:
            folder = work / f"plain{tag}"
            prepare(folder, files)
            started = time.time()
            out[f"plain bulk{tag}"] = plain("bulk.py", db, "prereg.json", "bench", cwd=folder)
            study.write_results(folder, results, started - 3600 if late else None)
            out[f"plain resolve{tag}"] = plain("resolve.py", db, "bench", cwd=folder)
            check = json.loads(predtrack("verify", "--json", db=db, cwd=folder).stdout)
            if not check["ok"]:
                raise SystemExit(
                    f"predtrack verify refuses the plain store: {check['problems'][:3]}"
                )
        shutil.rmtree(work / f"pt{tag}")
        shutil.rmtree(work / f"plain{tag}")
    # TOML: the same document, parsed by tomllib in both.
    with store(backend, work / "toml", postgres) as db:
        prepare(work / "toml", files)
        out["bulk toml"] = predtrack("predict", "--file", "prereg.toml", db=db, cwd=work / "toml")
    with store(backend, work / "plaintoml", postgres) as db:
        prepare(work / "plaintoml", files)
        out["plain bulk toml"] = plain(
            "bulk.py", db, "prereg.toml", "bench", cwd=work / "plaintoml"
        )
    shutil.rmtree(work / "toml")
    shutil.rmtree(work / "plaintoml")
    return out


def rows_of(backend: str, runs: dict[str, Timed], questions: int, predictions: int) -> list[Row]:
    def pair(step: str, key: str, target: str = "", memory: bool = True) -> Row:
        ours, base = runs[key], runs.get(f"plain {key}")
        return Row(
            backend,
            step,
            ours.seconds,
            base.seconds if base else None,
            f"plain/{key.split()[0].removesuffix('late')}.py" if base else "",
            target,
            mem=ours.peak_mb if memory else None,
            base_mem=base.peak_mb if base and memory else None,
        )

    n, q = f"{predictions:,}", f"{questions:,}"
    resolve_target = "<= 3x" if backend == "sqlite" else "<= 4x"
    bulk = runs["bulk"]
    base = runs["plain bulk"]
    return [
        pair(f"bulk {n} (JSON)", "bulk", "<= 1.5x"),
        Row(
            backend,
            f"bulk {n}: peak memory",
            bulk.peak_mb,
            base.peak_mb,
            "plain/bulk.py",
            "<= 1.5x",
            unit="MB",
        ),
        pair(f"bulk {n} (TOML)", "bulk toml"),
        pair(f"resolve {q} questions", "resolve", resolve_target),
        pair(f"resolve {q}, all late", "resolvelate", resolve_target),
        pair(f"score {n}", "score", "<= 1.5 s" if predictions >= 100_000 else ""),
        pair(f"verify {n}", "verify"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--forecasters", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--quick", action="store_true", help="1,000 questions, one round")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.questions, options.repeat = 1000, 1
    predictions = options.questions * options.forecasters
    backends = ["sqlite"] + (["postgres"] if options.postgres else [])
    rows: list[Row] = []
    machine = study.machine()
    with tempfile.TemporaryDirectory(prefix="predtrack-bench-") as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        document, results = study.make_study(options.questions, options.forecasters)
        study.write_bulk(files, document, "json")
        study.write_bulk(files, document, "toml")
        for backend in backends:
            samples: dict[str, list[Timed]] = defaultdict(list)
            for index in range(options.repeat):
                work = Path(tmp) / f"{backend}-{index}"
                for key, value in one_round(
                    backend, work, files, results, options.postgres
                ).items():
                    samples[key].append(value)
            runs = {key: median(values) for key, values in samples.items()}
            rows += rows_of(backend, runs, options.questions, predictions)
    title = (
        f"predtrack store benchmark: {options.questions:,} questions x {options.forecasters} "
        f"forecasters = {predictions:,} predictions; {machine}; {options.repeat} round(s)"
    )
    study.print_table(rows, title, as_json=options.json)


if __name__ == "__main__":
    main()
