"""`predtrack report` on a large store: wall time and size, beside baselines from the same run.

Run: python benchmarks/bench_report.py [--questions 10000] [--repeat 3] [--postgres URL]
                                       [--quick] [--json]

The store is built with predtrack's own commands, as a real study would be: one bulk file
(10,000 questions x 10 forecasters = 100,000 predictions by default), result files written
after it, one `resolve`, a few questions annulled by hand and a few late predictions. The
figure is the median wall time of `predtrack report` in a fresh process (start-up, scoring,
every section, the ledger check in a second process); targets <= 4 s and <= 3 MB at 100,000
predictions. Baselines measured in the same run: `predtrack score --json` and the plain
scorer `plain/score.py` on the same store (the report scores everything `score` does, and
draws and checks more), and `predtrack verify` (which the report runs beside its work).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import study
from study import Row, plain, predtrack, repeat


def build(db: str, folder: Path, questions: int) -> None:
    document, results = study.make_study(questions, 10, seed=7)
    study.write_bulk(folder, document, "json")
    predtrack("predict", "--file", "prereg.json", db=db, cwd=folder)
    study.write_results(folder, results, None)
    predtrack("resolve", db=db, cwd=folder)
    for i in range(499, questions, 2500):  # a few annulled by hand
        predtrack("resolve", f"q{i}", "--correct", "the run crashed", "--annul", "crashed",
                  db=db, cwd=folder)  # fmt: skip
    binary = [q["key"] for q in document["questions"] if q["kind"] == "binary"]
    for key in binary[:50:5]:  # late: made after the results exist
        predtrack("predict", "--question", key, "0.5", "--by", "latecomer", db=db, cwd=folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--quick", action="store_true", help="1,000 questions, one run")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.questions, options.repeat = 1000, 1
    n = options.questions * 10
    large = n >= 100_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="predtrack-report-") as tmp:
        for backend in ["sqlite"] + (["postgres"] if options.postgres else []):
            folder = Path(tmp) / backend
            folder.mkdir()
            if backend == "sqlite":
                db = str(folder / "bench.db")
                predtrack("init", db=db, cwd=folder)
                rows += measure(backend, db, folder, options.questions, options.repeat, large)
            else:
                with study.postgres_schema(options.postgres) as db:
                    predtrack("init", db=db, cwd=folder)
                    rows += measure(backend, db, folder, options.questions, options.repeat, large)
    title = (
        f"predtrack report on {n:,} predictions ({options.questions:,} questions x 10); "
        f"{study.machine()}; {options.repeat} run(s)"
    )
    study.print_table(rows, title, as_json=options.json)


def measure(
    backend: str, db: str, folder: Path, questions: int, times: int, large: bool
) -> list[Row]:
    build(db, folder, questions)
    report = repeat(lambda: predtrack("report", "-o", "report.html", db=db, cwd=folder), times)
    size = (folder / "report.html").stat().st_size / 1e6
    score = repeat(lambda: predtrack("score", "--json", db=db, cwd=folder), times)
    plain_score = repeat(lambda: plain("score.py", db, cwd=folder), times)
    verify = repeat(lambda: predtrack("verify", db=db, cwd=folder), times)
    everything = predtrack("report", "--questions", "all", "-o", "all.html", db=db, cwd=folder)
    return [
        Row(backend, "report", report.seconds, score.seconds, "predtrack score --json",
            "<= 4 s" if large else "", mem=report.peak_mb, base_mem=score.peak_mb),
        Row(backend, "report vs plain scoring", report.seconds, plain_score.seconds,
            "plain/score.py", mem=report.peak_mb, base_mem=plain_score.peak_mb),
        Row(backend, "report vs its ledger check", report.seconds, verify.seconds,
            "predtrack verify", mem=report.peak_mb, base_mem=verify.peak_mb),
        Row(backend, "report size", size, None, "", "<= 3 MB" if large else "", unit="MB"),
        Row(backend, "report --questions all", everything.seconds, report.seconds,
            "report (200 cards)", mem=everything.peak_mb, base_mem=report.peak_mb),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
