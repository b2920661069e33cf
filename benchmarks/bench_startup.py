"""Start-up cost of `predtrack --help` and `predtrack predict` against bare Python (DESIGN §9).

Run: python benchmarks/bench_startup.py [--repeat N] [--json]
Each command runs N times in a fresh process; the median wall time is reported next to the
baseline measured in the same run and the target difference.
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


def timed(args: list[str], env: dict[str, str], cwd: Path, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            args, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        env = {**os.environ, "PREDTRACK_DB": str(cwd / "bench.db"), "PREDTRACK_USER": "bench"}
        subprocess.run([exe, "init"], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        counter = iter(range(10**9))
        python = timed([sys.executable, "-c", "pass"], env, cwd, options.repeat)
        sqlmodel = timed([sys.executable, "-c", "import sqlmodel"], env, cwd, options.repeat)
        help_time = timed([exe, "--help"], env, cwd, options.repeat)
        samples = []
        for _ in range(options.repeat):
            i = next(counter)
            start = time.perf_counter()
            subprocess.run(
                [exe, "predict", f"Question {i}", "30%", "--key", f"q{i}"],
                env=env,
                cwd=cwd,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            samples.append(time.perf_counter() - start)
        predict_time = statistics.median(samples)
    rows = [
        ("python -c pass", python, None, None),
        ('python -c "import sqlmodel"', sqlmodel, None, None),
        ("predtrack --help", help_time, help_time - python, 0.15),
        ("predtrack predict", predict_time, predict_time - sqlmodel, 0.25),
    ]
    if options.json:
        print(
            json.dumps(
                [
                    {"command": c, "seconds": t, "over_baseline": d, "target": g}
                    for c, t, d, g in rows
                ],
                indent=2,
            )
        )
        return
    print(
        f"median of {options.repeat} runs, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(f"{'command':32} {'time':>8} {'over baseline':>14} {'target':>8}  ok")
    for command, seconds, over, target in rows:
        over_text = f"{over:+.3f} s" if over is not None else ""
        target_text = f"<= {target:.2f}" if target is not None else ""
        ok = "" if target is None else ("yes" if over <= target else "NO")
        print(f"{command:32} {seconds:7.3f}s {over_text:>14} {target_text:>8}  {ok}")


if __name__ == "__main__":
    main()
