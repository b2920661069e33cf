"""The fast paths of `verify`'s checks agree with the column-by-column checks they skip."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from predtrack.store.checks import _FAST, _PLANS, Checker, _valid
from predtrack.store.replay import SeqIndex
from predtrack.store.tables import DOMAIN

TIMES = ["2026-01-01T00:00:00.000000Z", "2026-02-30T00:00:00.000000Z", "2026-01-01T00:00:00Z"]
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**63 + 5),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["a\x00b", "x" * 201, "x" * 200, *TIMES]),
    st.lists(st.integers(), max_size=2),
)


def _slow(table: str, row: dict[str, Any]) -> bool:
    return all(
        _valid(c.kind, row.get(c.name), c.nullable, limit, low, top)
        for c, limit, low, top in _PLANS[table]
    )


@settings(max_examples=300, deadline=None)
@given(table=st.sampled_from(sorted(DOMAIN)), data=st.data())
def test_the_generated_row_check_is_the_column_check(table: str, data: st.DataObject) -> None:
    names = list(DOMAIN[table].names)
    row = {name: data.draw(values, label=name) for name in names}
    # A row that passes, for each column in turn given another value.
    good = _good_row(table)
    assert _FAST[table](good, set()) and _slow(table, good)
    for name in names:
        changed = {**good, name: row[name]}
        times: set[str] = set()
        assert _FAST[table](changed, times) == _slow(table, changed), (name, row[name])
        assert _FAST[table](changed, times) == _slow(table, changed)  # times remembered
    assert _FAST[table](row, set()) == _slow(table, row)


def _good_row(table: str) -> dict[str, Any]:
    from predtrack.store.tables import BOOL, INT, REAL, TEXT, TIME

    sample = {INT: 1, REAL: 0.5, BOOL: False, TEXT: "ok", TIME: TIMES[0]}
    return {c.name: sample.get(c.kind, {}) for c in DOMAIN[table].columns}


def test_times_checked_are_remembered_and_bounded() -> None:
    from predtrack.store import checks

    times: set[str] = set()
    row = _good_row("anchors")
    for i in range(checks._TIMES_KEPT + 10):
        row["created_at"] = f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z"
        assert _FAST["anchors"](row, times)
        assert len(times) <= checks._TIMES_KEPT
    row["created_at"] = "2026-13-01T00:00:00.000000Z"
    assert not _FAST["anchors"](row, times)
    assert "2026-13-01T00:00:00.000000Z" not in times


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 30), st.integers(1, 4))))
def test_insert_is_contains_then_add(steps: list[tuple[str, int, int]]) -> None:
    fast, slow = SeqIndex(), SeqIndex()
    for table, row_id, seq in steps:
        was = (table, row_id) in slow
        slow.add(table, row_id, seq)
        assert fast.insert(table, row_id, seq) is (not was)
    for table in "ab":
        for row_id in range(32):
            assert fast.get((table, row_id)) == slow.get((table, row_id))


def test_a_bad_row_after_good_ones_is_still_named() -> None:
    """The fast path passes the good rows; a bad one still gets its column's message."""
    from predtrack.store.checks import Bad

    at = TIMES[0]
    checker = Checker()
    experiment = {**_good_row("experiments"), "id": 1, "name": "e", "created_by": "ann"}
    experiment.update(description=None, locked_at=None, lock_reason=None)
    question = {**_good_row("questions"), "id": 1, "experiment_id": 1, "kind": "binary"}
    question.update({k: None for k in ("key", "unit", "note", "rule", "if_run_fails",
                                        "lower", "upper", "categories")}, tags=[])  # fmt: skip
    checker.entry(
        {"kind": "register", "at": at, "by": "ann",
         "insert": {"experiments": [experiment], "questions": [question]}}
    )  # fmt: skip
    prediction = {
        **{k: None for k in DOMAIN["predictions"].names}, "question_id": 1, "forecaster": "bo",
        "made_at": at, "forecast": "0.3", "distribution": {"family": "bernoulli", "p": 0.3},
        "late": False,
    }  # fmt: skip
    rows = [{**prediction, "id": i} for i in (1, 2)] + [{**prediction, "id": 3, "late": 0}]
    try:
        checker.entry({"kind": "register", "at": at, "by": "bo", "insert": {"predictions": rows}})
    except Bad as bad:
        assert (bad.table, bad.field) == ("predictions", "late")
        assert "true or false" in bad.message
    else:
        raise AssertionError("a late of 0 passed")
    bad_p = [{**prediction, "id": 9, "distribution": {"family": "bernoulli", "p": 1.5}}]
    try:
        checker.entry({"kind": "register", "at": at, "by": "bo", "insert": {"predictions": bad_p}})
    except Bad as bad:
        assert "outside [0, 1]" in bad.message
    else:
        raise AssertionError("a probability of 1.5 passed")
