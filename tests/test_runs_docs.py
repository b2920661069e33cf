"""The README's many-runs and trackers sections run as written, with the outputs it shows
(hashes, times, Hydra's DATE/TIME folders and event file names aside)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import readme_section

ROOT = Path(__file__).resolve().parents[1]
HEX = re.compile(r"\b[0-9a-f]{12,64}\b")
VARYING = [
    (re.compile(r"multirun/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d/"), "multirun/DATE/TIME/"),
    (re.compile(r"events\.out\.tfevents\.\d+\.\S+? "), "EVENTS "),
    (re.compile(r"Ledger head \d+:HASH"), "Ledger head N:HASH"),
]


SECTIONS = {"readme-trackers.md": "Trackers and eval logs", "readme-many-runs.md": "Many runs"}


def blocks(doc: str) -> list[str]:
    return re.findall(r"```\n(.*?)```", readme_section(SECTIONS[doc]), re.S)


def normal(text: str) -> list[str]:
    text = HEX.sub("HASH", text)
    for pattern, put in VARYING:
        text = pattern.sub(put, text)
    return [line.rstrip() for line in text.strip().splitlines()]


def run_script(script: str, clone: Path, workdir: Path) -> str:
    """The commands as a user pastes them, from the top of a clone (its venv: this one)."""
    first, _, rest = script.partition("\n")
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -e "), first
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env["TMPDIR"] = str(workdir)  # the walkthrough's `mktemp -d` folders land in the test's
    env.pop("PREDTRACK_DB", None)
    done = subprocess.run(
        ["bash", "-c", rest],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.stdout + done.stderr


def shown_in(out: str, expected: str) -> None:
    """Every line the documentation shows, in its order, among what the commands printed."""
    got = normal(out)
    at = 0
    for line in normal(expected):
        if line.strip() == "...":
            continue
        found = next((i for i in range(at, len(got)) if got[i] == line), None)
        assert found is not None, f"{line!r} not printed (after line {at}):\n" + "\n".join(got)
        at = found + 1


def test_the_trackers_walkthrough(tmp_path: Path) -> None:
    commands, output = blocks("readme-trackers.md")[:2]
    clone = tmp_path / "predtrack"
    shutil.copytree(ROOT / "tests" / "fixtures", clone / "tests" / "fixtures")
    out = run_script(commands, clone, tmp_path)
    shown_in(out, output)
    assert "Traceback" not in out.replace("RuntimeError: node lost", "")


@pytest.mark.slow
def test_the_many_runs_walkthrough(tmp_path: Path) -> None:
    commands, first, again, second = blocks("readme-many-runs.md")[:4]
    clone = tmp_path / "predtrack"
    shutil.copytree(ROOT / "examples", clone / "examples")
    out = run_script(commands + again.replace("```", ""), clone, tmp_path)
    shown_in(out, first + second)
