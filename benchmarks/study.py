"""What the store benchmarks share: a generated study, timed processes, scratch stores, tables.

The study: N questions x F forecasters (60% binary, 20% fraction, 15% quantity, 5% categorical),
each forecaster with a skill and a sharpness, every question with a rule reading its outcome
from one of the result files (100 questions per file). Nothing here is predtrack code: the
benchmarks call predtrack only as a user would, through its command line.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PER_FILE = 100  # questions per result file
CATEGORIES = ("shortest-path", "top-right-first", "mixed")
EXPERIMENT = "bench"


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_study(
    n_questions: int, n_forecasters: int = 10, seed: int = 1
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The bulk document (as `predtrack predict --file` reads it) and the result files."""
    rng = random.Random(seed)
    forecasters = [f"f{j:02d}" for j in range(n_forecasters)]
    skill = [0.3 + 1.2 * j / max(1, n_forecasters - 1) for j in range(n_forecasters)]
    sharp = [0.7 + 0.6 * rng.random() for _ in range(n_forecasters)]
    questions: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    for i in range(n_questions):
        part = f"results/part-{i // PER_FILE:04d}.json"
        doc = results.setdefault(part, {})
        key = f"q{i}"
        u = rng.random()
        forecasts: dict[str, str] = {}
        entry: dict[str, Any] = {"key": key, "rule": f"{part}#/{key}", "tags": [f"t{i % 7}"]}
        if u < 0.6:
            entry["kind"] = "binary"
            truth = rng.uniform(0.03, 0.97)
            doc[key] = rng.random() < truth
            for j, name in enumerate(forecasters):
                p = _sigmoid(sharp[j] * (_logit(truth) + rng.gauss(0, skill[j])))
                forecasts[name] = f"{min(0.99, max(0.01, round(p, 2))):.2f}"
        elif u < 0.8:
            entry["kind"] = "fraction"
            truth = rng.uniform(0.05, 0.95)
            doc[key] = {"k": sum(rng.random() < truth for _ in range(50)), "n": 50}
            entry["rule"] = f"{part}#/{key}/k/of/{key}/n"
            for j, name in enumerate(forecasters):
                centre = min(0.97, max(0.03, truth + rng.gauss(0, 0.08 * skill[j])))
                width = 0.1 + 0.1 * skill[j] / sharp[j]
                if j % 2:
                    lo, hi = max(0.005, centre - width), min(0.995, centre + width)
                    forecasts[name] = f"{lo:.1%} to {hi:.1%}"
                else:
                    a = max(1.1, centre * 40 / sharp[j])
                    b = max(1.1, (1 - centre) * 40 / sharp[j])
                    forecasts[name] = f"beta({a:.2f}, {b:.2f})"
        elif u < 0.95:
            entry["kind"] = "quantity"
            entry["unit"] = "steps"
            truth = rng.uniform(5, 50)
            doc[key] = round(truth + rng.gauss(0, 3), 3)
            for j, name in enumerate(forecasters):
                centre = truth + rng.gauss(0, 2 * skill[j])
                sd = 3 * skill[j] / sharp[j] + 0.5
                forecasts[name] = (
                    f"normal({centre:.2f}, {sd:.2f})",
                    f"{centre - 1.645 * sd:.2f} to {centre + 1.645 * sd:.2f}",
                    f"quantiles(0.05:{centre - 1.6 * sd:.2f}, 0.5:{centre:.2f}, "
                    f"0.95:{centre + 1.6 * sd:.2f})",
                )[j % 3]
        else:
            entry["kind"] = "categorical"
            entry["categories"] = list(CATEGORIES)
            weights = [rng.random() + 0.05 for _ in CATEGORIES]
            truth_c = [w / sum(weights) for w in weights]
            doc[key] = rng.choices(CATEGORIES, weights=truth_c)[0]
            for j, name in enumerate(forecasters):
                raw = [max(0.01, t + rng.gauss(0, 0.1 * skill[j])) for t in truth_c]
                probs = [round(r / sum(raw), 3) for r in raw]
                probs[-1] = round(1 - sum(probs[:-1]), 3)
                forecasts[name] = ", ".join(
                    f"{c}:{p:.3f}" for c, p in zip(CATEGORIES, probs, strict=True)
                )
        entry["title"] = f"Synthetic {entry['kind']} question number {i}"
        entry["forecasts"] = forecasts
        questions.append(entry)
    document = {"experiment": EXPERIMENT, "forecaster": forecasters[0], "questions": questions}
    return document, results


def to_toml(document: dict[str, Any]) -> str:
    """The same bulk document as TOML (a JSON string is a valid TOML basic string)."""
    lines = [f"experiment = {json.dumps(document['experiment'])}"]
    lines.append(f"forecaster = {json.dumps(document['forecaster'])}")
    for q in document["questions"]:
        lines.append("\n[[question]]")
        lines += [
            f"{name} = {json.dumps(value)}" for name, value in q.items() if name != "forecasts"
        ]
        inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in q["forecasts"].items())
        lines.append(f"forecasts = {{ {inline} }}")
    return "\n".join(lines) + "\n"


def write_bulk(folder: Path, document: dict[str, Any], fmt: str = "json") -> Path:
    """Write the bulk file (`json` or `toml`) into `folder`."""
    path = folder / f"prereg.{fmt}"
    text = json.dumps(document) if fmt == "json" else to_toml(document)
    path.write_text(text, encoding="utf-8")
    return path


def write_results(folder: Path, results: dict[str, dict[str, Any]], mtime: float | None) -> None:
    """Write the result files (with this modification time, when given)."""
    (folder / "results").mkdir(exist_ok=True)
    for name, doc in results.items():
        path = folder / name
        path.write_text(json.dumps(doc), encoding="utf-8")
        if mtime is not None:
            os.utime(path, (mtime, mtime))


# --- processes ---


def predtrack_exe() -> list[str]:
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "predtrack"]


@dataclass
class Timed:
    seconds: float
    peak_mb: float
    stdout: str


def timed(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> Timed:
    """Run one process; its wall time and peak resident memory (of that process alone).

    Bytecode is cached as for an installed package (PYTHONDONTWRITEBYTECODE is dropped):
    compiling predtrack's modules on every start is not what a user's machine does."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out, err = (cwd / f".{name}-{uuid.uuid4().hex[:8]}" for name in ("out", "err"))
    with out.open("w+") as sink, err.open("w+") as errors:
        start = time.perf_counter()
        child = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=sink, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        sink.seek(0)
        errors.seek(0)
        text, stderr = sink.read(), errors.read()
    out.unlink()
    err.unlink()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} exited {code}:\n{stderr[-3000:]}")
    return Timed(seconds, usage.ru_maxrss / 1024, text)


def predtrack(*args: str, db: str, cwd: Path) -> Timed:
    """`predtrack ARGS` on this store, as user `bench`."""
    env = {**os.environ, "PREDTRACK_DB": db, "PREDTRACK_USER": "bench"}
    return timed([*predtrack_exe(), *args], cwd=cwd, env=env)


def plain(script: str, *args: str, cwd: Path) -> Timed:
    """A plain baseline script of `benchmarks/plain/` in a fresh process."""
    here = Path(__file__).resolve().parent
    return timed(
        [sys.executable, str(here / "plain" / script), *args], cwd=cwd, env=dict(os.environ)
    )


def median(samples: Sequence[Timed]) -> Timed:
    """The run with the median time (its memory beside it)."""
    ordered = sorted(samples, key=lambda t: t.seconds)
    chosen = ordered[len(ordered) // 2]
    return Timed(
        statistics.median(t.seconds for t in samples),
        statistics.median(t.peak_mb for t in samples),
        chosen.stdout,
    )


def repeat(run: Callable[[], Timed], times: int) -> Timed:
    return median([run() for _ in range(times)])


# --- scratch stores ---


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema on a PostgreSQL server, as a predtrack URL; dropped afterwards."""
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    conninfo = "postgresql://" + url.split("://", 1)[1]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- output ---


@dataclass
class Row:
    """One figure: predtrack's value, the baseline's, their ratio and the target."""

    backend: str
    step: str
    ours: float | None
    base: float | None = None
    baseline: str = ""
    target: str = ""  # "<= 1.5x", "<= 30 s", "+ 0.15 s"
    unit: str = "s"
    mem: float | None = None  # peak MB of predtrack's process, and of the baseline's
    base_mem: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.ours / self.base if self.ours is not None and self.base else None

    @property
    def ok(self) -> bool | None:
        if not self.target or self.ours is None:
            return None
        op, value = self.target.split()[:2]
        number = float(value.rstrip("x"))
        if op == "+":  # within this many seconds of the baseline
            return self.base is not None and self.ours - self.base <= number
        if value.endswith("x"):
            return self.ratio is not None and self.ratio <= number
        return self.ours <= number

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "step": self.step,
            "predtrack": self.ours,
            "baseline": self.baseline,
            "baseline_value": self.base,
            "ratio": self.ratio,
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
            "peak_mb": self.mem,
            "baseline_peak_mb": self.base_mem,
        }


def print_table(rows: Sequence[Row], title: str, *, as_json: bool = False) -> None:
    """The compact table every benchmark prints (or the same rows as JSON)."""
    if as_json:
        print(json.dumps({"title": title, "rows": [r.as_dict() for r in rows]}, indent=1))
        return
    print(title)
    header = (
        f"{'backend':8} {'step':34} {'predtrack':>10} {'baseline':>10} {'ratio':>6}  "
        f"{'target':10} {'ok':3} {'peak MB':>13}  baseline is"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ours, base = (
            "-"
            if v is None
            else f"{v:.3f}"
            if r.unit == "s"
            else f"{v:.2f}"
            if v < 100
            else f"{v:.0f}"
            for v in (r.ours, r.base)
        )
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        ok = {None: "", True: "yes", False: "NO"}[r.ok]
        mem = "" if r.mem is None else f"{r.mem:.0f}"
        if r.base_mem is not None:
            mem += f" / {r.base_mem:.0f}"
        print(
            f"{r.backend:8} {r.step:34} {ours + ' ' + r.unit:>10} {base + ' ' + r.unit:>10} "
            f"{ratio:>6}  {r.target:10} {ok:3} {mem:>13}  {r.baseline}"
        )


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, load {load:.1f} at start, Python {sys.version.split()[0]}; "
        "median of the runs; memory is the peak RSS of the process"
    )
