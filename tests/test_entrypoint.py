"""The installed `predtrack` command, run as a real subprocess, and what it imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "scipy", "jinja2", "matplotlib", "alembic")


def predtrack_exe() -> str:
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    assert Path(exe).exists(), "the predtrack console script is not installed"
    return exe


def run_exe(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREDTRACK_DB": str(cwd / "predictions.db"), "PREDTRACK_USER": "alice"}
    return subprocess.run(
        [predtrack_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=check
    )


def test_installed_entry_point_end_to_end(tmp_path: Path) -> None:
    assert "Created" in run_exe("init", cwd=tmp_path).stdout
    out = run_exe(
        "predict", "Flip size", "10 to 20", "--kind", "quantity", "--key", "flip", cwd=tmp_path
    )
    assert "normal(15, 3.04)" in out.stdout
    assert json.loads(run_exe("show", "flip", "--json", cwd=tmp_path).stdout)["key"] == "flip"
    bad = run_exe("predict", "Q", "1.7", cwd=tmp_path, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["Error: probability '1.7' is outside [0, 1]"]
    assert run_exe("verify", cwd=tmp_path).stdout.startswith("OK: 1 ledger entries")


def test_python_dash_m(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "predtrack", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("predtrack, version")


def imported_modules(args: list[str], cwd: Path) -> set[str]:
    """Top-level modules loaded by running the CLI in a fresh interpreter with these args."""
    code = (
        "import sys, json\n"
        "from predtrack.cli import cli\n"
        "try:\n"
        f"    cli.main({args!r}, prog_name='predtrack')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {**os.environ, "PREDTRACK_DB": str(cwd / "predictions.db"), "PREDTRACK_USER": "alice"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    marker = done.stderr.rsplit("MODULES ", 1)
    assert len(marker) == 2, done.stderr
    return set(json.loads(marker[1]))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["predict", "--help"],
        [
            "predict",
            "Reaches cheese",
            "30%",
            "--key",
            "a",
            "--rule",
            "sweep.csv#crossing(x=s, y=r, level=0.5, fit=logistic)",
        ],
        ["predict", "Flip", "0.6", "--kind", "fraction", "--ci", "0.4", "0.8"],
        ["predict", "Which", "a:0.5, b:0.5"],
    ],
    ids=["help", "predict-help", "predict-binary-rule", "predict-beta-fit", "predict-categorical"],
)
def test_fast_paths_import_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    run_exe("init", cwd=tmp_path)
    loaded = imported_modules(args, tmp_path)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    if args[0] == "--help":
        assert "sqlmodel" not in loaded and "sqlalchemy" not in loaded
