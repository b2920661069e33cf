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
