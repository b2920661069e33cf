"""The shortcuts a 10k-question resolve takes give what the general code gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from predtrack.errors import RuleSyntaxError
from predtrack.rules import check, evaluate_rule, grammar, nodes, parse_rule
from predtrack.rules.files import Reader

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)


@given(SCALARS)
def test_short_writes_what_json_writes(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert nodes.short(value) == (text if len(text) <= 60 else text[:57] + "...")


@given(st.text(max_size=12))
def test_quoting_follows_the_old_test(text: str) -> None:
    old_needs = bool(
        re.search(r'[,\[\]()@"<>=!\s]|^$', text) or any(ord(c) < 32 or ord(c) == 127 for c in text)
    )
    quoted = nodes._quote_if_needed(text)
    assert quoted == (json.dumps(text, ensure_ascii=False) if old_needs else text)


def test_structure_is_checked_once_per_rule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "m.json").write_text('{"acc": 0.9}')
    calls: list[str] = []
    real = check._find_structure_problem

    def counted(rule: nodes.Rule) -> str | None:
        calls.append(rule.file)
        return real(rule)

    monkeypatch.setattr(check, "_find_structure_problem", counted)
    rule = parse_rule("m.json#/acc > 0.5")
    assert evaluate_rule(rule, tmp_path, "binary").value is True
    assert calls == ["m.json"]


def test_a_rule_not_from_parse_rule_is_still_checked(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"acc": 0.9}')
    rule = grammar.parse("m.json#mean(/acc)")  # an aggregate over one JSON document
    with pytest.raises(RuleSyntaxError, match="aggregates many records"):
        evaluate_rule(rule, tmp_path, "quantity")
    with pytest.raises(RuleSyntaxError, match="aggregates many records"):
        evaluate_rule(rule, tmp_path, "quantity")  # the kept answer, the same refusal


def test_inside_is_kept_per_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    target = tmp_path / "a" / "x.json"
    memo: dict[object, object] = {}
    assert Reader(tmp_path / "a", memo=memo).inside(target)
    assert not Reader(tmp_path / "b", memo=memo).inside(target)  # one memo, two folders
    assert Reader(tmp_path / "a", memo=memo).inside(target)


def _general_selector(sel: str) -> object:
    """The selector as the general path parses it (the plain-pointer shortcut turned off)."""
    saved = grammar._PLAIN_POINTER_RE
    grammar._PLAIN_POINTER_RE = re.compile(r"(?!)")  # matches nothing
    try:
        return grammar._selector(sel)
    finally:
        grammar._PLAIN_POINTER_RE = saved


TOKENS = st.text(alphabet='ab_.-0of~/ [@]="', min_size=0, max_size=6)


@given(st.lists(st.one_of(TOKENS, st.sampled_from(["of", "k", "n", "x.y", "-"])), max_size=5))
def test_plain_pointers_parse_as_the_general_path_parses_them(tokens: list[str]) -> None:
    sel = "".join("/" + t for t in tokens)
    try:
        expected: object = _general_selector(sel)
    except grammar._Bad as e:
        expected = ("refused", str(e))
    try:
        got: object = grammar._selector(sel)
    except grammar._Bad as e:
        got = ("refused", str(e))
    assert got == expected


def test_the_shortcut_takes_plain_pointers_and_counts() -> None:
    assert grammar._PLAIN_POINTER_RE.fullmatch("/q4/k/of/q4/n")
    assert grammar._selector("/q4/k/of/q4/n") == nodes.Counts(
        nodes.Pointer(("q4", "k")), nodes.Pointer(("q4", "n"))
    )
    rule = parse_rule("results/part-0000.json#/q0 >= 0.5")
    assert rule == grammar.parse("results/part-0000.json#/q0>=0.5")
    assert rule.selector == nodes.Pointer(("q0",)) and rule.text.endswith(">= 0.5")
    for general in ("/a b", "/a~1b", "/a@max", "/a[seed=1]", "/a//b", '/"a"'):
        assert not grammar._PLAIN_POINTER_RE.fullmatch(general)
