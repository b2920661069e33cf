"""Each step at 1,000, 10,000, 100,000 and 1,000,000 predictions: time, memory, growth.

Run:
    python benchmarks/bench_growth.py                  # 1k, 10k, 100k, 1M on SQLite
    python benchmarks/bench_growth.py --quick          # 1k and 10k (a smoke run)
    python benchmarks/bench_growth.py --sizes 1000,100000 --postgres postgresql+psycopg://...

For each size a fresh store in a temporary folder gets one bulk file (questions x 10
forecasters), result files written after it, then `resolve`, `score --json`, `verify` and
`report`, each a fresh `predtrack` process (wall time and peak RSS). The plain baselines of
`benchmarks/plain/` run on the same files (bulk, resolve) and on predtrack's store (score,
verify). `growth` is time(n) / time(n / 10): 10 is linear; a step is called superlinear when
it exceeds 12 (an exponent above 1.08) between the two largest sizes measured. Targets at
1,000,000 predictions: every step <= 30 s and <= 1.5 GB peak; bulk <= 30 s and <= 1 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import study
from study import Timed, median, plain, predtrack

STEPS = ("bulk", "resolve", "score", "verify", "report")
BASELINES = {"bulk": "bulk.py", "resolve": "resolve.py", "score": "score.py", "verify": "verify.py"}


@contextmanager
def fresh(backend: str, folder: Path, postgres: str | None) -> Iterator[str]:
    folder.mkdir(parents=True)
    try:
        if backend == "sqlite":
            db = str(folder / "bench.db")
            predtrack("init", db=db, cwd=folder)
            yield db
        else:
            assert postgres is not None
            with study.postgres_schema(postgres) as url:
                predtrack("init", db=url, cwd=folder)
                yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def one_size(
    backend: str, work: Path, predictions: int, postgres: str | None, baseline: bool
) -> dict[str, tuple[Timed, Timed | None]]:
    """Every step once at this size: predtrack's run and the plain one."""
    document, results = study.make_study(predictions // 10, 10, seed=predictions)
    out: dict[str, tuple[Timed, Timed | None]] = {}
    with fresh(backend, work / "pt", postgres) as db:
        folder = work / "pt"
        study.write_bulk(folder, document, "json")
        ours: dict[str, Timed] = {}
        ours["bulk"] = predtrack("predict", "--file", "prereg.json", db=db, cwd=folder)
        study.write_results(folder, results, None)
        ours["resolve"] = predtrack("resolve", db=db, cwd=folder)
        ours["score"] = predtrack("score", "--json", db=db, cwd=folder)
        ours["verify"] = predtrack("verify", db=db, cwd=folder)
        ours["report"] = predtrack("report", "-o", "report.html", db=db, cwd=folder)
        theirs: dict[str, Timed] = {}
        if baseline:
            theirs["score"] = plain("score.py", db, cwd=folder)
            theirs["verify"] = plain("verify.py", db, cwd=folder)
    if baseline:
        with fresh(backend, work / "plain", postgres) as db:
            folder = work / "plain"
            study.write_bulk(folder, document, "json")
            theirs["bulk"] = plain("bulk.py", db, "prereg.json", "bench", cwd=folder)
            study.write_results(folder, results, None)
            theirs["resolve"] = plain("resolve.py", db, "bench", cwd=folder)
    for step in STEPS:
        out[step] = (ours[step], theirs.get(step))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per size (median)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain baselines")
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 only")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    sizes = [1000, 10_000] if options.quick else [int(s) for s in options.sizes.split(",")]
    backends = ["sqlite"] + (["postgres"] if options.postgres else [])
    table: list[dict[str, object]] = []
    machine = study.machine()
    with tempfile.TemporaryDirectory(prefix="predtrack-growth-") as tmp:
        for backend in backends:
            previous: dict[str, float] = {}
            for n in sizes:
                rounds = [
                    one_size(
                        backend,
                        Path(tmp) / f"{backend}-{n}-{r}",
                        n,
                        options.postgres,
                        not options.no_baseline,
                    )
                    for r in range(options.repeat)
                ]
                for step in STEPS:
                    ours = median([r[step][0] for r in rounds])
                    base_runs = [r[step][1] for r in rounds if r[step][1] is not None]
                    base = median(base_runs) if base_runs else None  # type: ignore[arg-type]
                    growth = ours.seconds / previous[step] if step in previous else None
                    previous[step] = ours.seconds
                    limit_s, limit_mb = (30.0, 1024.0 if step == "bulk" else 1536.0)
                    big = n >= 1_000_000
                    table.append({
                        "backend": backend, "step": step, "predictions": n,
                        "seconds": ours.seconds, "peak_mb": ours.peak_mb,
                        "baseline_seconds": base.seconds if base else None,
                        "baseline_peak_mb": base.peak_mb if base else None,
                        "ratio": ours.seconds / base.seconds if base else None,
                        "growth": growth,
                        "exponent": math.log10(growth) if growth else None,
                        "ok_1m": (ours.seconds <= limit_s and ours.peak_mb <= limit_mb)
                        if big else None,
                    })  # fmt: skip
    largest = sizes[-1]
    for row in table:
        row["superlinear"] = (
            bool(row["growth"] and row["growth"] > 12) if row["predictions"] == largest else None  # type: ignore[operator]
        )
    if options.json:
        print(json.dumps({"machine": machine, "rows": table}, indent=1))
        return
    print(f"predtrack growth benchmark; {machine}; {options.repeat} round(s) per size")
    header = (
        f"{'backend':8} {'step':8} {'predictions':>11} {'predtrack':>9} {'peak MB':>8} "
        f"{'plain':>8} {'plain MB':>8} {'ratio':>6} {'growth':>7}  verdict"
    )
    print(header)
    print("-" * len(header))

    def cell(value: object, spec: str, width: int, unit: str = "") -> str:
        return f"{'' if value is None else format(value, spec) + unit:>{width}}"

    order = {step: i for i, step in enumerate(STEPS)}
    for row in sorted(table, key=lambda r: (r["backend"], order[r["step"]], r["predictions"])):  # type: ignore[index]
        verdict = []
        if row["ok_1m"] is not None:
            limit = "30 s, 1 GB" if row["step"] == "bulk" else "30 s, 1.5 GB"
            verdict.append(f"{'yes' if row['ok_1m'] else 'NO'} (<= {limit})")
        if row["superlinear"] is not None:
            verdict.append("SUPERLINEAR" if row["superlinear"] else "not superlinear")
        print(
            f"{row['backend']:8} {row['step']:8} {row['predictions']:>11,} "
            f"{cell(row['seconds'], '.2f', 9, 's')} {cell(row['peak_mb'], '.0f', 8)} "
            f"{cell(row['baseline_seconds'], '.2f', 8, 's')} "
            f"{cell(row['baseline_peak_mb'], '.0f', 8)} "
            f"{cell(row['ratio'], '.2f', 6)} {cell(row['growth'], '.1f', 7, 'x')}  "
            + ", ".join(verdict)
        )


if __name__ == "__main__":
    main()
