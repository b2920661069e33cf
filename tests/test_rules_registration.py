"""Rule grammar of records and the checks made when a prediction is registered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predtrack.errors import RuleSyntaxError
from predtrack.rules import (
    Aggregate,
    Column,
    Comparison,
    Crossing,
    Filter,
    Fraction,
    Pick,
    Pointer,
    Rule,
    Select,
    check_rule,
    parse_rule,
)


def test_import_is_light() -> None:
    code = (
        "import sys, predtrack.rules as r; "
        "r.check_rule(r.parse_rule('runs/*/m.json#crossing(x=m, y=mean(/s), level=0.5)'), 'quantity'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'yaml'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "selector"),
    [
        (
            "multirun/sweep/*/metrics.json#mean(/success, runs=8)[m=32]",
            Aggregate("mean", Pointer(("success",)), 8, (Filter("m", "32"),)),
        ),
        (
            "runs/*/result.json#fraction(/solved)",
            Fraction(Pointer(("solved",))),
        ),
        (
            "runs/*/r.json#fraction(/acc >= 0.9, runs=3)[lr!=0.1]",
            Fraction(Pointer(("acc",)), Comparison(">=", 0.9), 3, (Filter("lr", "0.1", "!="),)),
        ),
        (
            "logs/train.jsonl#/test_acc@argmax(/val_acc)",
            Select(Pick(Pointer(("test_acc",)), "argmax", other=Pointer(("val_acc",)))),
        ),
        ("logs/train.jsonl#/loss[step=100]", Select(Pointer(("loss",)), (Filter("step", "100"),))),
        ("logs/t.jsonl#/loss@step=100", Select(Pick(Pointer(("loss",)), "step", 100.0))),
        (
            "logs/t.jsonl#/loss@min[step>10]",
            Select(Pick(Pointer(("loss",)), "min"), (Filter("step", "10", ">"),)),
        ),
        (
            "logs/runs.csv#max(rel_error)[m=48]",
            Aggregate("max", "rel_error", None, (Filter("m", "48"),)),
        ),
        (
            "runs/*/m.json#crossing(x=m, y=mean(/success), level=0.5)",
            Crossing("m", Aggregate("mean", Pointer(("success",))), 0.5),
        ),
        (
            'r.csv#last("results.mmlu.acc,none")[model="a b"]',
            Aggregate("last", "results.mmlu.acc,none", None, (Filter("model", "a b"),)),
        ),
        ('r.csv#"cheese, rate"', Column("cheese, rate")),
        ('r.json#"/a b/c(d)"', Pointer(("a b", "c(d)"))),
        (
            "r.csv#rate[seed<=3, seed>0]",
            Column("rate", (Filter("seed", "3", "<="), Filter("seed", "0", ">"))),
        ),
    ],
)
def test_parse_record_selectors(text: str, selector: object) -> None:
    rule = parse_rule(text)
    assert rule.selector == selector
    assert parse_rule(str(rule)) == rule


def test_schemes_and_canonical_text() -> None:
    rule = parse_rule("mlflow:mlruns#mean(cheese_rate@max, runs=5)[experiment=cheese-maze]")
    assert (rule.scheme, rule.file, rule.format) == ("mlflow", "mlruns", "mlflow")
    assert str(rule) == "mlflow:mlruns#mean(cheese_rate@max, runs=5)[experiment=cheese-maze]"
    assert parse_rule("a:b.json#/x").file == "a:b.json"  # not a scheme: a file name
    assert parse_rule("multirun/*/m.json#/a[seed=1]").is_glob


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # what issue 10 lists: each refused when the prediction is made
        ("results.json#/a[b=1]", "one JSON document"),
        ("results.json#/loss@step=100", "needs a series"),
        ("runs/*/m.json#/loss@step=100[seed=1]", "needs a series"),
        ("runs/*/m.json#/acc", "matches many files"),
        ("runs/*/log.jsonl#/acc@max", "matches many files"),
        ("runs/*/m.json#mean(/s, runs=0)", "runs=N needs N of at least 1"),
        ("runs/*/m.json#avg(/s)", "'avg' is not an aggregate"),
        ("runs/*/m.json#mean(/s, runs=2.5)", "not a whole number"),
        ("runs/*/m.json#mean(/s, seeds=2)", "unknown argument 'seeds=2'"),
        ("runs/*/m.json#mean(/s, runs=2, runs=3)", "runs given twice"),
        ("results.json#mean(/s)", "one JSON document"),
        ("results.json#fraction(/s)", "one JSON document"),
        ("r.jsonl#mean(loss)", "is a name, but r.jsonl holds JSON"),
        ("r.csv#mean(/loss)", "JSON pointer needs a .json/.jsonl file"),
        ("r.csv#rate[/a=1]", "JSON pointer needs a .json/.jsonl file"),
        ("r.jsonl#/a@median", "unknown series pick '@median'"),
        ("r.jsonl#/a@step", "@step needs =NUMBER"),
        ("r.jsonl#/a@argmax", "needs the value to optimise"),
        ("r.jsonl#/a[step>10]@min", "put the series pick before the filters"),
        ("r.jsonl#mean(/a[step=1])", "filters go after the parentheses"),
        ("r.csv#rate[seed>high]", "compares numbers"),
        ("r.csv#rate[seed=1, seed>2]", "given twice"),
        ('r.csv#rate[name="a]', "unterminated quoted name"),
        ("mlflow:runs/*#x", "cannot hold wildcards"),
        ("mlflow:#x", "empty path after 'mlflow:'"),
        ("mlfow:mlruns#x", "unknown file type 'mlfow:mlruns'"),
        ("runs/x\x00.json#/a", "NUL byte"),
        ("r.csv#crossing(x=m, y=avg(e), level=1)", "'avg' is not an aggregate"),
        ("r.csv#crossing(x=m, y=mean(e)[s=1], level=1)", "filters go after crossing"),
    ],
)
def test_registration_refuses_what_cannot_work(text: str, problem: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(text)
    assert problem in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "kind", "ok"),
    [
        ("r.csv#mean(x)", "quantity", True),
        ("r.csv#mean(x)", "fraction", True),
        ("r.csv#mean(x)", "binary", False),
        ("r.csv#mean(x) > 1", "binary", True),
        ("r.csv#max(ok)", "binary", True),
        ("r.csv#count(x)", "fraction", False),
        ("r.csv#std(x)", "quantity", True),
        ("r.csv#last(label)", "categorical", True),
        ("r.csv#mean(x)", "categorical", False),
        ("r.csv#fraction(ok)", "fraction", True),
        ("r.csv#fraction(ok)", "quantity", False),
        ("r.csv#fraction(x > 1) > 0.5", "binary", True),
        ("r.jsonl#/x@max", "binary", True),
        ("r.jsonl#/label@last", "categorical", True),
        ("r.jsonl#/x@max", "categorical", False),
    ],
)
def test_kinds_of_record_selectors(text: str, kind: str, ok: bool) -> None:
    rule = parse_rule(text)
    if ok:
        check_rule(rule, kind, ["a"] if kind == "categorical" else None)
    else:
        with pytest.raises(RuleSyntaxError, match=f"cannot resolve a {kind} question"):
            check_rule(rule, kind)


def test_check_rule_reads_an_existing_table_header(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(RuleSyntaxError, match="@step=N reads the records' 'step' field"):
        check_rule(parse_rule("train.csv#loss@step=3"), "quantity", base_dir=tmp_path)
    (tmp_path / "steps.csv").write_text("step,loss\n1,0.5\n")
    check_rule(parse_rule("steps.csv#loss@step=3"), "quantity", base_dir=tmp_path)
    check_rule(parse_rule("later.csv#loss@step=3"), "quantity", base_dir=tmp_path)  # not yet
    (tmp_path / "d.json").mkdir()
    with pytest.raises(RuleSyntaxError, match="is a directory"):
        check_rule(parse_rule("d.json#/a"), "quantity", base_dir=tmp_path)


# ---------------------------------------------------------------- canonical text, generated

_name = st.text(alphabet='abcXYZ019_-.é ,()[]@"<>=!', min_size=1, max_size=8).filter(
    lambda s: not s.startswith("/") and s.strip() == s and s != ""
)
_pointer = st.lists(st.text(alphabet='abc/~ ,[]()@"=é', max_size=5), min_size=1, max_size=3).map(
    lambda ts: Pointer(tuple(ts))
)
_num = st.floats(allow_nan=False, allow_infinity=False)
_text_value = st.text(alphabet='abc 019.,[]"=<é', max_size=6)
_filters = st.lists(
    st.one_of(
        st.builds(Filter, _name, _text_value, st.sampled_from(["=", "!="])),
        st.builds(Filter, _name, _num.map(repr), st.sampled_from(["<", ">", "<=", ">="])),
    ),
    max_size=3,
    unique_by=lambda f: f.column,
).map(tuple)


def _picks(value: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        value,
        st.builds(Pick, value, st.sampled_from(["last", "first", "max", "min"])),
        st.builds(Pick, value, st.just("step"), _num),
        st.builds(
            lambda v, o, h: Pick(v, h, other=o), value, value, st.sampled_from(["argmax", "argmin"])
        ),
    )


_json_items = _picks(_pointer)
_csv_items = _picks(_name)
_aggs = st.sampled_from(["mean", "median", "min", "max", "sum", "std", "count", "first", "last"])
_runs = st.none() | st.integers(1, 99)
_cmp = st.none() | st.builds(Comparison, st.sampled_from([">", "<", ">=", "<=", "==", "!="]), _num)


def _selectors(
    items: st.SearchStrategy[object], names: st.SearchStrategy[object]
) -> st.SearchStrategy[object]:
    agg = st.builds(Aggregate, _aggs, items, _runs, _filters)
    frac = st.builds(Fraction, items, _cmp, _runs, _filters)
    inner = st.builds(Aggregate, _aggs, items, _runs) | st.builds(Fraction, items, _cmp, _runs)
    cross = st.builds(
        Crossing, names, inner | items, _num, st.sampled_from(["linear", "logistic"]), _filters
    ).filter(lambda c: c.x != c.y)
    return agg | frac | cross


@settings(max_examples=400, deadline=None)
@given(
    st.builds(Rule, st.just("runs/*/m.jsonl"), _selectors(_json_items, _name | _pointer), _cmp)
    | st.builds(Rule, st.just("runs/*/t.csv"), _selectors(_csv_items, _name), _cmp)
)
def test_canonical_text_of_record_selectors_parses_back(rule: Rule) -> None:
    assert parse_rule(str(rule)) == rule


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet='r.jsonl#/ab@maxstep=1()[]<>=!,"meanfractioncrossingxylevel0.5runs ', max_size=60
    )
)
def test_near_valid_record_selectors_never_crash(text: str) -> None:
    try:
        rule = parse_rule("r.jsonl#" + text)
    except RuleSyntaxError as e:
        assert json.dumps("r.jsonl#" + text)[:40].rstrip('"') in str(e)
        return
    assert parse_rule(str(rule)) == rule
