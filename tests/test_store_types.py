"""The stored forms' shortcuts give what the standard library gives."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from predtrack.store.types import parse_json

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
SPACE = st.sampled_from(["", " ", "\n", "\t ", "x", "]", ",1"])


@given(JSON, SPACE, SPACE, st.booleans())
@example(None, "", "", False)
@example(1.5, "", "x", False)
@example([1], " ", "", True)
def test_parse_json_is_json_loads(value: object, before: str, after: str, compact: bool) -> None:
    text = json.dumps(value, separators=(",", ":") if compact else None)
    text = (before if before.isspace() else "") + text + after
    try:
        expected = json.loads(text)
    except json.JSONDecodeError as error:
        with pytest.raises(json.JSONDecodeError) as raised:
            parse_json(text)
        assert str(raised.value) == str(error)
        return
    # compared as JSON text: NaN is not equal to itself
    assert json.dumps(parse_json(text)) == json.dumps(expected)


@pytest.mark.parametrize("text", ["", " ", "nul", "[1,", '{"a" 1}', "1 2"])
def test_parse_json_refuses_what_json_loads_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_json(text)
