"""The nodes of a parsed rule, and their canonical text (`str()` parses back to an equal node).

A name or pointer holding `, [ ] ( ) @ " < > = !` or white space is written in double
quotes, with JSON string escapes (`"cheese, rate"`, `"/a b"`). Standard library only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from predtrack.rules import base

# The node types (what `predtrack.rules` re-exports); the helpers below are imported by name.
__all__ = [
    "Aggregate",
    "Column",
    "Comparison",
    "Counts",
    "Crossing",
    "Filter",
    "Fraction",
    "Item",
    "Pick",
    "Pointer",
    "Rule",
    "Select",
    "Selector",
    "Value",
]

# what makes a name or pointer need quotes: a separator, a space or control character, or nothing
_SPECIAL = re.compile(r'[,\[\]()@"<>=!\s\x00-\x1f\x7f]|^$')


# ---------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Pointer:
    """An RFC 6901 JSON pointer, kept as its unescaped reference tokens."""

    tokens: tuple[str, ...]

    def __str__(self) -> str:
        return _quote_if_needed(self.raw, pointer=True)

    @property
    def raw(self) -> str:
        return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in self.tokens)


Value = Pointer | str  # a JSON pointer, or a name (CSV column, run field, tracker name)


@dataclass(frozen=True)
class Counts:
    """A fraction k/n read from two pointers, written `K/of/N`."""

    k: Pointer
    n: Pointer

    def __str__(self) -> str:
        return _quote_if_needed(f"{self.k.raw}/of{self.n.raw}", pointer=True)


@dataclass(frozen=True)
class Pick:
    """One point of a series: `VALUE@last`, `@first`, `@max`, `@min`, `@step=N`, `@argmax(O)`."""

    value: Value
    how: Literal["last", "first", "max", "min", "step", "argmax", "argmin"]
    step: float | None = None
    other: Value | None = None

    def __str__(self) -> str:
        head = f"{fmt_value(self.value)}@{self.how}"
        if self.how == "step":
            return f"{head}={fmt_number(self.step or 0.0)}"
        if self.how in ("argmax", "argmin"):
            return f"{head}({fmt_value(self.other or '')})"
        return head


Item = Value | Pick


@dataclass(frozen=True)
class Filter:
    """A record filter `field OP value`: `=`/`!=` match text, numbers and booleans alike."""

    column: Value
    value: str
    op: str = "="

    def __str__(self) -> str:
        return f"{fmt_value(self.column)}{self.op}{_quote_if_needed(self.value)}"


@dataclass(frozen=True)
class Select:
    """The one record the filters leave: a CSV column, or a pointer with filters or a pick."""

    value: Item | Counts
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        return self.name + fmt_filters(self.filters)

    @property
    def name(self) -> str:
        """The value as written: a column name, a pointer, a pick."""
        v = self.value
        return str(v) if isinstance(v, Counts) else fmt_value(v)


Column = Select  # the name rules used for a CSV cell


@dataclass(frozen=True)
class Aggregate:
    """An aggregate over the matching records: `mean(VALUE, runs=N)[filters]`."""

    func: str
    value: Item
    runs: int | None = None
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        runs = f", runs={self.runs}" if self.runs is not None else ""
        return f"{self.func}({fmt_value(self.value)}{runs})" + fmt_filters(self.filters)


@dataclass(frozen=True)
class Comparison:
    """A suffix `OP NUMBER` that turns a number into yes/no."""

    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.op} {fmt_number(self.threshold)}"


@dataclass(frozen=True)
class Fraction:
    """k of n: n matching records, k those where the condition holds: `fraction(COND)`."""

    value: Item
    comparison: Comparison | None = None
    runs: int | None = None
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        cond = fmt_value(self.value) + (f" {self.comparison}" if self.comparison else "")
        runs = f", runs={self.runs}" if self.runs is not None else ""
        return f"fraction({cond}{runs})" + fmt_filters(self.filters)


@dataclass(frozen=True)
class Crossing:
    """The first x at which y crosses `level`; y may aggregate the records of each x."""

    x: Value
    y: Item | Aggregate | Fraction
    level: float
    fit: Literal["linear", "logistic"] = "linear"
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        fit = ", fit=logistic" if self.fit == "logistic" else ""
        y = str(self.y) if isinstance(self.y, Aggregate | Fraction) else fmt_value(self.y)
        args = f"x={fmt_value(self.x)}, y={y}, level={fmt_number(self.level)}{fit}"
        return f"crossing({args})" + fmt_filters(self.filters)


Selector = Pointer | Counts | Select | Aggregate | Fraction | Crossing


@dataclass(frozen=True)
class Rule:
    """A parsed rule; `str(rule)` is its canonical text, which parses back to an equal Rule."""

    file: str
    selector: Selector
    comparison: Comparison | None = None
    text: str = field(default="", compare=False)  # as the user wrote it
    scheme: str | None = None

    @cached_property  # asked several times per evaluation; a frozen rule's never changes
    def format(self) -> str:
        """The source name: the scheme, or the file format from the extension."""
        return base.source_name(self.file, self.scheme) or ""

    @property
    def is_glob(self) -> bool:
        return "*" in self.file or "?" in self.file

    def __str__(self) -> str:
        cmp = f" {self.comparison}" if self.comparison else ""
        scheme = f"{self.scheme}:" if self.scheme else ""
        return f"{scheme}{self.file}#{self.selector}{cmp}"


# ---------------------------------------------------------------- formatting


def fmt_number(v: float) -> str:
    """A number as short as it round-trips: 25.0 -> '25', 0.1 -> '0.1'."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def fmt_value(v: Item | Counts) -> str:
    return _quote_if_needed(v) if isinstance(v, str) else str(v)


def names(node: Any) -> frozenset[str]:
    """Every name (not pointer) a selector uses: values, filter fields, crossing x."""
    return frozenset(n for n in _leaves(node) if isinstance(n, str))


def keys(node: Any) -> frozenset[str]:
    """The names a selector uses and the tokens of its pointers (what a source may read alone)."""
    out: set[str] = set()
    for n in _leaves(node):
        if isinstance(n, str):
            out.add(n)
        else:
            out.update(n.tokens)
    return frozenset(out)


def _leaves(n: Any) -> list[Pointer | str]:
    if isinstance(n, str | Pointer):
        return [n]
    if isinstance(n, Counts):
        return [n.k, n.n]
    if isinstance(n, Pick):
        return _leaves(n.value) + (_leaves(n.other) if n.other is not None else [])
    if isinstance(n, Select | Aggregate | Fraction):
        return _leaves(n.value) + [c for f in n.filters for c in _leaves(f.column)]
    if isinstance(n, Crossing):
        return _leaves(n.x) + _leaves(n.y) + [c for f in n.filters for c in _leaves(f.column)]
    return []


def fmt_filters(filters: tuple[Filter, ...]) -> str:
    return f"[{', '.join(map(str, filters))}]" if filters else ""


def short(value: Any, limit: int = 60) -> str:
    """A JSON-ish rendering of a value, truncated for error messages."""
    if value is True or value is False or value is None:
        text = "true" if value else "false" if value is False else "null"
    elif type(value) is int or (type(value) is float and math.isfinite(value)):
        text = repr(value)  # what json.dumps writes, without its encoder (a resolve makes 10k)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quote_if_needed(text: str, pointer: bool = False) -> str:
    if pointer and text == "":
        return ""
    if _SPECIAL.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text
