"""Run the sparse-recovery study end to end: predictions, a real Hydra multirun, resolution.

    python examples/sparse_sweep/run_study.py                  # in a temporary folder
    python examples/sparse_sweep/run_study.py --workdir /tmp/sparse

Needs hydra-core (`pip install hydra-core`, or the `test` extra). The steps are the ones
the README's "Many runs" section types by hand: register six predictions whose rules read
the runs where Hydra writes them (multirun/DATE/TIME/N/), run the 6 x 8 sweep with one job
dying before it writes its metrics, resolve (the questions that need that job stay
pending, naming its folder and seed=7), re-launch that job, resolve again, verify.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = "m=16,20,24,28,32,36"
RUNS = "multirun/*/*/*/metrics.json"
LOGS = "multirun/*/*/*/omp.jsonl"
PREDICTIONS = [
    ("Recovery rate at m=28, mean of 8 seeds", "30% to 70%", "--kind", "fraction", "--key",
     "rate28", "--rule", f"{RUNS}#mean(/success, runs=8)[m=28]"),
    ("Seeds that recover at m=24", "beta(3,5)", "--key", "solved24",
     "--rule", f"{RUNS}#fraction(/success, runs=8)[m=24]"),
    ("m at which the mean recovery rate crosses 50%", "20 to 32", "--kind", "quantity",
     "--key", "flip", "--rule", f"{RUNS}#crossing(x=m, y=mean(/success, runs=8), level=0.5)"),
    ("Worst seed's error at m=36 under 1e-6", "80%", "--key", "worst36",
     "--rule", f"{RUNS}#max(/rel_error, runs=8)[m=36] < 0.000001"),
    ("Final OMP residual of every seed at m=32 under 1e-6", "60%", "--key", "resid32",
     "--rule", f"{LOGS}#max(/residual@last, runs=8)[m=32] < 0.000001"),
    ("Mean residual after 3 OMP steps at m=20", "0.3 to 0.7", "--kind", "quantity",
     "--key", "step3", "--rule", f"{LOGS}#mean(/residual@step=3)[m=20]"),
]  # fmt: skip


def predtrack(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> str:
    exe = shutil.which("predtrack")
    command = [exe] if exe else [sys.executable, "-m", "predtrack"]
    env = {**os.environ, "PREDTRACK_DB": str(cwd / "predictions.db"), "PREDTRACK_USER": "alice"}
    done = subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True)
    print(f"$ predtrack {' '.join(args)}\n{done.stdout}{done.stderr}", end="")
    if done.returncode not in ok:
        raise SystemExit(f"predtrack {' '.join(args)} exited with {done.returncode}")
    return done.stdout


def sweep(study: Path, *overrides: str) -> None:
    """Run a Hydra multirun (each sweep gets its own DATE/TIME folder)."""
    print(f"$ python app.py --multirun {' '.join(overrides)}")
    done = subprocess.run(
        [sys.executable, "app.py", "--multirun", *overrides],
        cwd=study,
        capture_output=True,
        text=True,
    )
    print(
        done.stderr.strip().splitlines()[-1] if done.returncode else "",
        end="\n" if done.returncode else "",
    )
    time.sleep(1.1)  # the next sweep's TIME folder must differ from this one


def run(study: Path) -> None:
    study.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "config.yaml"):
        shutil.copyfile(HERE / name, study / name)
    predtrack("init", cwd=study)
    for title, forecast, *options in PREDICTIONS:
        predtrack("predict", title, forecast, "-e", "sparse", *options, cwd=study)
    sweep(study, SIZES, "seed=0,1,2,3,4,5,6,7", "crash=m28_s7")
    predtrack("resolve", cwd=study)
    sweep(study, "m=28", "seed=7")
    predtrack("resolve", cwd=study)
    predtrack("show", "rate28", cwd=study)
    predtrack("verify", cwd=study)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="study folder (default: a temporary one)")
    args = parser.parse_args()
    if args.workdir is not None:
        run(args.workdir.resolve())
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "sparse")


if __name__ == "__main__":
    main()
