"""Tests for predtrack.rules: parsing, kind checks and evaluation of resolution rules."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules import (
    Column,
    Comparison,
    Counts,
    Crossing,
    Evaluation,
    Filter,
    Pointer,
    Rule,
    RulePending,
    check_rule_for_kind,
    evaluate,
    evaluate_rule,
    files,
    parse_rule,
    sha256_file,
)
from predtrack.rules.convert import OPS

SWEEP = "maze_size,cheese_rate,seed\n3,0.9,1\n13,0.61,1\n15,0.42,1\n25,0.1,1\n"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run(tmp_path: Path, rule: str, kind: str = "quantity", **kw: object) -> Evaluation:
    return evaluate_rule(parse_rule(rule), tmp_path, kind, **kw)  # type: ignore[arg-type]


def fails(tmp_path: Path, rule: str, kind: str = "quantity", **kw: object) -> str:
    with pytest.raises(RuleError) as info:
        run(tmp_path, rule, kind, **kw)
    return str(info.value)


# ---------------------------------------------------------------- import cost


def test_import_does_not_load_numpy_or_scipy() -> None:
    code = (
        "import sys, predtrack.rules as r; "
        "r.parse_rule('sweep.csv#crossing(x=a, y=b, level=0.5, fit=logistic)'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- parsing


def test_parse_pointer_with_escapes_and_empty_pointer() -> None:
    assert parse_rule("r.json#/a~1b/m~0n/0").selector == Pointer(("a/b", "m~n", "0"))
    assert parse_rule("r.json#").selector == Pointer(())  # RFC 6901: "" is the whole document
    assert parse_rule("r.json#/").selector == Pointer(("",))  # "/" is the key ""
    assert parse_rule("r.json#/~01").selector == Pointer(("~1",))  # ~01 is "~" then "1"
    assert str(Pointer(("a/b", "m~n"))) == "/a~1b/m~0n"


def test_parse_keeps_text_and_strips_whitespace() -> None:
    rule = parse_rule("  results.json  #  /maze/25/cheese_fraction  >0.5 ")
    assert rule.file == "results.json"
    assert rule.selector == Pointer(("maze", "25", "cheese_fraction"))
    assert rule.comparison == Comparison(">", 0.5)
    assert rule.text == "  results.json  #  /maze/25/cheese_fraction  >0.5 "
    assert str(rule) == "results.json#/maze/25/cheese_fraction > 0.5"


@pytest.mark.parametrize("op", [">", "<", ">=", "<=", "==", "!="])
@pytest.mark.parametrize("space", ["", " ", "  "])
def test_parse_comparison_ops(op: str, space: str) -> None:
    rule = parse_rule(f"r.json#/a{space}{op}{space}-1.5e1")
    assert rule.comparison == Comparison(op, -15.0)
    assert rule.selector == Pointer(("a",))


def test_parse_counts_splits_at_last_of() -> None:
    rule = parse_rule("results.json#/m25/successes/of/m25/episodes")
    assert rule.selector == Counts(Pointer(("m25", "successes")), Pointer(("m25", "episodes")))
    # The LAST middle "of" splits: the k pointer may pass through a key named "of".
    rule = parse_rule("r.json#/stats/of/k/of/n")
    assert rule.selector == Counts(Pointer(("stats", "of", "k")), Pointer(("n",)))
    # "of" first or last has no pointer on one side, so it is an ordinary key.
    assert parse_rule("r.json#/a/of").selector == Pointer(("a", "of"))
    assert parse_rule("r.json#/of/a").selector == Pointer(("of", "a"))
    assert parse_rule("m.jsonl#/k/of/n").selector == Counts(Pointer(("k",)), Pointer(("n",)))


def test_parse_column_and_filters() -> None:
    rule = parse_rule("sweep.csv#cheese_rate[maze_size=25]")
    assert rule.selector == Column("cheese_rate", (Filter("maze_size", "25"),))
    rule = parse_rule("data/sweep.TSV# cheese rate [ maze_size = 25 , seed=3 ] <= 0.5")
    assert rule.selector == Column("cheese rate", (Filter("maze_size", "25"), Filter("seed", "3")))
    assert rule.comparison == Comparison("<=", 0.5)
    assert rule.format == "tsv"
    assert parse_rule("s.csv#acc").selector == Column("acc")


def test_parse_crossing() -> None:
    rule = parse_rule("sweep.csv#crossing(x=maze_size, y=cheese_rate, level=0.5)")
    assert rule.selector == Crossing("maze_size", "cheese_rate", 0.5)
    rule = parse_rule("s.csv#crossing( level=.5 , fit=logistic, y=b, x=a )[seed=3] < 14")
    assert rule.selector == Crossing("a", "b", 0.5, "logistic", (Filter("seed", "3"),))
    assert rule.comparison == Comparison("<", 14.0)
    assert str(rule) == "s.csv#crossing(x=a, y=b, level=0.5, fit=logistic)[seed=3] < 14"
    linear = parse_rule("s.csv#crossing(x=a, y=b, level=1, fit=linear)")
    assert linear.selector == Crossing("a", "b", 1.0, "linear")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("results.json", "missing '#'"),
        ("  #/a", "empty file part"),
        ("results.txt#/a", "unknown file type '.txt'"),
        ("results#/a", "unknown file type 'results'"),
        ("sweep.csv#/a", "JSON pointer needs a .json/.jsonl file"),
        ("results.json#a", "works on CSV/TSV files only"),
        ("results.json#crossing(x=a, y=b, level=0.5)", "crossing(...) works on CSV/TSV files only"),
        ("results.json#/a~2", "bad '~' escape"),
        ("results.json#/a/b~", "bad '~' escape"),
        ("sweep.csv#rate[size=25", "unbalanced brackets"),
        ("sweep.csv#rate]size=25[", "unbalanced brackets"),
        ("sweep.csv#crossing(x=a, y=b, level=0.5", "unbalanced brackets"),
        ("sweep.csv#crossing(x=a, y=b)", "missing level"),
        ("sweep.csv#crossing(level=1)", "missing x, y"),
        ("sweep.csv#crossing(x=a, y=b, level=half)", "level 'half' is not a finite number"),
        ("sweep.csv#crossing(x=a, y=b, level=nan)", "not a finite number"),
        ("sweep.csv#crossing(x=a, y=b, level=0.5, fit=cubic)", "fit 'cubic'"),
        ("sweep.csv#crossing(x=a, y=b, level=0.5, z=1)", "unknown crossing argument 'z'"),
        ("sweep.csv#crossing(x=a, y=a, level=0.5)", "different columns"),
        ("sweep.csv#crossing(x=a, x=b, y=c, level=1)", "'x' given twice"),
        ("sweep.csv#crossing(x=a, y, level=1)", "'y' is not KEY=VALUE"),
        ("sweep.csv#crossing(x=a, y=b, level=1) junk", "bad crossing selector"),
        ("sweep.csv#crosing(x=a, y=b, level=1)", "unknown selector form"),
        ("sweep.csv#rate[size=25] foo", "unknown selector form"),
        ("sweep.csv#rate[size]", "filter 'size' is not COLUMN=VALUE"),
        ("sweep.csv#rate[]", "is not COLUMN=VALUE"),
        ("sweep.csv#rate[size=25,]", "is not COLUMN=VALUE"),
        ("sweep.csv#rate[size==25]", "single '='"),
        ("sweep.csv#rate[a=1, a=2]", "'a' given twice"),
        ("sweep.csv#rate[size=25] >> 2", "invalid comparison"),
        ("sweep.csv#rate[size=25] => 2", "invalid comparison"),
        ("sweep.csv#rate > high", "invalid comparison"),
        ("results.json#/a > abc", "invalid comparison"),
        ("results.json#/a => 0.5", "invalid comparison"),
        ("results.json#/a = 0.5", "invalid comparison"),
        ("results.json#/a > inf", "invalid comparison"),
        ("results.json#/a >", "invalid comparison"),
        ("results.json#/a > 1e999", "not finite"),
    ],
)
def test_parse_errors_name_problem_and_show_rule(text: str, problem: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(text)
    assert problem in str(info.value)
    assert json.dumps(text) in str(info.value)
    assert info.value.exit_code == 2


def test_parse_refuses_non_text() -> None:
    with pytest.raises(RuleSyntaxError, match="must be text"):
        parse_rule(None)  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fuzz_parse_is_total_and_canonical_form_is_stable(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleSyntaxError:
        return
    assert parse_rule(str(rule)) == rule


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=40
    ).map(lambda s: "r.json#" + s)
    | st.text(alphabet="sweep.csv#crossing(x=a,y=b,level=0.5)[]<>=!/~01 of", max_size=50)
)
def test_fuzz_parse_near_valid_text(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleSyntaxError:
        return
    assert parse_rule(str(rule)) == rule


_SAFE = "abcXYZ019_-.é~/"
_names = st.text(alphabet="abcXYZ019_-.é ", min_size=1, max_size=8).map(str.strip).filter(bool)
_tokens = st.lists(
    st.text(alphabet=_SAFE, max_size=6).filter(lambda t: t != "of"), min_size=1, max_size=4
).map(lambda ts: Pointer(tuple(ts)))
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
_filters = st.lists(
    st.builds(Filter, _names, _names.filter(lambda v: not v.startswith("="))),
    max_size=3,
    unique_by=lambda f: f.column,
).map(tuple)
_comparisons = st.none() | st.builds(Comparison, st.sampled_from(list(OPS)), _numbers)
_json_rules = st.builds(
    Rule,
    st.sampled_from(["results.json", "../runs/m.jsonl", "/abs/x.NDJSON", "a b.json"]),
    _tokens | st.just(Pointer(())) | st.builds(Counts, _tokens, _tokens),
    _comparisons,
)
_csv_rules = st.builds(
    Rule,
    st.sampled_from(["sweep.csv", "../d/sweep.tsv", "/abs/S.CSV"]),
    st.builds(Column, _names.filter(lambda n: not n.startswith("crossing")), _filters)
    | st.builds(
        Crossing, _names, _names, _numbers, st.sampled_from(["linear", "logistic"]), _filters
    ).filter(lambda c: c.x != c.y),
    _comparisons,
)


@settings(max_examples=400, deadline=None)
@given(_json_rules | _csv_rules)
def test_round_trip_generated_rules(rule: Rule) -> None:
    assert parse_rule(str(rule)) == rule


# ---------------------------------------------------------------- kind checks


@pytest.mark.parametrize(
    ("text", "kind", "ok"),
    [
        ("r.json#/a", "binary", True),
        ("r.json#/a", "fraction", True),
        ("r.json#/a", "quantity", True),
        ("r.json#/a", "categorical", True),
        ("r.json#/a > 0.5", "binary", True),
        ("r.json#/a > 0.5", "quantity", False),
        ("r.json#/a > 0.5", "fraction", False),
        ("r.json#/a > 0.5", "categorical", False),
        ("r.json#/k/of/n", "fraction", True),
        ("r.json#/k/of/n", "quantity", False),
        ("r.json#/k/of/n", "binary", False),
        ("r.json#/k/of/n > 0.5", "binary", True),
        ("r.json#/k/of/n", "categorical", False),
        ("s.csv#crossing(x=a, y=b, level=1)", "quantity", True),
        ("s.csv#crossing(x=a, y=b, level=1)", "fraction", False),
        ("s.csv#crossing(x=a, y=b, level=1)", "binary", False),
        ("s.csv#crossing(x=a, y=b, level=1) < 14", "binary", True),
        ("s.csv#crossing(x=a, y=b, level=1)", "categorical", False),
        ("s.csv#a[b=1]", "categorical", True),
    ],
)
def test_check_rule_for_kind(text: str, kind: str, ok: bool) -> None:
    rule = parse_rule(text)
    if ok:
        check_rule_for_kind(rule, kind, ["x", "y"] if kind == "categorical" else None)
    else:
        with pytest.raises(RuleSyntaxError, match=f"cannot resolve a {kind} question"):
            check_rule_for_kind(rule, kind, None)


def test_check_rule_for_unknown_kind() -> None:
    with pytest.raises(RuleSyntaxError, match="unknown question kind 'boolean'"):
        check_rule_for_kind(parse_rule("r.json#/a"), "boolean", None)


def test_evaluate_checks_kind_first(tmp_path: Path) -> None:
    with pytest.raises(RuleSyntaxError, match="only resolves binary"):
        run(tmp_path, "missing.json#/a > 1", "quantity")


# ---------------------------------------------------------------- JSON


DOC = {
    "maze": {"25": {"cheese_fraction": 0.6}},
    "a/b": {"m~n": 3},
    "": "empty key",
    "runs": [{"acc": 0.81}, {"acc": 0.92}],
    "m25": {"successes": 6, "episodes": 10, "float_k": 6.0},
    "flag": True,
    "off": 0,
    "label": "mixed",
    "s": "12",
    "nothing": None,
    "obj": {"a": 1},
    "list": [1, 2],
    "big": 30,
}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    text = json.dumps(DOC)[:-1] + ', "nan": NaN, "inf": Infinity, "ninf": -Infinity}'
    write(tmp_path, "results.json", text)
    return tmp_path


def test_json_pointer_values(results: Path) -> None:
    ev = run(results, "results.json#/maze/25/cheese_fraction", "fraction")
    assert ev.value == 0.6 and ev.k is None and ev.n is None
    assert ev.detail == "/maze/25/cheese_fraction = 0.6"
    assert run(results, "results.json#/a~1b/m~0n").value == 3.0
    assert run(results, "results.json#/runs/1/acc").value == 0.92
    assert run(results, "results.json#/", "categorical", categories=["empty key"]).value == (
        "empty key"
    )


def test_json_empty_pointer_is_whole_document(tmp_path: Path) -> None:
    write(tmp_path, "v.json", "0.7\n")
    ev = run(tmp_path, "v.json#", "fraction")
    assert ev.value == 0.7 and ev.detail == "the document root = 0.7"
    assert run(tmp_path, "v.json# > 0.5", "binary").value is True


@pytest.mark.parametrize(
    ("pointer", "cause"),
    [
        ("/maze/26/x", "no key '26' at /maze in results.json (keys there: \"25\")"),
        ("/nope", "no key 'nope' at the document root in results.json"),
        ("/runs/2/acc", "index 2 is out of range at /runs in results.json (array of 2)"),
        ("/runs/99999999999999999999999", "out of range at /runs"),
        ("/runs/-/acc", "'-' at /runs in results.json names the element after the last one"),
        ("/runs/01/acc", "'01' is not an array index at /runs"),
        ("/runs/x", "'x' is not an array index at /runs"),
        ("/runs/ 1", "' 1' is not an array index"),
        ("/big/x", "cannot look up 'x' at /big in results.json: it is 30"),
    ],
)
def test_json_pointer_failures_name_segment(results: Path, pointer: str, cause: str) -> None:
    assert cause in fails(results, f"results.json#{pointer}")


@pytest.mark.parametrize(
    ("pointer", "what"),
    [
        ("/nan", "value at /nan is NaN in results.json"),
        ("/inf", "value at /inf is infinite in results.json"),
        ("/ninf", "value at /ninf is infinite"),
        ("/nothing", "value at /nothing is null, not a number"),
        ("/obj", 'value at /obj is an object {"a": 1}, not a number'),
        ("/list", "value at /list is an array [1, 2], not a number"),
        ("/label", 'value at /label is a string "mixed", not a number'),
        ("/s", 'value at /s is a string "12", not a number'),
        ("/flag", "value at /flag is a boolean true, not a number"),
    ],
)
def test_non_numeric_values(results: Path, pointer: str, what: str) -> None:
    assert what in fails(results, f"results.json#{pointer}", "quantity")


def test_long_values_are_truncated_in_errors(tmp_path: Path) -> None:
    write(tmp_path, "r.json", json.dumps({"a": "x" * 10_000}))
    message = fails(tmp_path, "r.json#/a")
    assert len(message) < 200 and "..." in message


def test_counts(results: Path) -> None:
    ev = run(results, "results.json#/m25/successes/of/m25/episodes", "fraction")
    assert (ev.value, ev.k, ev.n) == (0.6, 6, 10)
    assert ev.detail == "/m25/successes = 6 of /m25/episodes = 10"
    ev = run(results, "results.json#/m25/float_k/of/m25/episodes", "fraction")
    assert (ev.value, ev.k, ev.n) == (0.6, 6, 10) and isinstance(ev.k, int)
    ev = run(results, "results.json#/m25/successes/of/m25/episodes > 0.5", "binary")
    assert ev.value is True and ev.detail.endswith("0.6 > 0.5 is true")


@pytest.mark.parametrize(
    ("doc", "cause"),
    [
        ({"k": 11, "n": 10}, "count k=11 at /k exceeds n=10 at /n in r.json"),
        ({"k": 0, "n": 0}, "count n at /n is 0 in r.json"),
        ({"k": -1, "n": 10}, "count at /k is -1, not a non-negative integer, in r.json"),
        ({"k": 2.5, "n": 10}, "count at /k is 2.5, not a non-negative integer"),
        ({"k": True, "n": 10}, "count at /k is true, not a non-negative integer"),
        ({"k": "3", "n": 10}, 'count at /k is "3"'),
        ({"k": 3, "n": None}, "count at /n is null"),
        ({"k": 3}, "no key 'n' at the document root in r.json"),
    ],
)
def test_counts_failures(tmp_path: Path, doc: dict[str, object], cause: str) -> None:
    write(tmp_path, "r.json", json.dumps(doc))
    assert cause in fails(tmp_path, "r.json#/k/of/n", "fraction")


def test_kind_conversions(results: Path) -> None:
    assert run(results, "results.json#/flag", "binary").value is True
    assert run(results, "results.json#/off", "binary").value is False
    assert run(results, "results.json#/m25/successes == 6", "binary").value is True
    assert run(results, "results.json#/m25/successes != 6", "binary").value is False
    assert "is 0.6, not a yes/no" in fails(
        results, "results.json#/maze/25/cheese_fraction", "binary"
    )
    assert '"mixed", not a yes/no' in fails(results, "results.json#/label", "binary")
    assert "a boolean true, not a number" in fails(results, "results.json#/flag > 0", "binary")
    assert "is 6, outside [0, 1]" in fails(results, "results.json#/m25/successes", "fraction")
    assert run(results, "results.json#/label", "categorical", categories=["mixed", "a"]).value == (
        "mixed"
    )
    message = fails(results, "results.json#/label", "categorical", categories=["a", "b", "c"])
    assert "unknown category 'mixed' (expected one of: a, b, c)" in message
    assert "results.json" in message
    assert "is 30, not a category name" in fails(
        results, "results.json#/big", "categorical", categories=["30"]
    )
    assert "no categories" in fails(results, "results.json#/label", "categorical")


def test_quantity_bounds(results: Path) -> None:
    assert run(results, "results.json#/big", bounds=(3.0, 30.0)).value == 30.0
    message = fails(results, "results.json#/big", bounds=(3.0, 25.0))
    assert "value 30 is outside the question's bounds [3, 25]" in message
    assert "results.json" in message
    assert "[-inf, 25]" in fails(results, "results.json#/big", bounds=(None, 25.0))
    assert run(results, "results.json#/big", bounds=(None, None)).value == 30.0


def test_invalid_json_and_bad_bytes(tmp_path: Path) -> None:
    write(tmp_path, "bad.json", '{"a": 1,,}')
    assert "bad.json is not valid JSON" in fails(tmp_path, "bad.json#/a")
    write(tmp_path, "bytes.json", b'{"a": "\xff\xfe"}')
    assert "bytes.json is not valid UTF-8" in fails(tmp_path, "bytes.json#/a")
    write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    assert "deep.json" in fails(tmp_path, "deep.json#/0")
    write(tmp_path, "huge_int.json", '{"a": ' + "9" * 5000 + "}")
    assert "huge_int.json" in fails(tmp_path, "huge_int.json#/a")


def test_json_with_bom(tmp_path: Path) -> None:
    write(tmp_path, "bom.json", b'\xef\xbb\xbf{"a": 2}')
    assert run(tmp_path, "bom.json#/a").value == 2.0


def test_json_over_size_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    with open(path, "wb") as f:
        f.truncate(500_000_000)  # sparse: no disk or memory used

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must not be opened")

    monkeypatch.setattr(files, "open", no_open, raising=False)
    message = fails(tmp_path, "results.json#/a")
    assert message.startswith("results.json is 500 MB; JSON is read whole, so files over 256 MiB")
    assert "use JSON lines or CSV" in message


def test_json_limit_is_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "r.json", '{"a": 1}')
    monkeypatch.setattr(files, "JSON_MAX_BYTES", 8)
    assert run(tmp_path, "r.json#/a").value == 1.0
    monkeypatch.setattr(files, "JSON_MAX_BYTES", 7)
    assert "is read whole" in fails(tmp_path, "r.json#/a")


# ---------------------------------------------------------------- JSON lines


def test_jsonl_reads_last_non_empty_line(tmp_path: Path) -> None:
    write(tmp_path, "m.jsonl", '{"accuracy": 0.1}\n{"accuracy": 0.9, "k": 9, "n": 10}\n\n \r\n\n')
    ev = run(tmp_path, "m.jsonl#/accuracy", "fraction")
    assert ev.value == 0.9
    assert ev.detail == "the last line of m.jsonl: /accuracy = 0.9"
    ev = run(tmp_path, "m.jsonl#/k/of/n", "fraction")
    assert (ev.value, ev.k, ev.n) == (0.9, 9, 10)
    write(tmp_path, "one.ndjson", '\ufeff{"a": 5}')
    assert run(tmp_path, "one.ndjson#/a").value == 5.0


def test_jsonl_is_read_from_the_end(tmp_path: Path) -> None:
    # Megabytes of invalid JSON before the last line: parsing them would fail.
    junk = ("not json at all " * 64 + "\n") * 4000
    last = '{"step": 9, "loss": 0.25}'
    path = write(tmp_path, "log.jsonl", junk + "{broken\n" + last + "\n\n")
    assert path.stat().st_size > 4_000_000
    tracemalloc.start()
    try:
        ev = run(tmp_path, "log.jsonl#/loss")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ev.value == 0.25
    assert peak < 3_000_000  # the file was hashed in chunks, not loaded
    assert ev.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_jsonl_long_last_line_spanning_chunks(tmp_path: Path) -> None:
    last = json.dumps({"pad": "y" * 300_000, "v": 7})
    write(tmp_path, "m.jsonl", '{"v": 1}\n' + last + "\n")
    assert run(tmp_path, "m.jsonl#/v").value == 7.0
    write(tmp_path, "only.jsonl", last)
    assert run(tmp_path, "only.jsonl#/v").value == 7.0


def test_jsonl_failures(tmp_path: Path) -> None:
    write(tmp_path, "empty.jsonl", "\n\n  \n")
    assert "empty.jsonl has no lines yet" in fails(tmp_path, "empty.jsonl#/a")
    write(tmp_path, "bad.jsonl", '{"a": 1}\n{"a": \n')
    assert "the last line of bad.jsonl is not valid JSON" in fails(tmp_path, "bad.jsonl#/a")
    write(tmp_path, "bytes.jsonl", b'{"a": 1}\n{"a": "\xff"}\n')
    assert "the last line of bytes.jsonl is not valid UTF-8" in fails(tmp_path, "bytes.jsonl#/a")
    write(tmp_path, "miss.jsonl", '{"a": 1}\n{"b": 2}\n')
    assert "no key 'a' at the document root in miss.jsonl" in fails(tmp_path, "miss.jsonl#/a")


# ---------------------------------------------------------------- CSV / TSV


def test_csv_column_with_filters(tmp_path: Path) -> None:
    write(tmp_path, "sweep.csv", SWEEP + "25,0.3,2\n")
    ev = run(tmp_path, "sweep.csv#cheese_rate[maze_size=25, seed=2]", "fraction")
    assert ev.value == 0.3
    assert ev.detail == "cheese_rate[maze_size=25, seed=2] = '0.3' at line 6"
    # Numeric comparison when both sides are numbers: 13 matches "13.0" and "1.3e1".
    assert run(tmp_path, "sweep.csv#cheese_rate[maze_size=13.0]").value == 0.61
    assert run(tmp_path, "sweep.csv#cheese_rate[maze_size=1.3e1]").value == 0.61
    assert (
        run(tmp_path, "sweep.csv#cheese_rate[maze_size=25, seed=1] > 0.5", "binary").value is False
    )


def test_csv_filter_string_and_number_cells(tmp_path: Path) -> None:
    write(tmp_path, "s.csv", "size,policy,rate\n25.0,greedy,0.5\n25,Greedy,0.7\n 7 , lazy ,0.9\n")
    assert run(tmp_path, "s.csv#rate[size=25, policy=greedy]").value == 0.5
    assert run(tmp_path, "s.csv#rate[policy=lazy]").value == 0.9  # cells are stripped
    assert run(tmp_path, "s.csv#rate[size=07]").value == 0.9
    assert "2 rows match size=25 in s.csv (lines 2, 3)" in fails(tmp_path, "s.csv#rate[size=25]")


def test_csv_row_selection_failures(tmp_path: Path) -> None:
    write(tmp_path, "sweep.csv", SWEEP + "25,0.3,2\n25,0.2,3\n")
    assert "no row matches maze_size=24 in sweep.csv" in fails(
        tmp_path, "sweep.csv#cheese_rate[maze_size=24]"
    )
    assert "3 rows match maze_size=25 in sweep.csv (lines 5, 6, 7)" in fails(
        tmp_path, "sweep.csv#cheese_rate[maze_size=25]"
    )
    message = fails(tmp_path, "sweep.csv#cheese[maze_size=25]")
    assert "no column 'cheese' in sweep.csv (columns: maze_size, cheese_rate, seed)" in message
    assert "no column 'size' in sweep.csv" in fails(tmp_path, "sweep.csv#cheese_rate[size=25]")
    assert "sweep.csv has 6 data rows; a column without a filter needs exactly one" in fails(
        tmp_path, "sweep.csv#cheese_rate"
    )


def test_csv_single_row_without_filter(tmp_path: Path) -> None:
    write(tmp_path, "one.csv", "acc,label\n\n0.93,top-right\n\n")
    assert run(tmp_path, "one.csv#acc").value == 0.93
    assert run(tmp_path, "one.csv#label", "categorical", categories=["top-right"]).value == (
        "top-right"
    )


@pytest.mark.parametrize(
    ("cell", "value"),
    [("true", True), ("Yes", True), ("1", True), ("1.0", True), ("FALSE", False), ("no", False)],
)
def test_csv_binary_strings(tmp_path: Path, cell: str, value: bool) -> None:
    write(tmp_path, "b.csv", f"ok\n{cell}\n")
    assert run(tmp_path, "b.csv#ok", "binary").value is value


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("abc", '"abc", not a number'),
        ("", "empty"),
        ("nan", "NaN"),
        ("NaN", "NaN"),
        ("-inf", "infinite"),
        ("1e999", "infinite"),
        ("1_000", '"1_000", not a number'),
    ],
)
def test_csv_non_numeric_cells(tmp_path: Path, cell: str, what: str) -> None:
    write(tmp_path, "s.csv", f"k,v\n1,{cell}\n")
    assert f"value at v (line 2) is {what} in s.csv" in fails(tmp_path, "s.csv#v[k=1]")


def test_csv_yes_no_failure(tmp_path: Path) -> None:
    write(tmp_path, "b.csv", "ok\nmaybe\n")
    assert '"maybe", not a yes/no' in fails(tmp_path, "b.csv#ok", "binary")


def test_csv_bom_and_tsv(tmp_path: Path) -> None:
    write(tmp_path, "bom.csv", b"\xef\xbb\xbfmaze_size,rate\r\n25,0.4\r\n")
    assert run(tmp_path, "bom.csv#rate[maze_size=25]").value == 0.4
    write(tmp_path, "s.tsv", "maze size\tcheese, rate\n25\t0.45\n")
    assert run(tmp_path, "s.tsv#cheese, rate[maze size=25]").value == 0.45
    write(tmp_path, "quoted.csv", 'name,v\n"a, b",1\n"c ""d""",2\n')
    assert run(tmp_path, 'quoted.csv#v[name=c "d"]').value == 2.0


def test_csv_structural_failures(tmp_path: Path) -> None:
    write(tmp_path, "empty.csv", "\n\n")
    assert "empty.csv is empty (no header row)" in fails(tmp_path, "empty.csv#a")
    write(tmp_path, "short.csv", "k,a,b\n1,2\n")
    assert "short.csv line 2 has 2 fields; column 'b' is field 3" in fails(
        tmp_path, "short.csv#b[k=1]"
    )
    write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n")
    assert "column 'a' appears 2 times in the header of dup.csv" in fails(tmp_path, "dup.csv#a")
    write(tmp_path, "bytes.csv", b"a,b\n1,2\n3,\xff\n")
    assert "bytes.csv is not valid UTF-8" in fails(tmp_path, "bytes.csv#b[a=3]")
    write(tmp_path, "wide.csv", 'a,b\n1,"' + "x" * 200_000 + '"\n')
    assert "wide.csv line" in fails(tmp_path, "wide.csv#b[a=1]")


def test_csv_is_streamed(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 97 / 97},{i % 7}\n" for i in range(300_000))
    path = write(tmp_path, "big.csv", "maze_size,cheese_rate,seed\n" + rows)
    assert path.stat().st_size > 5_000_000
    tracemalloc.start()
    try:
        ev = run(tmp_path, "big.csv#cheese_rate[maze_size=299999]")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ev.value == pytest.approx(299999 % 97 / 97)
    assert peak < 4_000_000
    assert (ev.sha256, ev.size) == sha256_file(path)


# ---------------------------------------------------------------- crossing


def sweep(tmp_path: Path, pairs: Sequence[tuple[float, float]], name: str = "sweep.csv") -> None:
    write(tmp_path, name, "maze_size,cheese_rate\n" + "".join(f"{x},{y}\n" for x, y in pairs))


CROSS = "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=0.5)"


def test_crossing_decreasing(tmp_path: Path) -> None:
    sweep(tmp_path, [(3, 0.9), (13, 0.61), (15, 0.42), (25, 0.1)])
    ev = run(tmp_path, CROSS, bounds=(3.0, 25.0))
    assert ev.value == pytest.approx(13 + 0.11 / 0.19 * 2)
    assert ev.detail == "crossed 0.5 between maze_size=13 (0.61) and 15 (0.42)"


def test_crossing_increasing_unsorted_and_first(tmp_path: Path) -> None:
    # Unsorted rows; y crosses up at 10..12, then back down at 20..22: the first one counts.
    sweep(tmp_path, [(22, 0.2), (10, 0.3), (3, 0.1), (12, 0.7), (20, 0.8)])
    assert run(tmp_path, CROSS).value == pytest.approx(11.0)
    assert run(tmp_path, CROSS + " < 11.5", "binary").value is True


def test_crossing_exact_hit_and_tsv(tmp_path: Path) -> None:
    sweep(tmp_path, [(3, 0.9), (5, 0.5), (7, 0.2)])
    ev = run(tmp_path, CROSS)
    assert ev.value == 5.0 and ev.detail == "cheese_rate equals 0.5 at maze_size=5"
    write(tmp_path, "s.tsv", "x\ty\n1\t0\n2\t1\n")
    assert run(tmp_path, "s.tsv#crossing(x=x, y=y, level=0.25)").value == 1.25


def test_crossing_failures(tmp_path: Path) -> None:
    sweep(tmp_path, [(3, 0.9), (13, 0.61), (25, 0.55)])
    message = fails(tmp_path, CROSS)
    assert message.startswith("y never crosses 0.5: cheese_rate stays above it")
    assert "sweep.csv" in message
    sweep(tmp_path, [(3, 0.9), (13, 0.6), (13.0, 0.4)])
    assert "duplicate maze_size=13 at lines 3 and 4 in sweep.csv" in fails(tmp_path, CROSS)
    sweep(tmp_path, [(3, 0.9)])
    assert "crossing needs at least 2 rows, sweep.csv has 1" in fails(tmp_path, CROSS)
    write(tmp_path, "sweep.csv", "maze_size,cheese_rate\n3,0.9\nbig,0.1\n")
    assert 'value at maze_size (line 3) is "big", not a number in sweep.csv' in fails(
        tmp_path, CROSS
    )
    assert "no column 'rate' in sweep.csv" in fails(
        tmp_path, "sweep.csv#crossing(x=maze_size, y=rate, level=0.5)"
    )


def test_crossing_with_filters(tmp_path: Path) -> None:
    write(tmp_path, "s.csv", "seed,x,y\n1,0,0\n1,10,1\n2,0,0\n2,10,0.25\n")
    assert run(tmp_path, "s.csv#crossing(x=x, y=y, level=0.5)[seed=1]").value == 5.0
    message = fails(tmp_path, "s.csv#crossing(x=x, y=y, level=0.5)[seed=2]")
    assert "never crosses 0.5" in message
    assert "duplicate x=0" in fails(tmp_path, "s.csv#crossing(x=x, y=y, level=0.5)")


def noisy_sweep() -> list[tuple[float, float]]:
    """A decreasing logistic with true midpoint 14, plus fixed-seed noise."""
    rng = random.Random(19)
    points = []
    for i in range(45):
        x = 3 + i / 2
        y = 1 / (1 + math.exp(0.6 * (x - 14))) + rng.gauss(0, 0.2)
        points.append((x, round(min(1.0, max(0.0, y)), 3)))
    return points


def test_crossing_logistic_is_robust_to_noise(tmp_path: Path) -> None:
    sweep(tmp_path, noisy_sweep())
    linear = run(tmp_path, CROSS).value
    ev = run(tmp_path, CROSS.replace("level=0.5", "level=0.5, fit=logistic"))
    assert isinstance(linear, float) and isinstance(ev.value, float)
    assert linear < 10  # a noise dip makes the linear method cross early
    assert ev.value == pytest.approx(14, abs=0.75)
    assert "midpoint x0=" in ev.detail and "slope=-" in ev.detail


def test_crossing_logistic_four_parameters(tmp_path: Path) -> None:
    pairs = [(x, 10 + 20 / (1 + math.exp(-0.8 * (x - 12)))) for x in range(2, 23)]
    sweep(tmp_path, pairs)
    ev = run(tmp_path, "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=20, fit=logistic)")
    assert ev.value == pytest.approx(12, abs=1e-3)
    assert "lower=10" in ev.detail and "upper=30" in ev.detail
    message = fails(
        tmp_path, "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=35, fit=logistic)"
    )
    assert "the fitted logistic curve" in message and "never reaches 35" in message


def test_crossing_logistic_four_parameters_decreasing(tmp_path: Path) -> None:
    rng = random.Random(3)
    pairs = [
        (x, 80 - 60 / (1 + math.exp(-0.5 * (x - 40))) + rng.gauss(0, 2)) for x in range(20, 61)
    ]
    sweep(tmp_path, pairs)
    ev = run(tmp_path, "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=50, fit=logistic)")
    assert ev.value == pytest.approx(40, abs=1.0)
    lower = float(ev.detail.split("lower=")[1].split(",")[0])
    upper = float(ev.detail.split("upper=")[1].split(";")[0])
    assert lower == pytest.approx(20, abs=3) and upper == pytest.approx(80, abs=3)
    assert "slope=-" in ev.detail


def test_crossing_logistic_failures(tmp_path: Path) -> None:
    logistic = CROSS.replace("level=0.5", "level=0.5, fit=logistic")
    # y rises but stays below 0.5: the fitted curve crosses beyond the data.
    sweep(tmp_path, [(x, 1 / (1 + math.exp(-0.3 * (x - 30)))) for x in range(3, 20)])
    message = fails(tmp_path, logistic)
    assert "outside the data range 3..19 in sweep.csv" in message
    sweep(tmp_path, [(1, 0.2), (2, 0.8)])
    assert "a logistic fit needs at least 3 rows" in fails(tmp_path, logistic)
    sweep(tmp_path, [(1, 0.2), (2, 0.8), (3, 0.9)])
    assert "never reaches 1" in fails(tmp_path, logistic.replace("level=0.5", "level=1"))


# ---------------------------------------------------------------- files


def test_missing_file_is_pending(tmp_path: Path) -> None:
    with pytest.raises(RulePending) as info:
        run(tmp_path, "out/results.json#/a")
    assert "out/results.json does not exist yet" in info.value.reason
    assert not isinstance(info.value, RuleError)


def test_relative_parent_and_absolute_paths(tmp_path: Path) -> None:
    write(tmp_path, "runs/r.json", '{"a": 4}')
    (tmp_path / "prereg").mkdir()
    ev = run(tmp_path / "prereg", "../runs/r.json#/a", allow_outside=True)
    assert ev.value == 4.0 and ev.artifact == str((tmp_path / "runs/r.json").resolve())
    ev = evaluate_rule(parse_rule(f"{tmp_path}/runs/r.json#/a"), Path("/"), "quantity")
    assert ev.value == 4.0


def test_directory_and_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "results.json").mkdir()
    assert "results.json is a directory, not a file" in fails(tmp_path, "results.json#/a")
    write(tmp_path, "r.json", "{}")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files, "open", denied, raising=False)
    assert "cannot read r.json: permission denied" in fails(tmp_path, "r.json#/a")


def test_fifo_and_symlinks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    assert "pipe.json is not a regular file" in fails(tmp_path, "pipe.json#/a")
    real = write(tmp_path, "run42/results.json", '{"a": 1}')
    (tmp_path / "latest").symlink_to(tmp_path / "run42")
    ev = run(tmp_path, "latest/results.json#/a")
    assert ev.artifact == str(real.resolve())  # the file actually read, for a later verify
    (tmp_path / "loop.json").symlink_to(tmp_path / "loop.json")
    assert "loop.json" in fails(tmp_path, "loop.json#/a")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", "{}")
    path.chmod(0)
    assert "permission denied" in fails(tmp_path, "r.json#/a")


def test_file_changed_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "r.json", '{"a": 1}')
    select = evaluate._select

    def select_then_append(rule: Rule, ctx: object, records: object) -> object:
        got = select(rule, ctx, records)  # type: ignore[arg-type]
        with open(path, "a") as f:
            f.write("\n")
        return got

    monkeypatch.setattr(evaluate, "_select", select_then_append)
    assert "r.json changed while it was being read" in fails(tmp_path, "r.json#/a")


def test_evaluation_describes_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "sweep.csv", SWEEP)
    ev = run(tmp_path, CROSS, bounds=(3.0, 25.0))
    data = path.read_bytes()
    assert ev.sha256 == hashlib.sha256(data).hexdigest()
    assert ev.size == len(data)
    assert ev.artifact == str(path.resolve())
    assert ev.mtime.tzinfo is not None and ev.mtime.utcoffset() == UTC.utcoffset(None)
    expected = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    assert abs((ev.mtime - expected).total_seconds()) < 1e-3


def test_sha256_file_streams_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * files.CHUNK + 17)
    path = write(tmp_path, "blob.bin", data)
    assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), len(data))
    assert sha256_file(write(tmp_path, "empty", b"")) == (hashlib.sha256(b"").hexdigest(), 0)
