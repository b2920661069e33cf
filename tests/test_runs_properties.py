"""Properties: aggregates over random records equal numpy's; grouped crossings equal a plain computation."""

from __future__ import annotations

import itertools
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predtrack.errors import RuleError
from predtrack.rules import evaluate_rule, parse_rule

_values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)
NUMPY = {
    "mean": np.mean,
    "median": np.median,
    "min": np.min,
    "max": np.max,
    "sum": np.sum,
    "std": lambda v: np.std(v, ddof=1),
    "count": len,
}


@settings(max_examples=150, deadline=None)
@given(_values, st.sampled_from(sorted(NUMPY)), st.booleans(), st.data())
def test_aggregates_equal_numpy(
    values: list[float], func: str, as_csv: bool, data: st.DataObject
) -> None:
    if func == "std" and len(values) < 2:
        values = [*values, 0.0]
    # A random filter keeps some records and drops others; numpy sees the kept values.
    groups = data.draw(st.lists(st.integers(0, 2), min_size=len(values), max_size=len(values)))
    kept = [v for v, g in zip(values, groups, strict=True) if g != 1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if as_csv:
            rows = "".join(f"{g},{v!r}\n" for v, g in zip(values, groups, strict=True))
            (root / "r.csv").write_text("g,v\n" + rows)
            rule = f"r.csv#{func}(v)[g!=1]"
        else:
            text = "".join(
                json.dumps({"g": g, "v": v}) + "\n" for v, g in zip(values, groups, strict=True)
            )
            (root / "r.jsonl").write_text(text)
            rule = f"r.jsonl#{func}(/v)[g!=1]"
        if not kept or (func == "std" and len(kept) < 2):
            with pytest.raises(RuleError):
                evaluate_rule(parse_rule(rule), root, "quantity")
            return
        got = evaluate_rule(parse_rule(rule), root, "quantity").value
    assert got == pytest.approx(float(NUMPY[func](np.array(kept))), rel=1e-9, abs=1e-6)


def plain_crossing(groups: dict[int, list[float]], level: float) -> float | None:
    """The first crossing of the per-group means (math.fsum, as the rules), computed directly."""
    pts = sorted((x, math.fsum(ys) / len(ys)) for x, ys in groups.items())
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        if y1 == level:
            return x1
        if (y1 < level < y2) or (y1 > level > y2):
            return x1 + (level - y1) * (x2 - x1) / (y2 - y1)
    return pts[-1][0] if pts[-1][1] == level else None


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 100),
        st.lists(st.integers(0, 10).map(lambda k: k / 10), min_size=1, max_size=5),
        min_size=2,
        max_size=8,
    ),
    st.integers(1, 9).map(lambda k: k / 10),
    st.booleans(),
)
def test_grouped_crossing_equals_per_group_computation(
    groups: dict[int, list[float]], level: float, glob: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if glob:  # one run folder per record, its x a Hydra override
            for x, ys in groups.items():
                for seed, y in enumerate(ys):
                    job = root / "sweep" / f"x{x}_s{seed}"
                    (job / ".hydra").mkdir(parents=True)
                    (job / ".hydra" / "overrides.yaml").write_text(f"- x={x}\n- seed={seed}\n")
                    (job / "m.json").write_text(json.dumps({"y": y}))
            rule = f"sweep/*/m.json#crossing(x=x, y=mean(/y), level={level})"
        else:
            rows = "".join(f"{x},{s},{y}\n" for x, ys in groups.items() for s, y in enumerate(ys))
            (root / "s.csv").write_text("x,seed,y\n" + rows)
            rule = f"s.csv#crossing(x=x, y=mean(y), level={level})"
        expected = plain_crossing(groups, level)
        if expected is None:
            with pytest.raises(RuleError, match="never crosses"):
                evaluate_rule(parse_rule(rule), root, "quantity")
            return
        got = evaluate_rule(parse_rule(rule), root, "quantity").value
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


_history = st.lists(
    st.tuples(
        st.integers(-3, 6),  # few steps: a step logged again after a restart
        st.sampled_from([1.7e9, 1.7e9 + 1, 1.7e9 + 2]),
        st.one_of(st.floats(-10, 10), st.sampled_from([0.0, 1.0, math.nan])),
    ),
    min_size=1,
    max_size=30,
)
_picks = st.sampled_from(
    ["@last", "@first", "@max", "@min", "@step=2", "@step=2.5", "@argmax(b)", "@argmin(b)"]
)


@settings(max_examples=300, deadline=None)
@given(a=_history, b=_history, pick=_picks)
def test_compact_series_picks_equal_the_plain_ones(
    a: list[tuple[int, float, float]], b: list[tuple[int, float, float]], pick: str
) -> None:
    # A TensorBoard history (a compact Series) and the same points as a list must give the
    # same pick, time and error.
    from predtrack.rules.access import Context
    from predtrack.rules.base import Chunk, Point, Run, Series
    from predtrack.rules.nodes import Pick, Select
    from predtrack.rules.select import _series_pick
    from predtrack.rules.sources.tensorboard import TensorboardSource

    def compact(points: list[tuple[int, float, float]]) -> Series:
        s = Series()
        for step, t, v in points:
            s.steps.append(step)
            s.times.append(t)
            s.values.append(v)
        return s

    select = parse_rule(f"tensorboard:tb#a{pick}").selector
    assert isinstance(select, Select) and isinstance(select.value, Pick)
    node = select.value
    ctx = Context(TensorboardSource, "tb", False)
    outcomes = []
    for series in (
        {"a": compact(a), "b": compact(b)},
        {"a": [Point(*p) for p in a], "b": [Point(*p) for p in b]},
    ):
        chunk = Chunk.one(Run("r", "run r", series=series), {"a": a[-1][2]}, time=None)
        try:
            u = _series_pick(ctx, chunk, 0, node)
            outcomes.append((u.value, u.time, u.earliest))
        except RuleError as e:
            outcomes.append(str(e))
    got, plain = outcomes
    if isinstance(got, tuple) and isinstance(plain, tuple) and math.isnan(got[0]):
        assert math.isnan(plain[0]) and got[1:] == plain[1:]
    else:
        assert got == plain
