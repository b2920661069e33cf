"""The README's tour and its Python example run exactly as written, with the outputs it shows
(hashes and times aside: every entry's hash covers its time)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
HEX = re.compile(r"\b[0-9a-f]{12,64}\b")
TIMES = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d"
)


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 4)
    return README[start:end]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def steps(text: str) -> list[tuple[str, str]]:
    """(command, expected output) of every `$ ` line in the console blocks."""
    out: list[tuple[str, list[str]]] = []
    for block in blocks(text, "console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            else:
                out[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in out]


def normal(text: str) -> str:
    text = TIMES.sub("TIME", HEX.sub("HASH", text))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """What the tour starts from: the top of a clone, after the install command."""
    repo = tmp_path / "predtrack"
    repo.mkdir()
    shutil.copytree(ROOT / "examples", repo / "examples")
    shutil.copyfile(ROOT / "predictions.db.example", repo / "predictions.db.example")
    (repo / ".venv" / "bin").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    (repo / ".venv" / "bin" / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return repo


def test_the_tour_runs_as_written(clone: Path) -> None:
    tour = steps(section("A five-minute tour"))
    assert len(tour) > 15
    marker = "@@predtrack-step@@"
    script = "\n".join(f"echo {marker}\n{command} 2>&1" for command, _ in tour)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDTRACK_")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    outputs = done.stdout.split(marker + "\n")[1:]
    assert len(outputs) == len(tour)
    for (command, expected), actual in zip(tour, outputs, strict=True):
        assert normal(actual) == normal(expected), f"$ {command}"


def test_the_python_example_runs_as_written(clone: Path) -> None:
    (code,) = blocks(section("From Python"), "python")
    folder = clone / "script"
    folder.mkdir()
    (folder / "example.py").write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDTRACK_")}
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cheese-maze/flip resolved 14.07" in done.stdout
    assert (folder / "report.html").stat().st_size > 10_000


def test_the_first_screen_names_the_two_commands() -> None:
    first = README[: README.index("## A five-minute tour")]
    assert ".venv/bin/predtrack report --db predictions.db.example" in first
    assert ".venv/bin/python -m pytest -n 2" in first
