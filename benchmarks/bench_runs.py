"""Benchmark rules over many runs: a glob over 2,000 run folders, and a 1,000,000-line JSON-lines log.

    .venv/bin/python benchmarks/bench_runs.py

1. A Hydra-style sweep of 2,000 job folders (20 sizes x 100 seeds), each with
   `.hydra/overrides.yaml` and one small `metrics.json`, resolved for 100 questions
   (`mean(/success, runs=100)[m=M]`, `fraction(/success)[m=M]` and grouped crossings)
   through `evaluate_rule` with one ReadCache, as `predtrack resolve` does (target: <= 3 s).
   Baseline: plain Python reading every file once (json + a split of the overrides) and
   computing the same means.
2. A 1,000,000-line JSON-lines log reduced with `@max`, in a child process whose peak RSS
   is reported (targets: <= 3 s, <= 150 MB, streamed). Baseline: a `json.loads` per line.

All data is generated in a temporary folder and removed at the end. Figures are printed,
not asserted: compare them on an idle machine.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = tuple(range(8, 48, 2))  # 20 sizes
SEEDS = 100
N_LINES = 1_000_000

CHILD = """
import resource, sys, time
from predtrack.rules import evaluate_rule, parse_rule
t = time.perf_counter()
ev = evaluate_rule(parse_rule("train.jsonl#/val_acc@max"), sys.argv[1], "quantity")
took = time.perf_counter() - t
print(ev.value, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
BASELINE = """
import json, resource, sys, time
t = time.perf_counter()
best = None
with open(sys.argv[1] + "/train.jsonl", "rb") as f:
    for line in f:
        v = json.loads(line)["val_acc"]
        best = v if best is None or v > best else best
took = time.perf_counter() - t
print(best, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def success(m: int, seed: int) -> bool:
    return (seed * 7919 + m * 104729) % 100 < 100 - 2 * m


def make_sweep(root: Path) -> None:
    n = 0
    for m in SIZES:
        for seed in range(SEEDS):
            job = root / "multirun" / "2024-05-01" / "10-00-00" / str(n)
            (job / ".hydra").mkdir(parents=True)
            (job / ".hydra" / "overrides.yaml").write_text(f"- m={m}\n- seed={seed}\n")
            (job / "metrics.json").write_text(json.dumps({"success": success(m, seed), "m": m}))
            n += 1


def questions() -> list[tuple[str, str]]:
    glob = "multirun/*/*/*/metrics.json"
    out = []
    for m in SIZES:
        out.append((f"{glob}#mean(/success, runs={SEEDS})[m={m}]", "fraction"))
        out.append((f"{glob}#fraction(/success)[m={m}]", "fraction"))
        out.append((f"{glob}#mean(/success)[m={m}] > 0.5", "binary"))
        out.append((f"{glob}#count(/success)[m={m}, seed<50]", "quantity"))
    for level in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95) * 2:
        out.append((f"{glob}#crossing(x=m, y=mean(/success), level={level})", "quantity"))
    return out[:100]


def bench_sweep(root: Path) -> None:
    from predtrack.errors import RuleError
    from predtrack.rules import ReadCache, evaluate_rule, parse_rule

    qs = questions()
    t = time.perf_counter()
    cache = ReadCache()
    resolved = 0
    for text, kind in qs:
        try:
            evaluate_rule(parse_rule(text), root, kind, cache=cache)
            resolved += 1
        except RuleError:
            pass  # a crossing level the sweep never reaches
    took = time.perf_counter() - t

    t = time.perf_counter()
    rows = []  # (m, seed, success), each file read once
    for path in sorted(root.glob("multirun/*/*/*/metrics.json")):
        text = (path.parent / ".hydra" / "overrides.yaml").read_text()
        fields = dict(line[2:].split("=", 1) for line in text.splitlines())
        rows.append(
            (int(fields["m"]), int(fields["seed"]), json.loads(path.read_text())["success"])
        )
    means = {}
    for m in SIZES:
        values = [s for mm, _, s in rows if mm == m]
        means[m] = sum(values) / len(values)  # the mean, the fraction and the comparison
        sum(1 for mm, seed, _ in rows if mm == m and seed < 50)
    for level in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
        pts = sorted(means.items())
        next(
            (x1 + (level - y1) * (x2 - x1) / (y2 - y1) for (x1, y1), (x2, y2) in itertools.pairwise(pts)
             if min(y1, y2) < level < max(y1, y2)),
            None,
        )  # fmt: skip
    base = time.perf_counter() - t
    print(
        f"glob over {len(SIZES) * SEEDS} run folders, {len(qs)} questions ({resolved} resolved): "
        f"predtrack {took:.2f} s (target <= 3 s); plain Python reading each file once and computing the same answers {base:.2f} s"
    )


def bench_log(root: Path) -> None:
    with open(root / "train.jsonl", "w") as f:
        for step in range(N_LINES):
            val = ((step * 7919) % 1_000_003) / 1_000_003
            f.write(
                json.dumps({"step": step, "loss": 1 - val, "val_acc": val, "time": 1.7e9 + step})
                + "\n"
            )
    size = (root / "train.jsonl").stat().st_size / 1e6
    results = []
    for code in (CHILD, BASELINE):
        out = subprocess.run(
            [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
        ).stdout.split()
        results.append((float(out[0]), float(out[1]), float(out[2])))
    (v, took, rss), (bv, btook, brss) = results
    assert v == bv, (v, bv)
    print(
        f"{N_LINES:,}-line JSON-lines log ({size:.0f} MB) with @max: predtrack {took:.2f} s, "
        f"peak RSS {rss:.0f} MB (targets <= 3 s, <= 150 MB); json.loads per line {btook:.2f} s, "
        f"{brss:.0f} MB"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_sweep(root)
        bench_sweep(root)
        bench_log(root)


if __name__ == "__main__":
    main()
