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
        (["predict", "broken \udcff title", "0.3"], "title is not valid Unicode text"),
        (["predict", "Q", "0.3", "--by", "bo\udcffb"], "forecaster name is not valid Unicode"),
        (
            ["predict", "Q", "10 to 20", "--kind", "quantity", "--bounds", "0", "1" * 400],
            "bounds 0.0 inf must be finite",
        ),
        (["predict", "Q", "0.3", "--note", "n\x00te"], "note contains the control character"),
        (["predict", "Q", "0.3", "--tag", "t" * 300], "tag is longer than 100 characters"),
        (["predict", "Q", "0.3", "--key", "k" * 300], "must be 1-100 letters"),
        (["experiment", "add", "e\u202ex"], "must be 1-100 letters"),
        (["resolve", "seed", "--annul", "r\x00"], "--annul contains the control character"),
        (["resolve", "seed", "--yes", "--correct", "\x1b[2J"], "control character U+001B"),
        (["link", "-e", "default", "no\x00file"], "NUL byte"),
        (["show", "2147483648"], "no question with id 2147483648"),
        (["predict", "--question", "99999999999999999999", "0.3"], "no question with id"),
        (["verify", "--against", "99999999999999999999999:abcdef12"], "expected SEQ:HEX"),
        (["list", "--db", "postgresql+psycopg://u@[::1/db"], "not a valid URL (Invalid IPv6 URL)"),
        (["list", "--db", "postgresql+psycopg://u@h:99999/db"], "not a valid URL (Port out of"),
        (["export", "-o", "."], "is a directory"),
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


def test_bulk_files_with_oversized_numbers_and_bad_categories(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    run("predict", "Seed", "0.5", "--key", "seed")
    huge = "1" * 400
    question = '[[question]]\ntitle = "Q"\nkind = "quantity"\nforecast = "10 to 20"\n'
    cases = {
        "bounds.toml": (f"{question}bounds = [0, {huge}]\n", "bounds are too large to be stored"),
        "bounds.json": (
            '{"question": [{"title": "Q", "kind": "quantity", "forecast": "10 to 20", '
            f'"bounds": [0, {huge}]}}]}}',
            "bounds are too large to be stored",
        ),
        "twice.json": (
            '{"question": [{"title": "Q", "categories": ["a", "a"], "forecast": "a:1"}]}',
            "category 'a' appears twice",
        ),
        "empty.json": (
            '{"question": [{"title": "Q", "categories": ["", "b"], "forecast": "b:1"}]}',
            "category name is empty",
        ),
        "forecast.toml": (f'[[question]]\ntitle = "Q"\nforecast = {huge}\n', "too large"),
    }
    for name, (text, message) in cases.items():
        refused(run, "predict", "--file", str(write(tmp_path / name, text)), message=message)


def test_a_bulk_file_over_the_size_limit_is_refused_before_reading(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    run("predict", "Seed", "0.5", "--key", "seed")
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(600 * 2**20)
    refused(run, "predict", "--file", str(big), message="is over 512 MiB: split it")


def test_a_bulk_file_beyond_the_memory_allowed(tmp_path: Path) -> None:
    """Under an address-space limit a bulk file that needs more is one line, exit 2, nothing
    written; a small command under the same limit works."""
    import os
    import resource
    import subprocess

    from tests.test_entrypoint import predtrack_exe

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))

    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "p.db"), "PREDTRACK_USER": "alice"}
    exe = predtrack_exe()
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    small = subprocess.run(
        [exe, "predict", "Small", "0.5"], env=env, capture_output=True, preexec_fn=limited
    )
    assert small.returncode == 0, small.stderr
    head = subprocess.run([exe, "head"], env=env, capture_output=True, text=True).stdout
    questions = ",".join(f'{{"title": "Question {i}", "forecast": "0.5"}}' for i in range(400_000))
    bulk = write(tmp_path / "many.json", f'{{"experiment": "e", "question": [{questions}]}}')
    done = subprocess.run(
        [exe, "predict", "--file", str(bulk)],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=limited,
    )
    (line,) = done.stderr.strip().splitlines()
    assert done.returncode == 2 and line.startswith("Error: ") and "memory" in line, done.stderr
    assert subprocess.run([exe, "head"], env=env, capture_output=True, text=True).stdout == head


def test_a_missing_postgresql_driver(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails as if absent
    result = run("list", "--db", "postgresql+psycopg://u@127.0.0.1/db", code=2)
    assert result.output.strip() == (
        "Error: PostgreSQL needs the psycopg driver: pip install 'predtrack[postgres]'"
    )


def test_the_checks_know_the_postgresql_column_sizes() -> None:
    """Text is refused at the size the server would refuse it, on both backends alike."""
    from sqlalchemy import String

    from predtrack.store.checks import SIZES
    from predtrack.store.models import DOMAIN_TABLES

    for name, model in DOMAIN_TABLES.items():
        sized = {
            column.name: column.type.length
            for column in model.__table__.columns  # type: ignore[attr-defined]
            if isinstance(column.type, String)
            and column.type.length
            and column.type.__class__.__name__ != "UTCDateTime"
        }
        assert SIZES.get(name, {}) == sized, name


def test_terminal_output_never_prints_stored_control_characters(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    """Even a title smuggled into the database directly is shown escaped; the lines predtrack
    breaks itself stay lines."""
    write(tmp_path / "r.json", '{"a": true}')
    run("predict", "Plain", "0.5", "--key", "q", "--rule", "r.json#/a")
    sql(store_db, "UPDATE questions SET title = 'x\x1b]0;owned\x07y'")
    for args in (["list"], ["show", "q"]):
        out = run(*args).output
        assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out
    lines = run("resolve").output.splitlines()
    assert lines[0].startswith("resolved  default/q: yes") and lines[1].strip() == "/a = true"


def test_the_api_refuses_a_lone_surrogate(tmp_path: Path) -> None:
    with (
        predtrack.open(tmp_path / "p.db", user="alice") as study,
        pytest.raises(InputError, match="not valid Unicode"),
    ):
        study.predict("broken \ud800 title", "0.3")


def test_csv_export_guards_spreadsheet_formulas(store_db: str, run: Run, tmp_path: Path) -> None:
    import csv

    run("predict", "Seed", "0.5", "--key", "seed", "--by", '=HYPERLINK("http://x")')
    run("predict", "--question", "seed", "0.4", "--by", "+SUM(1;2)")
    run("predict", "--question", "seed", "0.6", "--by", "@SUM(1)")
    run("predict", "Colour", "=A1:0.6, b:0.4", "--key", "col", "--by", "-2+3")
    run("resolve", "seed", "--yes")
    run("resolve", "col", "--category", "=A1")
    rows = list(csv.DictReader(run("export", "--format", "csv", "--scored").output.splitlines()))
    cells = [row[name] for row in rows for name in ("forecaster", "forecast", "outcome")]
    assert len(rows) == 4 and all(not c.startswith(("=", "+", "-", "@")) for c in cells), rows
    assert {row["forecaster"] for row in rows} == {
        "'=HYPERLINK(\"http://x\")", "'+SUM(1;2)", "'@SUM(1)", "'-2+3"
    }  # fmt: skip
    assert [row["outcome"] for row in rows if row["question"] == "default/col"] == ["'=A1"]
    raw = list(
        csv.DictReader(run("export", "--format", "csv", "--scored", "--raw").output.splitlines())
    )
    assert {row["forecaster"] for row in raw} == {
        '=HYPERLINK("http://x")',
        "+SUM(1;2)",
        "@SUM(1)",
        "-2+3",
    }
    assert [row["outcome"] for row in raw if row["question"] == "default/col"] == ["=A1"]


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
