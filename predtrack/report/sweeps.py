"""The experiment figure's data: a sweep's observed values and the forecasts placed on it.

`SweepFigure` is what the drawing consumes; `sweep_figures` fills it from the board, the
resolved questions' rules and a `sweep_points(rule, base_dir)` callable that reads a
sweep's observed values (an object with `x` and `y`, the swept and the observed column's
names, and `points`: per x the mean y, an interval and a count, as objects with `x`, `y`,
`lo`, `hi`, `n` or as 5-tuples; None when the rule reads no sweep).

A question is placed on a sweep from its rule: a crossing `crossing(x=X, y=Y, level=L)`
is a forecast of an x at level L; a cell `Y[X=v]` (a filter on the swept column) is a
forecast of Y at x = v; and a family of questions whose rules differ only in one number
(`/maze/5/...`, `/maze/9/...`), all of whose numbers are x values of a sweep of the same
experiment, is a family of fraction forecasts at those x.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from predtrack.report.data import Resolved
    from predtrack.score import Board, Entry

SweepPoints = Callable[..., Any]
NUMBER = re.compile(r"(?<![\w.])[+-]?(?:\d+\.?\d*|\.\d+)(?![\w.])")
ON_SCALE = (0.0, 1.0)  # fractions and probabilities share the y axis only with a 0-1 sweep


class Observed(NamedTuple):
    """One observed point of the sweep: the mean y at x, its interval (lo, hi) and count."""

    x: float
    y: float
    lo: float | None = None  # the interval, when the sweep has one
    hi: float | None = None
    n: int | None = None  # runs or trials behind the mean


@dataclass(frozen=True)
class Mark:
    """One forecast drawn on the sweep.

    `kind` "crossing": a forecast of x (median, `i50`, `i90` on the x axis), drawn lying at
    y = `level`, `x` its median. "fraction" / "quantity": a forecast of y at `x` (median and
    intervals on the y axis). "binary": `p`, the probability of `event`, drawn at `x`."""

    forecaster: str
    question: str
    kind: str
    x: float
    median: float | None = None
    i50: tuple[float, float] | None = None
    i90: tuple[float, float] | None = None
    p: float | None = None
    event: str = ""
    level: float | None = None


@dataclass
class SweepFigure:
    """One experiment's sweep with every forecast placed on it."""

    experiment: str
    x_label: str
    y_label: str
    level: float | None
    observed: list[Observed]
    forecasts: dict[str, list[Mark]] = field(default_factory=dict)  # per forecaster
    crossings: list[tuple[str, float]] = field(default_factory=list)  # (question, observed x)

    def marks(self) -> Iterable[Mark]:
        for marks in self.forecasts.values():
            yield from marks


@dataclass(frozen=True)
class _Placed:
    """Where a question's rule puts it: on which sweep, and at which x (or level)."""

    file: str
    x: str
    y: str
    at: float | None = None  # the x of a cell question
    level: float | None = None  # the level of a crossing
    event: str = ""  # a binary's comparison, as text


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _place(rule: Any) -> _Placed | None:
    """A crossing, or a cell with one numeric filter: the sweep and x its rule names."""
    sel = rule.selector
    if hasattr(sel, "level") and hasattr(sel, "x"):
        return _Placed(rule.file, sel.x, sel.y, level=float(sel.level))
    filters = getattr(sel, "filters", None)
    if not filters or not hasattr(sel, "name"):
        return None
    numeric = [(f, _number(f.value)) for f in filters]
    numeric = [(f, v) for f, v in numeric if v is not None]
    if len(numeric) != 1:
        return None
    column, at = numeric[0]
    event = f"{sel.name} {rule.comparison}" if rule.comparison else str(sel.name)
    return _Placed(rule.file, column.column, sel.name, at=at, event=event)


def _templates(text: str) -> list[tuple[str, float]]:
    """The rule with each of its numbers in turn left out: (template, that number)."""
    selector_at = text.find("#")
    out = []
    for token in sorted(set(NUMBER.findall(text[selector_at:]))):
        value = _number(token)
        if value is not None:
            pattern = rf"(?<![\w.]){re.escape(token)}(?![\w.])"
            selector = re.sub(pattern, "{}", text[selector_at:])
            out.append((text[:selector_at] + selector, value))
    return out


def _observed(sweep: Any) -> list[Observed]:
    points = []
    for p in getattr(sweep, "points", ()) or ():
        x, y, lo, hi, n = p if isinstance(p, tuple) else (p.x, p.y, p.lo, p.hi, p.n)
        if x is not None and y is not None and math.isfinite(float(x)) and math.isfinite(float(y)):
            points.append(
                Observed(
                    float(x),
                    float(y),
                    None if lo is None else float(lo),
                    None if hi is None else float(hi),
                    None if n is None else int(n),
                )
            )
    return sorted(points, key=lambda p: p.x)


def _on_scale(figure: SweepFigure) -> bool:
    values = [p.y for p in figure.observed] + ([figure.level] if figure.level is not None else [])
    return all(ON_SCALE[0] <= v <= ON_SCALE[1] for v in values)


def _mark(entry: Entry, placed: _Placed | None, x: float, kind: str) -> Mark | None:
    from predtrack.report.view import forecast_quantiles

    if kind == "binary":
        p = entry.distribution.get("p")
        event = placed.event if placed else ""
        return (
            None
            if p is None
            else Mark(entry.forecaster, entry.label, kind, x, p=float(p), event=event)
        )
    q = forecast_quantiles(entry.distribution, entry.bounds)
    if q is None:
        return None
    q = [float(v) for v in q]
    if kind == "crossing":
        x = q[2]
    level = placed.level if placed else None
    return Mark(
        entry.forecaster, entry.label, kind, x, q[2], (q[1], q[3]), (q[0], q[4]), level=level
    )


def sweep_figures(
    board: Board, resolved: Mapping[int, Resolved], sweep_points: SweepPoints | None
) -> list[SweepFigure]:
    """One figure per experiment and swept pair of columns that `sweep_points` can read."""
    from predtrack.rules import parse_rule

    if sweep_points is None:
        return []
    entries: dict[int, list[Entry]] = defaultdict(list)
    for entry in board.entries:
        entries[entry.question_id].append(entry)
    rules: dict[int, Any] = {}
    placed: dict[int, _Placed] = {}
    for qid, question in resolved.items():
        if not question.rule or qid not in entries:
            continue
        if "[" not in question.rule and "crossing" not in question.rule:
            continue  # neither a crossing nor a filtered cell: nothing to place (no parse)
        try:
            rules[qid] = parse_rule(question.rule)
        except Exception:  # a stored rule the current grammar rejects: not placed
            continue
        where = _place(rules[qid])
        if where is not None:
            placed[qid] = where
    # One figure per experiment, sweep file's columns; the first rule that reads it wins.
    figures: dict[tuple[str, str, str], SweepFigure] = {}
    read: dict[tuple[str, str | None, str, str], list[Observed]] = {}
    for qid, where in sorted(placed.items(), key=lambda kv: (kv[1].level is None, kv[0])):
        question = resolved[qid]
        key = (question.experiment, where.x, where.y)
        source = (where.file, question.rule_dir, where.x, where.y)
        if source not in read:
            read[source] = _observed(sweep_points(rules[qid], question.rule_dir))
        if key not in figures and read[source]:
            figures[key] = SweepFigure(
                question.experiment, where.x, where.y, where.level, read[source]
            )
        figure = figures.get(key)
        if figure is None:
            continue
        if figure.level is None:
            figure.level = where.level
        outcome = board.questions.get(qid, {}).get("outcome")
        if (
            where.level is not None
            and isinstance(outcome, (int, float))
            and not isinstance(outcome, bool)
        ):
            figure.crossings.append((board.questions[qid]["label"], float(outcome)))
        for entry in entries[qid]:
            kind = "crossing" if where.level is not None else entry.kind
            mark = _mark(entry, where, where.at if where.at is not None else 0.0, kind)
            if mark is not None:
                figure.forecasts.setdefault(entry.forecaster, []).append(mark)
    _add_families(figures, resolved, entries, placed)
    for figure in figures.values():
        if not _on_scale(figure):  # probabilities and fractions would mislead on another scale
            for name, marks in figure.forecasts.items():
                figure.forecasts[name] = [m for m in marks if m.kind in ("crossing", "quantity")]
    return [f for _, f in sorted(figures.items())]


def _add_families(
    figures: Mapping[tuple[str, str, str], SweepFigure],
    resolved: Mapping[int, Resolved],
    entries: Mapping[int, list[Entry]],
    placed: Mapping[int, _Placed],
) -> None:
    """Fraction questions whose rules differ in one number, all x values of one sweep."""
    families: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for qid, question in resolved.items():
        if qid in placed or question.kind != "fraction" or not question.rule or qid not in entries:
            continue
        for template, value in _templates(question.rule):
            families[(question.experiment, template)][qid] = value
    used: set[int] = set()
    for (experiment, _), members in sorted(families.items()):
        values = set(members.values())
        if len(values) < 2 or len(values) != len(members) or used & members.keys():
            continue
        for (name, _, _), figure in sorted(figures.items()):
            xs = {p.x for p in figure.observed}
            if name == experiment and _on_scale(figure) and all(_near(v, xs) for v in values):
                for qid, x in sorted(members.items()):
                    for entry in entries[qid]:
                        mark = _mark(entry, None, x, "fraction")
                        if mark is not None:
                            figure.forecasts.setdefault(entry.forecaster, []).append(mark)
                used |= members.keys()
                break


def _near(value: float, xs: set[float]) -> bool:
    return any(math.isclose(value, x, rel_tol=1e-9, abs_tol=1e-9) for x in xs)
