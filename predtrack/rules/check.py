"""Registration checks: refuse, when a prediction is made, a rule that cannot work for its source or kind.

Everything here raises RuleSyntaxError (exit 2, nothing written). `parse_rule` checks the
grammar and the selector against its source type; `check_rule` checks the question's kind
and, given the folder the rule is registered from, the layout of a source that exists.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from predtrack.errors import RuleSyntaxError
from predtrack.rules import base, grammar, nodes
from predtrack.rules.nodes import (
    Aggregate,
    Counts,
    Crossing,
    Fraction,
    Pick,
    Pointer,
    Rule,
    Select,
    Selector,
)
from predtrack.vocabulary import KINDS

__all__ = ["check_rule", "check_rule_for_kind", "outcome_type", "parse_rule"]

# What a selector gives, before conversion to the question's kind.
_RAW = "raw"  # a record's own value: any kind
_NUMBER = "number"  # an aggregate that can be 0/1 (min, max, @max, @min): not categorical
_MEAN = "mean"  # mean, median: quantity or fraction
_TOTAL = "total"  # sum, std, count: quantity
_RATIO = "ratio"  # k of n: fraction
_CROSSING = "crossing"  # a position on x: quantity


def parse_rule(text: str) -> Rule:
    """Parse `[SCHEME:]PATH#SELECTOR[ OP NUMBER]` and check it against its source type."""
    rule = grammar.parse(text)
    why = _structure_problem(rule)
    if why:
        raise RuleSyntaxError(f"invalid rule {nodes.short(text, 200)}: {why}")
    return rule


def _values(sel: Selector) -> list[tuple[str, object]]:
    """(role, value) of every VALUE position of a selector."""
    out: list[tuple[str, object]] = []

    def item(role: str, it: object) -> None:
        if isinstance(it, Pick):
            out.append((role, it.value))
            if it.other is not None:
                out.append(("argmax", it.other))
        else:
            out.append((role, it))

    if isinstance(sel, Pointer | Counts):
        out.append(("value", sel))
    elif isinstance(sel, Select | Aggregate | Fraction):
        item("value", sel.value)
    elif isinstance(sel, Crossing):
        item("y", sel.y.value if isinstance(sel.y, Aggregate | Fraction) else sel.y)
    return out


def _picks(sel: Selector) -> list[Pick]:
    inner: object = sel.y if isinstance(sel, Crossing) else sel
    if isinstance(inner, Aggregate | Fraction | Select):
        inner = inner.value
    return [inner] if isinstance(inner, Pick) else []


def _filters(sel: Selector) -> tuple[nodes.Filter, ...]:
    return () if isinstance(sel, Pointer | Counts) else sel.filters


def _structure_problem(rule: Rule) -> str | None:
    """Why the selector cannot work on the rule's source type, or None."""
    # Kept on the rule (frozen, so never stale): parse_rule and evaluate_rule both ask.
    kept = rule.__dict__.get("_structure_problem", _UNSET)
    if kept is _UNSET:
        kept = rule.__dict__["_structure_problem"] = _find_structure_problem(rule)
    return kept


_UNSET = object()


def _find_structure_problem(rule: Rule) -> str | None:
    cls = base.source_class(rule.format)
    sel, file = rule.selector, rule.file
    shown = f"{rule.scheme}:{file}" if rule.scheme else file
    if cls.folder and rule.is_glob:
        return f"a {rule.scheme}: path names one store and cannot hold wildcards ({file})"
    if cls.one_record and not rule.is_glob:
        if isinstance(sel, Crossing):
            return (
                f"crossing(...) works on CSV/TSV files only, or on records (JSON lines, a glob "
                f"of files), not on the one JSON document of {file}"
            )
        if isinstance(sel, Aggregate | Fraction):
            what = "fraction(...)" if isinstance(sel, Fraction) else f"{sel.func}(...)"
            return (
                f"{what} aggregates many records, and {file} is one JSON document: "
                "use a glob of files (runs/*/metrics.json) or JSON lines"
            )
        if _filters(sel):
            return (
                f"a filter picks one of many records, and {file} is one JSON document "
                "(filters work on JSON lines, CSV/TSV and globs of files)"
            )
    if cls.one_record and _picks(sel):
        return (
            f"a series pick (@{_picks(sel)[0].how}) needs a series, and each .json file is one "
            "record: log the series as JSON lines or CSV"
        )
    for role, value in _values(sel):
        if cls.values == "pointer" and isinstance(value, str):
            if role == "value" and isinstance(sel, Select):
                return f"a column selector works on CSV/TSV files only, not {file}; for JSON use a pointer '/...'"
            return f"{role} {nodes.fmt_value(value)} is a name, but {shown} holds JSON: use a pointer '/...'"
        if cls.values == "name" and isinstance(value, Pointer | Counts):
            return f"a JSON pointer needs a .json/.jsonl file, not {shown}; for CSV name a column"
    named = [f.column for f in _filters(sel)] + ([sel.x] if isinstance(sel, Crossing) else [])
    if cls.values == "name" and any(isinstance(v, Pointer) for v in named):
        return f"a JSON pointer needs a .json/.jsonl file, not {shown}; for CSV name a column"
    if rule.is_glob and isinstance(sel, Pointer | Counts | Select) and not _filters(sel):
        return (
            f"{file} matches many files: aggregate their records (mean(...), fraction(...), "
            "crossing(...)) or pick one with a filter, as in /acc[seed=3]"
        )
    return None


def outcome_type(rule: Rule) -> str:
    """What the selector gives: raw, number, mean, total, ratio or crossing."""
    sel = rule.selector
    if isinstance(sel, Crossing):
        return _CROSSING
    if isinstance(sel, Counts | Fraction) or (
        isinstance(sel, Select) and isinstance(sel.value, Counts)
    ):
        return _RATIO
    if isinstance(sel, Aggregate):
        if sel.func in ("first", "last"):
            return _picked(sel.value)
        if sel.func in ("min", "max"):
            return _NUMBER
        return _MEAN if sel.func in ("mean", "median") else _TOTAL
    value = sel.value if isinstance(sel, Select) else sel
    return _picked(value)


def _picked(value: object) -> str:
    if isinstance(value, Pick) and value.how in ("max", "min"):
        return _NUMBER
    return _RAW


_KIND_OK = {
    _RAW: KINDS,
    _NUMBER: ("binary", "fraction", "quantity"),
    _MEAN: ("fraction", "quantity"),
    _TOTAL: ("quantity",),
    _RATIO: ("fraction",),
    _CROSSING: ("quantity",),
}
_WHY = {
    _NUMBER: "an aggregate gives a number (binary from 0/1, fraction or quantity questions)",
    _MEAN: "a mean or median gives a number (fraction or quantity questions, or binary with a comparison)",
    _TOTAL: "sum, std and count give a number (quantity questions, or binary with a comparison)",
    _RATIO: (
        "counts K/of/N give a fraction (fraction questions, or binary with a comparison); "
        "a pointer with a middle segment named 'of' is read as counts"
    ),
    _CROSSING: "crossing(...) gives a number (quantity questions, or binary with a comparison)",
}


def check_rule_for_kind(rule: Rule, kind: str, categories: Sequence[str] | None = None) -> None:
    """Raise RuleSyntaxError unless `rule` can resolve a question of this kind."""
    if kind not in KINDS:
        raise RuleSyntaxError(
            f"unknown question kind {kind!r} (expected one of: {', '.join(KINDS)})"
        )
    cmp, what = rule.comparison, outcome_type(rule)
    why = None
    if cmp and kind != "binary":
        why = f"a comparison ({cmp}) gives yes/no, which only resolves binary questions"
    elif not cmp and kind not in _KIND_OK[what]:
        why = _WHY[what]
        if what == _RATIO and isinstance(rule.selector, Fraction):
            why = "fraction(...) gives k of n (fraction questions, or binary with a comparison)"
    if why:
        raise RuleSyntaxError(
            f"rule {nodes.short(str(rule), 200)} cannot resolve a {kind} question: {why}"
        )


def check_rule(
    rule: Rule,
    kind: str,
    categories: Sequence[str] | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Raise RuleSyntaxError unless the rule can resolve this kind (and, with `base_dir`, read
    what already exists there: a tracker store of the wrong layout, `@step` without steps)."""
    check_rule_for_kind(rule, kind, categories)
    why = _structure_problem(rule)
    if why:
        raise RuleSyntaxError(f"invalid rule {nodes.short(str(rule), 200)}: {why}")
    if base_dir is None or rule.is_glob:
        return
    cls = base.source_class(rule.format)
    path = Path(base_dir) / rule.file
    try:
        mode = os.stat(path).st_mode  # one stat: a bulk file checks 100,000 rules
    except (OSError, ValueError):
        return  # missing, or unreadable: evaluation reports it with its reason
    if cls.folder:
        cls.check_layout(path, nodes.names(rule.selector))
        return
    if stat.S_ISDIR(mode):
        raise RuleSyntaxError(f"rule {nodes.short(str(rule), 200)}: {rule.file} is a directory")
    steps = [p for p in _picks(rule.selector) if p.how == "step"]
    if steps and not cls.runs_are_records:
        have = cls.fields(path)
        if have is not None and "step" not in have:
            raise RuleSyntaxError(
                f"rule {nodes.short(str(rule), 200)} cannot work: @step=N reads the records' "
                f"'step' field, and {rule.file} has none"
            )
