"""Values read by a rule, as numbers, booleans and outcomes of the question's kind; comparisons.

Booleans are the same everywhere: a JSON `true`/`false`, the numbers 1 and 0, and the
texts `true/false/True/False/1/0` (any case, and `yes`/`no` for a yes/no outcome) match
each other in filters, count as 1 and 0 in aggregates, fractions and crossings, and
resolve binary questions. A single value compared with a number must itself be a number.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules.grammar import NUM_RE
from predtrack.rules.nodes import Rule, fmt_number, short

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq,
    "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}  # fmt: skip
_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})


@dataclass
class Got:
    """A raw value found by a selector, before conversion to the question's kind."""

    value: Any
    where: str  # what was read: "/acc", "cheese_rate (line 5)"
    file: str  # the file (or run) it came from, for messages
    detail: str
    from_text: bool = False  # a CSV cell or a tracker param: text to be parsed
    k: int | None = None
    n: int | None = None
    times: list[float] = field(default_factory=list)  # epoch seconds of the records used
    mtimes: list[float] = field(default_factory=list)  # mtimes of the files whose records were used


def number_text(text: str) -> float | None:
    return float(text) if NUM_RE.fullmatch(text) else None


def as_number(v: Any, text: bool) -> float | None:
    """A value as a number for an aggregate, a fraction or a crossing (booleans are 1/0)."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        try:
            return float(v)
        except OverflowError:
            return math.inf
    if text and isinstance(v, str):
        n = number_text(v)
        if n is not None:
            return n
        low = v.lower()
        if low == "true":
            return 1.0
        if low == "false":
            return 0.0
    return None


def as_bool(v: Any, text: bool) -> bool | None:
    """A value as yes/no: a boolean, 0/1, or the texts true/false/yes/no/1/0."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if text and isinstance(v, str):
        low = v.lower()
        if low in _TRUE or number_text(v) == 1:
            return True
        if low in _FALSE or number_text(v) == 0:
            return False
    return None


def match_key(v: Any, text: bool = True) -> Any:
    """What `=` compares: numbers and booleans by value (25 == 25.0 == "25", true == "1")."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        n = number_text(v)
        if n is not None:
            return n
        low = v.lower()
        return 1.0 if low == "true" else 0.0 if low == "false" else v
    if v is None:
        return "null"
    return object()  # an object or array matches nothing


def describe_bad_number(v: Any, text: bool) -> str:
    """Why a value is not a finite number, in the words errors use."""
    if text and isinstance(v, str):
        low = v.lower().lstrip("+-")
        if low == "nan":
            return "NaN"
        if low in ("inf", "infinity") or NUM_RE.fullmatch(v):
            return "infinite"
        return "empty" if v == "" else f"{short(v)}, not a number"
    if isinstance(v, float | int) and not isinstance(v, bool):
        return "NaN" if v != v else "infinite"
    kind = {
        type(None): "",
        bool: "a boolean ",
        str: "a string ",
        dict: "an object ",
        list: "an array ",
    }
    return f"{kind.get(type(v), '')}{short(v)}, not a number"


def finite(got: Got) -> float:
    """The value as a finite float (no booleans), or a RuleError naming where it came from."""
    v = got.value
    if got.from_text and isinstance(v, str):
        n = number_text(v)
        if n is not None and math.isfinite(n):
            return n
    elif isinstance(v, int | float) and not isinstance(v, bool):
        n = as_number(v, False)
        if n is not None and math.isfinite(n):
            return n
    raise RuleError(
        f"value at {got.where} is {describe_bad_number(v, got.from_text)} in {got.file}"
    )


def convert(
    rule: Rule,
    got: Got,
    kind: str,
    categories: Sequence[str] | None,
    bounds: tuple[float | None, float | None] | None,
) -> tuple[bool | float | str, int | None, int | None]:
    """The outcome of a question of this kind, from the value the selector read."""
    file, v = got.file, got.value
    if rule.comparison:
        num, cmp = finite(got), rule.comparison
        result = OPS[cmp.op](num, cmp.threshold)
        got.detail += f"; {fmt_number(num)} {cmp} is {'true' if result else 'false'}"
        return result, None, None
    if kind == "binary":
        yes = as_bool(v, got.from_text)
        if yes is None:
            raise RuleError(
                f"value at {got.where} is {short(v)}, not a yes/no (true/false, 0/1) in {file}"
            )
        return yes, None, None
    if kind == "categorical":
        if not isinstance(v, str):
            raise RuleError(f"value at {got.where} is {short(v)}, not a category name in {file}")
        if not categories:
            raise RuleError(f"the question declares no categories to match {v!r} against")
        if v not in categories:
            raise RuleError(
                f"unknown category {v!r} (expected one of: {', '.join(categories)}) "
                f"at {got.where} in {file}"
            )
        return v, None, None
    num = finite(got)
    if kind == "fraction":
        if not 0 <= num <= 1:
            raise RuleError(f"value at {got.where} is {fmt_number(num)}, outside [0, 1], in {file}")
        return num, got.k, got.n
    lo, hi = bounds or (None, None)
    if (lo is not None and num < lo) or (hi is not None and num > hi):
        shown = f"[{'-inf' if lo is None else fmt_number(lo)}, {'inf' if hi is None else fmt_number(hi)}]"
        raise RuleError(
            f"value {fmt_number(num)} is outside the question's bounds {shown} ({got.where} in {file})"
        )
    return num, None, None
