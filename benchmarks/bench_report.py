"""Time and size of `predtrack report` on a large store (DESIGN §9: <= 10 s, <= 3 MB).

Run: python benchmarks/bench_report.py [--questions 10000] [--forecasters 10] [--store DIR]
                                       [--repeat 3] [--json]

The store is built with predtrack's own commands, as a real study would be: one bulk
`predtrack predict --file prereg.toml` registers every question with a forecast from each
forecaster (10,000 questions x 10 forecasters = 100,000 predictions by default), the "runs"
then write their result files, and one `predtrack resolve` reads every outcome from them
through the questions' rules (`results/part-007.json#/q712`, and `.../k/of/.../n` counts for
fractions). A few questions are annulled by hand, a few stay pending (their file never
appears), and a few late predictions are added after the results exist.

Building takes a minute or two; `--store DIR` keeps the store in DIR and reuses it when it is
already there. The figure is the wall time of `predtrack report` in a fresh process (start-up
included; `--figures` once more, writing every figure as SVG and, with rsvg-convert, PDF), the median of `--repeat` runs, printed next to the target and next to the machine's
baseline measured in the same run (`python -c pass` and `predtrack score` on the same store).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0
TARGET_BYTES = 3_000_000
PER_FILE = 100  # questions per result file
CATEGORIES = ("shortest-path", "top-right-first", "mixed")


def predtrack_exe() -> list[str]:
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "predtrack"]


def call(args: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(
        [*predtrack_exe(), *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if done.returncode not in ok:
        raise SystemExit(f"predtrack {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def make_study(n_questions: int, n_forecasters: int, seed: int) -> tuple[str, dict[str, dict]]:
    """The bulk pre-registration file and the outcomes the runs will write, per result file."""
    rng = random.Random(seed)
    forecasters = [f"f{j:02d}" for j in range(n_forecasters)]
    # Each forecaster has a noise level (skill) and a bias (over/under-confidence).
    skill = [0.3 + 1.2 * j / max(1, n_forecasters - 1) for j in range(n_forecasters)]
    sharp = [0.7 + 0.6 * rng.random() for _ in range(n_forecasters)]
    lines = [
        'experiment = "bench"',
        'description = "Synthetic study for benchmarks/bench_report.py"',
        'forecaster = "f00"',
    ]
    results: dict[str, dict] = {}
    for i in range(n_questions):
        part = f"results/part-{i // PER_FILE:03d}.json"
        doc = results.setdefault(part, {})
        pending = i % 500 == 499  # ~0.2%: their result file never appears
        file = "results/later.json" if pending else part
        u = rng.random()
        forecasts = {}
        if u < 0.6:
            kind = "binary"
            truth = rng.uniform(0.03, 0.97)
            doc[f"q{i}"] = rng.random() < truth
            rule = f"{file}#/q{i}"
            for j, name in enumerate(forecasters):
                p = _sigmoid(sharp[j] * (_logit(truth) + rng.gauss(0, skill[j])))
                forecasts[name] = f"{min(0.99, max(0.01, round(p, 2))):.2f}"
        elif u < 0.8:
            kind = "fraction"
            truth = rng.uniform(0.05, 0.95)
            n = 50
            k = sum(rng.random() < truth for _ in range(n))
            doc[f"q{i}"] = {"k": k, "n": n}
            rule = f"{file}#/q{i}/k/of/q{i}/n"
            for j, name in enumerate(forecasters):
                centre = min(0.97, max(0.03, truth + rng.gauss(0, 0.08 * skill[j])))
                width = 0.1 + 0.1 * skill[j] / sharp[j]
                lo, hi = max(0.005, centre - width), min(0.995, centre + width)
                if j % 2:
                    forecasts[name] = f"{lo:.1%} to {hi:.1%}"
                else:
                    a = max(1.1, centre * 40 / sharp[j])
                    b = max(1.1, (1 - centre) * 40 / sharp[j])
                    forecasts[name] = f"beta({a:.2f}, {b:.2f})"
        elif u < 0.95:
            kind = "quantity"
            truth = rng.uniform(5, 50)
            doc[f"q{i}"] = round(truth + rng.gauss(0, 3), 3)
            rule = f"{file}#/q{i}"
            for j, name in enumerate(forecasters):
                centre = truth + rng.gauss(0, 2 * skill[j])
                sd = 3 * skill[j] / sharp[j] + 0.5
                if j % 3 == 0:
                    forecasts[name] = f"normal({centre:.2f}, {sd:.2f})"
                elif j % 3 == 1:
                    forecasts[name] = f"{centre - 1.645 * sd:.2f} to {centre + 1.645 * sd:.2f}"
                else:
                    forecasts[name] = (
                        f"quantiles(0.05:{centre - 1.6 * sd:.2f}, 0.5:{centre:.2f}, "
                        f"0.95:{centre + 1.6 * sd:.2f})"
                    )
        else:
            kind = "categorical"
            weights = [rng.random() for _ in CATEGORIES]
            total = sum(weights)
            truth = [w / total for w in weights]
            doc[f"q{i}"] = rng.choices(CATEGORIES, weights=truth)[0]
            rule = f"{file}#/q{i}"
            for j, name in enumerate(forecasters):
                raw = [max(0.01, t + rng.gauss(0, 0.1 * skill[j])) for t in truth]
                s = sum(raw)
                probs = [round(r / s, 3) for r in raw]
                probs[-1] = round(1 - sum(probs[:-1]), 3)
                if probs[-1] <= 0:
                    probs = [round(1 / 3, 3), round(1 / 3, 3), round(1 - 2 * round(1 / 3, 3), 3)]
                forecasts[name] = ", ".join(
                    f"{c}:{p:.3f}" for c, p in zip(CATEGORIES, probs, strict=True)
                )
        lines += [
            "",
            "[[question]]",
            f'key = "q{i}"',
            f"title = {_toml(f'Synthetic {kind} question number {i}')}",
            f'kind = "{kind}"',
            f"rule = {_toml(rule)}",
            f'tags = ["t{i % 7}"]',
        ]
        if kind == "categorical":
            lines.append(f"categories = {json.dumps(list(CATEGORIES))}")
        inline = ", ".join(f"{name} = {_toml(text)}" for name, text in forecasts.items())
        lines.append(f"forecasts = {{ {inline} }}")
    return "\n".join(lines) + "\n", results


def build_store(folder: Path, n_questions: int, n_forecasters: int, seed: int) -> dict[str, float]:
    """Create (or reuse) the store in `folder`; return the build timings."""
    db = folder / "bench.db"
    marker = folder / "built.json"
    wanted = {"questions": n_questions, "forecasters": n_forecasters, "seed": seed}
    if db.exists() and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("wanted") == wanted:
            return dict(info["timings"], reused=1.0)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = {**os.environ, "PREDTRACK_DB": str(db), "PREDTRACK_USER": "bench"}
    prereg, results = make_study(n_questions, n_forecasters, seed)
    (folder / "prereg.toml").write_text(prereg, encoding="utf-8")
    timings = {}
    call(["init"], env, folder)
    start = time.perf_counter()
    call(["predict", "--file", "prereg.toml"], env, folder)
    timings["predict_file"] = time.perf_counter() - start
    time.sleep(0.05)  # the result files are written after the predictions (mtime check)
    (folder / "results").mkdir()
    for name, doc in results.items():
        (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    start = time.perf_counter()
    call(["resolve"], env, folder)
    timings["resolve_all"] = time.perf_counter() - start
    for i in range(499, n_questions, 2500):  # some pending questions are annulled instead
        call(["resolve", f"q{i}", "--annul", "the run crashed (benchmark)"], env, folder)
    for i in range(0, min(n_questions, 50), 5):  # late predictions: made after the results exist
        call(["predict", "--question", f"q{i}", "0.5", "--by", "latecomer"], env, folder, ok=(0, 2))
    marker.write_text(json.dumps({"wanted": wanted, "timings": timings}))
    return timings


def timed(args: list[str], env: dict[str, str], cwd: Path, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--forecasters", type=int, default=10)
    parser.add_argument("--store", type=Path, help="Keep (and reuse) the store in this folder.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    scratch = None
    if options.store is None:
        scratch = tempfile.TemporaryDirectory()
        folder = Path(scratch.name) / "store"
    else:
        folder = options.store.resolve()
    try:
        build = build_store(folder, options.questions, options.forecasters, options.seed)
        env = {**os.environ, "PREDTRACK_DB": str(folder / "bench.db"), "PREDTRACK_USER": "bench"}
        exe = predtrack_exe()
        out = folder / "report.html"
        python = timed([sys.executable, "-c", "pass"], env, folder, options.repeat)
        score = timed([*exe, "score"], env, folder, options.repeat)
        report = timed([*exe, "report", "-o", str(out)], env, folder, options.repeat)
        size = out.stat().st_size
        full = folder / "report-all.html"
        report_all = timed([*exe, "report", "--questions", "all", "-o", str(full)], env, folder, 1)
        size_all = full.stat().st_size
        figures = folder / "figures"
        shutil.rmtree(figures, ignore_errors=True)
        args = [*exe, "report", "-o", str(out), "--figures", str(figures)]
        report_figures = timed(args, env, folder, 1)
        count = len(list(figures.glob("*.svg")))
        kinds = "SVG + PDF" if shutil.which("rsvg-convert") else "SVG"
        predictions = options.questions * options.forecasters
        rows = [
            {"figure": "python -c pass", "value": python, "unit": "s", "target": None},
            {"figure": "predtrack score", "value": score, "unit": "s", "target": 3.0},
            {"figure": "predtrack report", "value": report, "unit": "s", "target": TARGET_SECONDS},
            {"figure": "report.html size", "value": size, "unit": "bytes", "target": TARGET_BYTES},
            {"figure": "report --questions all", "value": report_all, "unit": "s", "target": None},
            {
                "figure": "report --questions all size",
                "value": size_all,
                "unit": "bytes",
                "target": None,
            },
            {
                "figure": f"report --figures ({count} figures, {kinds})",
                "value": report_figures,
                "unit": "s",
                "target": None,
            },
        ]
        if options.json:
            print(
                json.dumps(
                    {
                        "questions": options.questions,
                        "forecasters": options.forecasters,
                        "predictions": predictions,
                        "build": build,
                        "figures": rows,
                        "machine": {
                            "python": platform.python_version(),
                            "cpus": os.cpu_count(),
                            "platform": platform.platform(),
                        },
                    },
                    indent=2,
                )
            )
            return
        print(
            f"predtrack report on {options.questions:,} questions x {options.forecasters} "
            f"forecasters = {predictions:,} predictions "
            f"(Python {platform.python_version()}, {os.cpu_count()} CPUs)"
        )
        if build.get("reused"):
            print("store: reused from an earlier run")
        else:
            print(
                f"store built: predict --file {build['predict_file']:.1f} s, "
                f"resolve {build['resolve_all']:.1f} s"
            )
        for row in rows:
            if row["unit"] == "s":
                value = f"{row['value']:8.2f} s"
                target = f"target <= {row['target']:.1f} s" if row["target"] else ""
            else:
                value = f"{row['value'] / 1e6:8.2f} MB"
                target = f"target <= {row['target'] / 1e6:.1f} MB" if row["target"] else ""
            if row["figure"] == "python -c pass":
                target = "(baseline)"
            verdict = ""
            if row["target"]:
                verdict = "  OK" if row["value"] <= row["target"] else "  OVER TARGET"
            print(f"  {row['figure']:<34}{value}   {target}{verdict}".rstrip())
    finally:
        if scratch is not None:
            scratch.cleanup()


if __name__ == "__main__":
    main()
