"""`predtrack predict`, `list`, `show`, `lock`, `experiment`: the issue-2 tour, on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, head_of, write

PREREG = """
experiment = "cheese-maze"
forecaster = "alice"
description = "Does the policy generalise to larger mazes?"

[[question]]
key = "tl25"
title = "Mouse reaches the cheese at size 25, cheese top-left"
kind = "binary"
forecast = "30%"
rule = "sweep.csv#cheese_rate[maze_size=25] > 0.5"
tags = ["generalisation"]
note = "Top-left is far from the training region."

[[question]]
key = "flip"
title = "Maze size at which the behaviour flips"
kind = "quantity"
unit = "maze size"
bounds = [3, 25]
rule = "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=0.5)"
forecasts = { alice = "10 to 20", bob = "quantiles(0.05:9, 0.5:13, 0.95:19)" }

[[question]]
key = "frac25"
title = "Cheese fraction at size 25"
kind = "fraction"
forecast = "beta(3,7)"

[[prediction]]
question = "frac25"
forecast = "beta(4,6)"
by = "carol"
"""


def test_the_issue_tour(store_db: str, run: Run) -> None:
    run(
        "predict",
        "Mouse reaches cheese, size 25, cheese top-left",
        "30%",
        "-e",
        "cheese-maze",
        "--key",
        "tl25",
    )
    run(
        "predict",
        "Size at which behaviour flips",
        "10 to 20",
        "--kind",
        "quantity",
        "--unit",
        "maze size",
        "-e",
        "cheese-maze",
        "--key",
        "flip",
    )
    run(
        "predict",
        "Cheese fraction at size 25",
        "beta(3,7)",
        "--kind",
        "fraction",
        "-e",
        "cheese-maze",
        "--key",
        "frac25",
    )
    run(
        "predict",
        "Which behaviour at size 25",
        "shortest-path:0.5, top-right-first:0.3, mixed:0.2",
        "--kind",
        "categorical",
        "-e",
        "cheese-maze",
        "--key",
        "behaviour",
    )
    out = run("predict", "--question", "flip", "12 to 18", "--by", "bob").output
    assert "by bob" in out and "normal(15, 1.824)" in out

    views = json.loads(run("list", "--json").output)
    assert [v["key"] for v in views] == ["tl25", "flip", "frac25", "behaviour"]
    assert all(v["status"] == "pending" and v["experiment"] == "cheese-maze" for v in views)

    flip = json.loads(run("show", "flip", "--json").output)
    assert flip["kind"] == "quantity" and flip["unit"] == "maze size"
    assert [p["forecaster"] for p in flip["predictions"]] == ["alice", "bob"]
    alice = flip["predictions"][0]
    assert alice["forecast"] == "10 to 20"
    assert alice["distribution"]["family"] == "normal"
    assert alice["distribution"]["mu"] == 15.0
    assert alice["late"] is False
    assert set(flip) >= {
        "id",
        "key",
        "experiment",
        "title",
        "kind",
        "unit",
        "rule",
        "status",
        "outcome",
        "resolution",
        "predictions",
    }

    head = head_of(run)
    seq, digest = head.split(":")
    assert seq == "5" and len(digest) == 16
    assert run("verify").output.startswith("OK: 5 ledger entries")
    run("verify", "--against", head)
    experiments = json.loads(run("experiment", "list", "--json").output)
    assert experiments[0]["name"] == "cheese-maze" and experiments[0]["predictions"] == 5


def test_bulk_file_registers_everything_in_one_entry(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    write(tmp_path / "sweep.csv", "maze_size,cheese_rate\n")
    out = run("predict", "--file", str(write(tmp_path / "prereg.toml", PREREG))).output
    assert "Ledger head 1:" in out
    views = {v["key"]: v for v in json.loads(run("list", "--json", "--reveal").output)}
    assert views["flip"]["bounds"] == [3.0, 25.0]
    assert [p["forecaster"] for p in views["flip"]["predictions"]] == ["alice", "bob"]
    assert views["flip"]["predictions"][1]["distribution"]["family"] == "quantiles"
    assert [p["forecaster"] for p in views["frac25"]["predictions"]] == ["alice", "carol"]
    assert views["tl25"]["tags"] == ["generalisation"]
    assert views["tl25"]["note"] == "Top-left is far from the training region."
    # Rules in a file are relative to the file's folder.
    assert views["tl25"]["rule_file"] == str(tmp_path / "sweep.csv")
    experiments = json.loads(run("experiment", "list", "--json").output)
    assert experiments[0]["description"] == "Does the policy generalise to larger mazes?"


def test_bulk_json_has_the_same_structure(store_db: str, run: Run, tmp_path: Path) -> None:
    document = {
        "experiment": "x",
        "question": [
            {"key": "a", "title": "A?", "forecast": "0.2"},
            {
                "key": "b",
                "title": "B?",
                "kind": "quantity",
                "forecasts": {"al": "1 to 2", "bo": "normal(1.5, 1)"},
            },
        ],
        "prediction": [{"question": "a", "forecast": "0.9", "by": "cy"}],
    }
    run("predict", "--file", str(write(tmp_path / "p.json", json.dumps(document))))
    views = json.loads(run("list", "--json", "--reveal").output)
    assert [len(v["predictions"]) for v in views] == [2, 2]


def test_rerunning_a_bulk_file_is_refused_as_a_whole(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    path = write(tmp_path / "prereg.toml", PREREG)
    run("predict", "--file", str(path))
    head = head_of(run)
    result = run("predict", "--file", str(path), code=2)
    assert "question #1 (key 'tl25')" in result.output and "already exists" in result.output
    assert head_of(run) == head


def test_blind_by_default(store_db: str, run: Run) -> None:
    run("predict", "Q", "0.3", "--key", "q")
    hidden = json.loads(run("show", "q", "--json", "--by", "bob").output)
    assert hidden["predictions"] == [] and hidden["hidden_predictions"] == 1
    assert "hidden until you predict" in run("show", "q", "--by", "bob").output
    revealed = json.loads(run("show", "q", "--json", "--by", "bob", "--reveal").output)
    assert len(revealed["predictions"]) == 1
    run("predict", "--question", "q", "0.6", "--by", "bob")
    after = json.loads(run("show", "q", "--json", "--by", "bob").output)
    assert [p["forecaster"] for p in after["predictions"]] == ["alice", "bob"]
    own = json.loads(run("show", "q", "--json").output)  # alice predicted: she sees all
    assert own["hidden_predictions"] == 0


def test_lock_makes_later_predictions_late(store_db: str, run: Run) -> None:
    run("predict", "Q", "0.3", "--key", "q", "-e", "exp")
    assert "Locked exp" in run("lock", "exp").output
    assert "already locked" in run("lock", "exp").output
    out = run("predict", "--question", "q", "0.5", "--by", "bob").output
    assert "LATE" in out
    predictions = json.loads(run("show", "q", "--json", "--reveal").output)["predictions"]
    assert [p["late"] for p in predictions] == [False, True]
    assert "made after exp was locked" in predictions[1]["late_reason"]
    assert run("verify").output.startswith("OK")


def test_a_large_bulk_write_counts_its_late_predictions(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    run("predict", "Q", "0.3", "--key", "q", "-e", "exp")
    run("lock", "exp")
    entries = "".join(f'[[prediction]]\nquestion = "exp/q"\nforecast = "0.{i}"\n' for i in range(7))
    entries += "".join(
        f'[[question]]\nkey = "n{i}"\ntitle = "N{i}"\nexperiment = "open"\n'
        f'forecasts = {{ alice = "0.5", bob = "0.6" }}\n'
        for i in range(12)
    )
    out = run("predict", "--file", str(write(tmp_path / "late.toml", entries))).output
    assert "Recorded 31 predictions (7 late)" in out


def test_updates_are_new_predictions_never_edits(store_db: str, run: Run) -> None:
    run("predict", "Q", "0.3", "--key", "q")
    run("predict", "--question", "q", "0.35")
    predictions = json.loads(run("show", "q", "--json").output)["predictions"]
    assert [p["forecast"] for p in predictions] == ["0.3", "0.35"]


def test_question_ids_and_experiment_keys(store_db: str, run: Run) -> None:
    run("predict", "Q1", "0.3", "--key", "q", "-e", "one")
    run("predict", "Q2", "0.4", "--key", "q", "-e", "two")
    assert "several experiments" in run("show", "q", code=2).output
    assert json.loads(run("show", "two/q", "--json").output)["title"] == "Q2"
    assert json.loads(run("show", "1", "--json").output)["title"] == "Q1"
    assert json.loads(run("show", "q", "-e", "one", "--json").output)["title"] == "Q1"


def test_experiment_add_and_list(store_db: str, run: Run) -> None:
    run("experiment", "add", "cheese-maze", "-d", "generalisation")
    assert "already exists" in run("experiment", "add", "cheese-maze", code=2).output
    assert "cheese-maze" in run("experiment", "list").output


def test_unicode_titles_and_forecasters(store_db: str, run: Run) -> None:
    run("predict", "Übergang bei Größe 25 — ça marche? 迷路", "0.3", "--key", "u", "--by", "José")
    view = json.loads(run("show", "u", "--json", "--by", "José").output)
    assert view["title"] == "Übergang bei Größe 25 — ça marche? 迷路"
    assert view["predictions"][0]["forecaster"] == "José"
    assert run("verify").output.startswith("OK")


# --- malformed input: exit 2, one line `Error: ...`, nothing written -----------------------------

CLI_CASES = [
    (["predict", "Q", "1.5"], "outside [0, 1]"),
    (["predict", "Q", "-0.1"], "outside [0, 1]"),
    (["predict", "Q", "nan"], "not finite"),
    (["predict", "Q", "lots"], "not a number"),
    (["predict", "Q", "20 to 10", "--kind", "quantity"], "reversed"),
    (["predict", "Q", "normal(1, 0)"], "standard deviation > 0"),
    (["predict", "Q", "beta(-1, 2)"], "a > 0 and b > 0"),
    (["predict", "Q", "quantiles(0.1:5, 0.5:4)"], "quantiles must increase"),
    (["predict", "Q", "a:0.6, b:0.6"], "sum to 1.2"),
    (["predict", "Q", "0.6", "--kind", "fraction"], "needs its uncertainty"),
    (
        ["predict", "Q", "1.2", "--kind", "fraction", "--ci", "0.4", "1.4"],
        "outside the allowed range",
    ),
    (["predict", "Q", "10 to 20", "--kind", "quantity", "--level", "2"], "level"),
    (["predict", "Q", "10 to 20", "--kind", "quantity", "--bounds", "30", "3"], "bounds"),
    (["predict", "Q", "0.3", "--bounds", "0", "1"], "--bounds applies to quantity"),
    (["predict", "Q", "0.3", "--ordered"], "--ordered applies to categorical"),
    (["predict", "Q", "0.3", "--key", "12"], "question key"),
    (["predict", "Q", "0.3", "-e", "bad/name"], "experiment name"),
    (["predict", "Q", "0.3", "--by", "team"], "reserved"),
    (["predict", "", "0.3"], "title is empty"),
    (["predict", "--question", "nope", "0.3"], "no question with key 'nope'"),
    (["predict", "--question", "99", "0.3"], "no question with id 99"),
    (["predict", "Q", "0.3", "--rule", "results.json"], "#"),
    (["predict", "Q", "0.3", "--rule", "sweep.csv#crossing(x=a, level=0.5)"], "crossing"),
    (["predict", "Q", "10 to 20", "--kind", "quantity", "--rule", "r.json#/a > 0.5"], "comparison"),
    (["predict", "Q", "0.3", "--kind", "binary", "--ci", "0.1", "0.5"], "--ci is for fraction"),
    (["predict", "only-one-argument"], "give a TITLE and a FORECAST"),
    (["predict", "Q", "0.3", "--kind", "weird"], "weird"),
    (["show", "missing"], "no question"),
    (["verify", "--against", "banana"], "SEQ:HEX"),
    (["lock", "no-such-experiment"], "no experiment named"),
    (["list", "-e", "no-such-experiment"], "no experiment named"),
]


@pytest.mark.parametrize(
    ("args", "message"), CLI_CASES, ids=[" ".join(a)[:40] for a, _ in CLI_CASES]
)
def test_malformed_cli_input(store_db: str, run: Run, args: list[str], message: str) -> None:
    run("predict", "Existing", "0.5", "--key", "existing")
    before = head_of(run)
    result = run(*args, code=2)
    assert message in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert head_of(run) == before


FILE_CASES = [
    (
        'experiment = "x"\n[[question]]\nkey = "a"\ntitle = "A"\nforecast = "1.3"\n',
        "question #1 (key 'a')",
    ),
    (
        '[[question]]\nkey = "a"\ntitle = "A"\nforecast = "0.3"\n[[question]]\nkey = "b"\ntitle = "B"\nforecast = "0.3 to"\n',
        "question #2 (key 'b')",
    ),
    ('[[question]]\nkey = "a"\nforecast = "0.3"\n', "title is missing"),
    ('[[question]]\nkey = "a"\ntitle = "A"\nforcast = "0.3"\n', "unknown field 'forcast'"),
    (
        '[[question]]\nkey = "a"\ntitle = "A"\nforecast = "0.3"\n[[question]]\nkey = "a"\ntitle = "again"\nforecast = "0.4"\n',
        "already exists",
    ),
    (
        '[[prediction]]\nquestion = "ghost"\nforecast = "0.3"\n',
        "prediction #1: no question with key 'ghost'",
    ),
    ('[[prediction]]\nforecast = "0.3"\n', "question is missing"),
    (
        '[[question]]\nkey = "a"\ntitle = "A"\nkind = "quantity"\nbounds = [1]\nforecast = "1 to 2"\n',
        "bounds must be a list of two numbers",
    ),
    ('[[question]]\nkey = "a"\ntitle = "A"\nforecasts = { team = "0.3" }\n', "reserved"),
    (
        '[[question]]\nkey = "a"\ntitle = "A"\nforecast = "0.3"\nrule = "x.csv#col[a=1"\n',
        "question #1 (key 'a')",
    ),
    ("this is = = not toml", "not valid TOML"),
    ("", "no [[question]] or [[prediction]]"),
]


@pytest.mark.parametrize(("content", "message"), FILE_CASES)
def test_malformed_bulk_file(
    store_db: str, run: Run, tmp_path: Path, content: str, message: str
) -> None:
    before = head_of(run)
    result = run("predict", "--file", str(write(tmp_path / "bad.toml", content)), code=2)
    assert message in result.output
    assert result.output.count("Error:") == 1
    assert head_of(run) == before
    assert json.loads(run("list", "--json").output) == []


def test_malformed_json_bulk_files(store_db: str, run: Run, tmp_path: Path) -> None:
    before = head_of(run)
    bad = write(
        tmp_path / "bad.json", '{"question": [{"key": "a", "title": "A", "forecast": NaN}]}'
    )
    assert "NaN is not allowed" in run("predict", "--file", str(bad), code=2).output
    assert (
        "not valid JSON"
        in run("predict", "--file", str(write(tmp_path / "b.json", "{")), code=2).output
    )
    missing = run("predict", "--file", str(tmp_path / "missing.toml"), code=2)
    assert "does not exist" in missing.output or "cannot read" in missing.output
    assert head_of(run) == before


def test_a_bad_entry_among_many_is_reported_with_its_position(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    entries = [
        f'[[question]]\nkey = "q{i}"\ntitle = "Q{i}"\nforecast = "{0.5 if i != 137 else 2}"\n'
        for i in range(300)
    ]
    result = run("predict", "--file", str(write(tmp_path / "many.toml", "".join(entries))), code=2)
    assert "question #138 (key 'q137')" in result.output
    assert json.loads(run("list", "--json").output) == []


def test_missing_database_points_at_init(run: Run) -> None:
    result = run("list", code=2)
    assert "predtrack init" in result.output
    assert not Path("predictions.db").exists()


def test_every_command_has_help_with_an_example(run: Run) -> None:
    from predtrack.cli import cli

    def walk(group, prefix):  # type: ignore[no-untyped-def]
        for name, command in group.commands.items():
            yield [*prefix, name], command
            if hasattr(command, "commands"):
                yield from walk(command, [*prefix, name])

    for path, command in walk(cli, []):
        output = run(*path, "--help").output
        assert command.help and len(command.help) > 20, path
        if not hasattr(command, "commands"):
            assert "Example" in output, f"{' '.join(path)} --help has no example"
        for line in command.help.splitlines():  # each example names a real command
            words = line.split()
            if words[:1] == ["predtrack"] and len(words) > 1 and not words[1].startswith("-"):
                assert words[1] in cli.commands, f"{' '.join(path)} --help: {line.strip()}"
