"""Bad input is one line naming the field, exit 2, the head unchanged — the same on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import predtrack
from predtrack.errors import InputError
from tests.conftest import Run, head_of, sql, write


def refused(run: Run, *args: str, message: str) -> None:
    before = head_of(run)
    result = run(*args, code=2)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert head_of(run) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "Title \x1b]0;owned\x07 here", "0.3"], "control character U+001B"),
        (["predict", "Clear \x1b[2J", "0.3"], "control character U+001B"),
        (["predict", "A NUL \x00 in it", "0.3"], "control character U+0000"),
        (["predict", "Q", "0.3", "--by", "bo\u202eb"], "invisible or reordering character U+202E"),
        (["predict", "Q", "0.3", "--by", "bo\u200bb"], "invisible or reordering character U+200B"),
        (["predict", "Q", "normal(1e309, 1)"], "too large to be stored"),
        (
            ["predict", "Q", "10 to 20", "--kind", "quantity", "--unit", "u" * 300],
            "longer than 200",
        ),
        (["predict", "Q", "a:0.5, a:0.5"], "appears twice"),
        (["predict", "Q", "a:0.5, :0.5"], "NAME:PROBABILITY"),
        (["predict", "Q", "0.3", "--rule", "res\x00ults.csv#x > 1"], "control character U+0000"),
        (["predict", "Q", "0.3", "--by", "team"], "reserved"),
        (["show", "12345678901234567890123"], "no question with id"),
        (["list", "--db", "postgresql+psycopg2://u@h/db"], "psycopg2 driver is not supported"),
        (["list", "--db", "://"], "unsupported database URL"),
        (["list", "--db", "~nosuchuser/p.db"], "does not exist"),
        (["export", "-o", "no/such/folder/out.jsonl"], "does not exist"),
        (["predict", "--file", "/dev/zero"], "not a regular file"),
    ],
)
def test_bad_input_is_one_line(store_db: str, run: Run, args: list[str], message: str) -> None:
    run("predict", "Seed", "0.5", "--key", "seed")
    refused(run, *args, message=message)


def test_counts_beyond_64_bits(store_db: str, run: Run) -> None:
    run("predict", "Frac", "beta(2,2)", "--key", "f")
    refused(run, "resolve", "f", "--successes", str(2**64), "--trials", str(2**65), message="2^63")


def test_deep_and_duplicated_bulk_files(store_db: str, run: Run, tmp_path: Path) -> None:
    run("predict", "Seed", "0.5", "--key", "seed")
    deep_json = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    refused(run, "predict", "--file", str(deep_json), message="nests too deeply")
    deep_toml = write(tmp_path / "deep.toml", "x = " + "[" * 5000 + "]" * 5000)
    refused(run, "predict", "--file", str(deep_toml), message="deep")
    twice = write(
        tmp_path / "twice.json",
        '{"experiment": "e", "question": [{"key": "q", "title": "Q", '
        '"forecasts": {"bob": "0.2", "bob": "0.9"}}]}',
    )
    refused(run, "predict", "--file", str(twice), message="duplicate key 'bob'")


def test_terminal_output_never_prints_stored_control_characters(tmp_path: Path, run: Run) -> None:
    """Even a title smuggled into the database directly is shown escaped."""
    run("init")
    run("predict", "Plain", "0.5", "--key", "q")
    sql(str(tmp_path / "predictions.db"), "UPDATE questions SET title = 'x\x1b]0;owned\x07y'")
    for args in (["list"], ["show", "q"]):
        out = run(*args).output
        assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out


def test_the_api_refuses_a_lone_surrogate(tmp_path: Path) -> None:
    with (
        predtrack.open(tmp_path / "p.db", user="alice") as study,
        pytest.raises(InputError, match="not valid Unicode"),
    ):
        study.predict("broken \ud800 title", "0.3")


def test_csv_export_guards_spreadsheet_formulas(store_db: str, run: Run, tmp_path: Path) -> None:
    run("predict", "Seed", "0.5", "--key", "seed", "--by", '=HYPERLINK("http://x")')
    run("predict", "--question", "seed", "0.4", "--by", "+SUM(1;2)")
    run("predict", "--question", "seed", "0.6", "--by", "@SUM(1)")
    run("resolve", "seed", "--yes")
    rows = run("export", "--format", "csv", "--scored").output.splitlines()
    forecasters = {line.split(",")[5] for line in rows[1:]} | {
        part for line in rows[1:] for part in line.split('"') if "HYPERLINK" in part
    }
    assert all(not cell.startswith(("=", "+", "@")) for cell in forecasters), rows
    raw = run("export", "--format", "csv", "--scored", "--raw").output
    assert "+SUM(1;2)" in raw and "'+SUM(1;2)" not in raw


def test_import_replays_through_the_checks(store_db: str, run: Run, tmp_path: Path) -> None:
    """A well-formed chain whose payload says what predtrack never writes is refused, naming
    its line; nothing is created."""
    import hashlib

    run("predict", "Seed", "0.5", "--key", "seed")
    run("lock", "default")
    run("predict", "--question", "seed", "0.7", "--by", "bob")
    lines = [json.loads(x) for x in run("export").output.splitlines()]
    forgeries = {
        "late flag": lambda b: b["insert"]["predictions"][0].update(late=False, late_reason=None),
        "probability": lambda b: b["insert"]["predictions"][0]["distribution"].update(p=7.5),
        "reserved name": lambda b: b["insert"]["predictions"][0].update(forecaster="team"),
        "unknown family": lambda b: b["insert"]["predictions"][0]["distribution"].update(
            family="banana"
        ),
    }
    for name, forge in forgeries.items():
        body = json.loads(lines[2]["payload"])
        forge(body)
        payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        forged = [dict(x) for x in lines]
        forged[2] = {
            **lines[2],
            "payload": payload,
            "hash": hashlib.sha256((lines[1]["hash"] + payload).encode()).hexdigest(),
        }
        target = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        target.write_text("\n".join(json.dumps(x) for x in forged) + "\n")
        fresh = tmp_path / f"{name.replace(' ', '_')}.db"
        result = run("import", str(target), "--db", str(fresh), code=2)
        assert "line 3:" in result.output, (name, result.output)
        assert not fresh.exists()
