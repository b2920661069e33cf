"""`--json` output: the streamed document is exactly `json.dumps(indent=2)`, written in pieces."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from predtrack.output import Result, json_chunks, to_json
from predtrack.predict import Registered, _Recorded

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text()  # newlines, quotes, non-ASCII
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=40,
)


def spelled(value: Any) -> Any:
    """What `--json` promises for non-finite numbers: "inf", "-inf", null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: spelled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [spelled(v) for v in value]
    return value


def reference(value: Any) -> str:
    return json.dumps(spelled(value), indent=2, ensure_ascii=False, allow_nan=False)


@given(values)
def test_streamed_text_is_json_dumps_with_indent(value: Any) -> None:
    assert to_json(value) == reference(value)


small = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        small | st.dictionaries(st.text(max_size=3), small, max_size=3), min_size=1, max_size=4
    ),
    st.integers(990, 2100),
)
def test_lists_past_one_batch_are_the_same_text(sample: list[Any], size: int) -> None:
    items = (sample * size)[:size]  # batch boundaries at 1000 and 2000
    document = {"a": {"b": items}, "c": [items[:3], items]}
    assert to_json(document) == reference(document)


def test_non_finite_numbers_past_the_first_batch_and_numpy_values() -> None:
    document = {"x": [1.5] * 1500 + [math.inf, -math.inf, math.nan], 2: np.float32(0.5)}
    document["y"] = {"arr": np.array([1.0, math.inf]), "n": np.int64(3), "b": np.bool_(True)}
    text = to_json(document)
    assert json.loads(text) == {
        "x": [1.5] * 1500 + ["inf", "-inf", None],
        "2": 0.5,
        "y": {"arr": [1.0, "inf"], "n": 3, "b": True},
    }
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert json.loads(to_json({"t": when})) == {"t": "2026-03-01T12:00:00.000000Z"}


@dataclass
class Item(Result):
    n: int
    p: float


class Counted(Sequence[Item]):
    """A lazy sequence that records how far it has been read."""

    def __init__(self, size: int) -> None:
        self.size, self.read = size, 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: Any) -> Any:
        if not 0 <= index < self.size:
            raise IndexError(index)
        self.read = max(self.read, index + 1)
        return Item(index, index / 2)


@dataclass
class Lazy(Result):
    items: Sequence[Item]

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items]}

    def json_dict(self) -> dict[str, Any]:
        return {"items": self.items}


def test_a_long_list_is_read_a_batch_at_a_time() -> None:
    items = Counted(10_000)
    chunks = json_chunks(Lazy(items))
    printed, ahead = 0, []
    for chunk in chunks:
        printed += chunk.count('"n":')
        ahead.append(items.read - printed)
    assert max(ahead) <= 1000  # never more than one batch made ahead of the text
    assert items.read == 10_000
    assert "".join(json_chunks(Lazy(Counted(2500)))) == reference(Lazy(Counted(2500)).as_dict())


def test_a_bulk_write_prints_its_predictions_without_making_them_all() -> None:
    rows = [
        (i, i // 2, "ann", None, "0.5", {"family": "bernoulli", "p": 0.5}, None, False, None)
        for i in range(3000)
    ]
    recorded = _Recorded(rows, {q: (f"e/q{q}", "binary") for q in range(1500)})
    result = Registered(seq=7, head="7:ab", predictions=recorded)
    assert result.json_dict()["predictions"] is recorded
    assert json.loads(to_json(result)) == result.as_dict()
    assert result.as_dict()["predictions"][2999]["id"] == 2999
