"""The sparse-sweep example runs end to end: a real Hydra multirun, one crashed job, resolution."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_sparse_sweep_study(tmp_path: Path) -> None:
    study = tmp_path / "sparse"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "sparse_sweep" / "run_study.py"),
            "--workdir",
            str(study),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    first, second = out.split("$ python app.py --multirun m=28 seed=7")
    crashed = re.search(r"missing (multirun/[\d-]+/[\d-]+/31) \(seed=7, crash=m28_s7\)", first)
    assert crashed is not None, first
    assert not (study / crashed.group(1) / "metrics.json").exists()
    assert "pending   sparse/rate28: 7 of 8 records so far with m=28" in first
    assert "pending   sparse/flip: 7 of 8 records so far at m=28" in first
    assert "resolved  sparse/solved24: 2/8 = 0.25" in first
    assert "resolved  sparse/rate28: 0.375" in second
    assert "resolved  sparse/flip: 28.8" in second
    assert "OK: 8 ledger entries" in second
