"""Benchmark the tracker sources: a 1,000,000-scalar TensorBoard event file, and a 1,000-run MLflow store.

    .venv/bin/python benchmarks/bench_trackers.py [--skip-official] [--only tensorboard|mlflow]

1. TensorBoard: one event file of 1,000,000 scalars in one tag (events serialized with
   TensorBoard's own protobuf classes, framed as TFRecords), reduced with `@max` through
   the rule `tensorboard:tb#val_acc@max` (`evaluate_rule`, as `predtrack resolve` reads it) in a child process whose peak RSS is reported (targets: <= 3 s,
   <= 200 MB). Then the same file through TensorBoard's own `EventFileLoader`, in the
   same run (`--skip-official` leaves it out: it takes about 30 s).
2. MLflow: a SQLite store and a file store of 1,000 runs (5 sizes x 200 seeds, 5 metric
   steps each) laid out as MLflow writes them, resolved for 100 questions (the mean of
   `cheese_rate@max` over one size's runs) through `evaluate_rule` with one ReadCache, as
   `predtrack resolve` does (target: <= 3 s), then the whole `resolve` (through the API the
   CLI calls: evaluation, evidence rows and the ledger entry on a SQLite store). Baselines: plain Python reading the file
   store for each question, and the MLflow client when it is installed in this
   interpreter (`pip install mlflow-skinny`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DB = ROOT / "tests" / "fixtures" / "mlflow" / "mlflow.db"
N_SCALARS = 1_000_000
N_RUNS, N_QUESTIONS, SIZES = 1_000, 100, (15, 25, 35, 45, 55)


def write_event_file(path: Path, n: int) -> float:
    """n scalar events in one tag; returns the true maximum."""
    import google_crc32c
    from tensorboard.compat.proto import event_pb2, summary_pb2

    def masked(b: bytes) -> int:
        c = google_crc32c.value(b)
        return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

    best = float("-inf")
    with path.open("wb") as f:
        for i in range(n):
            v = ((i * 7919) % 1_000_003) / 1_000_003.0
            best = max(best, struct.unpack("<f", struct.pack("<f", v))[0])
            ev = event_pb2.Event(wall_time=1.7e9 + i, step=i, summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag="val_acc", simple_value=v)]))  # fmt: skip
            data = ev.SerializeToString()
            head = struct.pack("<Q", len(data))
            f.write(head + struct.pack("<I", masked(head)) + data + struct.pack("<I", masked(data)))
    return best


CHILD = """
import resource, sys, time
from predtrack.rules import evaluate_rule, parse_rule
t = time.perf_counter()
ev = evaluate_rule(parse_rule("tensorboard:tb#val_acc@max"), sys.argv[1], "quantity")
took = time.perf_counter() - t
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, ev.value)
"""


def bench_tensorboard(tmp: Path, official: bool) -> None:
    logdir = tmp / "tb" / "probe"
    logdir.mkdir(parents=True)
    f = logdir / "events.out.tfevents.1700000000.bench"
    t = time.perf_counter()
    truth = write_event_file(f, N_SCALARS)
    print(f"tensorboard: wrote {N_SCALARS:,} scalars ({f.stat().st_size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp)], capture_output=True,
                         text=True, check=True, cwd=ROOT)  # fmt: skip
    secs, rss, best = out.stdout.split()
    ok = float(best) == truth
    print(f"  rule tensorboard:tb#val_acc@max: {float(secs):.2f} s, peak RSS {float(rss):.0f} MB, "
          f"max {'correct' if ok else 'WRONG'} (targets 3 s, 200 MB)")  # fmt: skip
    if not official:
        return
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    t = time.perf_counter()
    # The loader migrates simple_value into a one-element tensor (its data_compat layer).
    loaded = (v for e in EventFileLoader(str(f)).Load() for v in e.summary.value)
    best_official = max(v.tensor.float_val[0] if v.HasField("tensor") else v.simple_value
                        for v in loaded)  # fmt: skip
    print(f"  TensorBoard EventFileLoader @max: {time.perf_counter() - t:.2f} s, "
          f"max {'correct' if best_official == truth else 'WRONG'}")  # fmt: skip


def make_db(path: Path) -> None:
    """An empty MLflow schema (copied from the fixture MLflow made) filled with 1,000 runs."""
    shutil.copy(FIXTURE_DB, path)
    con = sqlite3.connect(path)
    with con:
        for t in ("metrics", "latest_metrics", "params", "tags", "runs"):
            con.execute(f"DELETE FROM {t}")
        for i, (rid, size, seed, start) in enumerate(_runs()):
            con.execute(
                "INSERT INTO runs (run_uuid, name, source_type, status, start_time, end_time, "
                "lifecycle_stage, experiment_id, user_id, artifact_uri) VALUES "
                "(?, ?, 'LOCAL', 'FINISHED', ?, ?, 'active', 1, 'bench', '')",
                (rid, f"m{size}-s{seed}-{i}", start, start + 1000),
            )
            con.executemany("INSERT INTO params VALUES (?, ?, ?)",
                            [("maze_size", str(size), rid), ("seed", str(seed), rid)])  # fmt: skip
            con.executemany(
                "INSERT INTO metrics VALUES ('cheese_rate', ?, ?, ?, ?, 0)",
                [(_value(size, seed, s), start + s * 1000, rid, s) for s in range(5)],
            )
    con.execute("VACUUM")
    con.close()


def make_file_store(root: Path) -> None:
    exp = root / "1"
    exp.mkdir(parents=True)
    (exp / "meta.yaml").write_text(
        f"artifact_location: {exp.as_uri()}\ncreation_time: 1772323200000\nexperiment_id: '1'\n"
        "last_update_time: 1772323200000\nlifecycle_stage: active\nname: cheese-maze\n"
        "workspace: default\n"
    )
    for i, (rid, size, seed, start) in enumerate(_runs()):
        d = exp / rid
        for sub in ("metrics", "params", "tags", "artifacts"):
            (d / sub).mkdir(parents=True)
        (d / "meta.yaml").write_text(  # every key MLflow 3.17 writes, so its client reads it
            f"artifact_uri: {(d / 'artifacts').as_uri()}\nend_time: {start + 1000}\n"
            f"entry_point_name: ''\nexperiment_id: '1'\nlifecycle_stage: active\n"
            f"run_id: '{rid}'\nrun_name: m{size}-s{seed}-{i}\nsource_name: ''\nsource_type: 4\n"
            f"source_version: ''\nstart_time: {start}\nstatus: 3\ntags: []\nuser_id: bench\n"
        )
        (d / "params" / "maze_size").write_text(str(size))
        (d / "params" / "seed").write_text(str(seed))
        (d / "metrics" / "cheese_rate").write_text(
            "".join(f"{start + s * 1000} {_value(size, seed, s)} {s}\n" for s in range(5))
        )


def _runs() -> list[tuple[str, int, int, int]]:
    per = N_RUNS // len(SIZES)
    return [(f"{i:032x}", SIZES[i // per], i % per, 1_772_323_200_000 + i * 60_000)
            for i in range(N_RUNS)]  # fmt: skip


def _value(size: int, seed: int, step: int) -> float:
    return round(1.0 / size + 0.001 * seed + [0.0, 0.05, 0.12, 0.15, 0.11][step], 6)


def forget_parsed_databases() -> None:
    """Each measurement starts cold: the MLflow source keeps its last parsed mlflow.db."""
    from predtrack.rules.sources import mlflow

    mlflow._DB_CACHE.clear()


def rule(store: str, size: int) -> str:
    """One question: the mean over one size's 200 runs of each run's best cheese_rate."""
    return f"mlflow:{store}#mean(cheese_rate@max, runs=200)[params.maze_size={size}]"


def resolve_all(tmp: Path, store: str, expected: dict[int, float]) -> float:
    """100 questions through `evaluate_rule` with one ReadCache, as `predtrack resolve` does."""
    from predtrack.rules import ReadCache, evaluate_rule, parse_rule

    forget_parsed_databases()
    t = time.perf_counter()
    cache = ReadCache()
    for q in range(N_QUESTIONS):
        size = SIZES[q % len(SIZES)]
        ev = evaluate_rule(parse_rule(rule(store, size)), tmp, "quantity", cache=cache)
        assert abs(float(ev.value) - expected[size]) < 1e-9, (ev.value, expected[size])
        assert len(ev.evidence) >= 1
    return time.perf_counter() - t


def resolve_store(tmp: Path, store: str) -> float:
    """`resolve` of 100 registered questions, through the API the CLI calls, on a new store."""
    import predtrack

    study = predtrack.open(tmp / f"{store}.predictions.db", user="bench")
    for q in range(N_QUESTIONS):
        study.predict(f"q{q}", "0.2 to 0.8", kind="quantity", experiment="cheese-maze",
                      rule=rule(store, SIZES[q % len(SIZES)]), rule_dir=tmp)  # fmt: skip
    forget_parsed_databases()
    t = time.perf_counter()
    done = study.resolve()
    took = time.perf_counter() - t
    assert done.count("resolved") == N_QUESTIONS, done.text()
    study.close()
    return took


def bench_mlflow(tmp: Path) -> None:
    db, store = tmp / "mlflow.db", tmp / "mlruns"
    make_db(db)
    make_file_store(store)
    expected = {s: sum(max(_value(s, seed, k) for k in range(5)) for seed in range(200)) / 200
                for s in SIZES}  # fmt: skip
    for label in ("mlflow.db", "mlruns"):
        took = resolve_all(tmp, label, expected)
        print(f"mlflow: {N_RUNS} runs, {N_QUESTIONS} questions, {label}: {took:.2f} s "
              "(target 3 s)")  # fmt: skip
    for label in ("mlflow.db", "mlruns"):
        took = resolve_store(tmp, label)
        print(f"  predtrack resolve (the whole command: 100 resolutions and their evidence "
              f"written to a SQLite store), {label}: {took:.2f} s")  # fmt: skip
    t = time.perf_counter()
    for q in range(N_QUESTIONS):  # baseline: plain Python reading the file store each time
        size = SIZES[q % len(SIZES)]
        bests = []
        for run in (store / "1").iterdir():
            if run.is_dir() and (run / "params" / "maze_size").read_text() == str(size):
                lines = (run / "metrics" / "cheese_rate").read_text().split("\n")
                bests.append(max(float(line.split()[1]) for line in lines if line))
        assert abs(sum(bests) / len(bests) - expected[size]) < 1e-9
    print(f"  plain Python over the file store, every question reading it again: "
          f"{time.perf_counter() - t:.2f} s")  # fmt: skip
    try:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        from mlflow.tracking import MlflowClient
    except ImportError:
        print("  the MLflow client is not installed in this interpreter: no comparison")
        return
    for label, uri in (("mlflow.db", f"sqlite:///{db}"), ("mlruns", store.as_uri())):
        t = time.perf_counter()
        client = MlflowClient(tracking_uri=uri)
        for q in range(N_QUESTIONS):
            size = SIZES[q % len(SIZES)]
            runs = client.search_runs(["1"], f"params.maze_size = '{size}'", max_results=1000)
            bests = [max(m.value for m in client.get_metric_history(r.info.run_id, "cheese_rate"))
                     for r in runs]  # fmt: skip
            assert abs(sum(bests) / len(bests) - expected[size]) < 1e-9
        print(f"  MlflowClient on {label}: {time.perf_counter() - t:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-official", action="store_true", help="leave out EventFileLoader")
    ap.add_argument("--only", choices=("tensorboard", "mlflow"), help="run one of the two")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.only != "mlflow":
            bench_tensorboard(Path(d), not args.skip_official)
        if args.only != "tensorboard":
            bench_mlflow(Path(d))


if __name__ == "__main__":
    main()
