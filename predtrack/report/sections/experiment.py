"""The experiment's own figure: the observed sweep, with every forecast drawn at its x."""

from __future__ import annotations

import itertools
from typing import Any

from predtrack.report.draw import Key, Plot, nice_ticks, tick_label
from predtrack.report.figures import Figure
from predtrack.report.format import fmt, pct
from predtrack.report.sections.base import Section
from predtrack.report.sweeps import Mark, SweepFigure, sweep_figures
from predtrack.report.view import View

WIDTH, HEIGHT = 860.0, 360.0
STEP = 7.0  # pixels between forecasts set side by side at one x (or one level)
OBSERVED = (
    Key("point", "obs", "observed mean, 90% interval"),
    Key("line", "level", "level of the crossing"),
    Key("point-diamond", "xobs", "observed crossing"),
)
BINARY = Key("point", "fcp cB", "binary question: its probability (shape per forecaster)")


class Experiment(Section, name="experiment", title="Experiment"):
    def build(self, view: View) -> dict[str, Any] | None:
        figures = sweep_figures(view.board, view.questions.resolved, view.sweep_points)
        if not figures:
            return None
        drawn = [
            {"figure": draw_sweep(view, f), "sweep": f, "forecasters": sorted(f.forecasts)}
            for f in figures
        ]
        return {"figures": drawn}


def _range(values: list[float], pad: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    margin = (hi - lo) * pad or max(abs(hi) * 0.1, 0.5)
    return lo - margin, hi + margin


def _tip(mark: Mark, sweep: SweepFigure) -> str:
    where = f"{sweep.x_label} = {fmt(mark.x)}"
    if mark.kind == "binary":
        event = mark.event or sweep.y_label
        return f"{mark.forecaster} — {mark.question}: P({event}) = {pct(mark.p or 0)} at {where}"
    lo50, hi50 = mark.i50 or (0.0, 0.0)
    lo90, hi90 = mark.i90 or (0.0, 0.0)
    ranges = f"median {fmt(mark.median)}, 50% {fmt(lo50)}–{fmt(hi50)}, 90% {fmt(lo90)}–{fmt(hi90)}"
    if mark.kind == "crossing":
        return (
            f"{mark.forecaster} — {mark.question}: {sweep.y_label} crosses {fmt(mark.level)} at "
            f"{sweep.x_label} {ranges}"
        )
    return f"{mark.forecaster} — {mark.question}: {sweep.y_label} at {where}: {ranges}"


def draw_sweep(view: View, sweep: SweepFigure) -> Figure:
    """The observed values with their intervals, and the forecasts: intervals and points at
    their x, crossings lying on the x axis' direction at their level."""
    marks = list(sweep.marks())
    xs = [p.x for p in sweep.observed] + [m.x for m in marks if m.kind != "crossing"]
    xs += [v for m in marks if m.kind == "crossing" and m.i90 for v in m.i90]
    ys = [v for p in sweep.observed for v in (p.y, p.lo, p.hi) if v is not None]
    ys += [v for m in marks if m.kind in ("fraction", "quantity") and m.i90 for v in m.i90]
    ys += [m.p for m in marks if m.p is not None] + [m.level for m in marks if m.level is not None]
    if sweep.level is not None:
        ys.append(sweep.level)
    x0, x1 = _range(xs, 0.04)
    y0, y1 = (0.0, 1.0) if all(0 <= v <= 1 for v in ys) else _range(ys, 0.06)
    plot = Plot(WIDTH, HEIGHT, x=(x0, x1), y=(y0, y1), margin=(14, 24, 46, 58))
    percent = (y0, y1) == (0.0, 1.0)
    plot.axes(
        xticks=[t for t in nice_ticks(x0, x1, 10) if x0 <= t <= x1],
        yticks=nice_ticks(y0, y1, 5),
        xlabel=sweep.x_label,
        ylabel=sweep.y_label,
        yfmt=(lambda v: f"{v:.0%}") if percent else tick_label,
    )
    if sweep.level is not None:
        plot.segment(x0, sweep.level, x1, sweep.level, cls="level")
        plot.text(x1, sweep.level, f"level {fmt(sweep.level)}", cls="note", anchor="end", dy=-4)
    _draw_marks(plot, view, sweep, marks)
    _draw_observed(plot, sweep)
    for label, x in sweep.crossings:
        plot.marker(
            x,
            sweep.level or 0.0,
            cls="xobs",
            shape="diamond",
            size=4.5,
            tip=f"observed crossing ({label}): {sweep.x_label} {fmt(x)}",
            data={"x": x, "question": label},
        )
    names = sorted(sweep.forecasts)
    legend = [*OBSERVED[: 1 if sweep.level is None else 3]]
    legend += [Key("interval", f"fc {view.colour_of(n)}", n) for n in names]
    if any(m.kind == "binary" for m in marks):
        legend.append(BINARY)
    desc = (
        f"{sweep.y_label} observed against {sweep.x_label} in {sweep.experiment} at "
        f"{len(sweep.observed)} values, with 90% intervals; forecasts by {', '.join(names) or 'nobody'}"
        " drawn at their x (crossings lying at their level, fractions and quantities as "
        "intervals, binary questions as points at their probability)."
    )
    return view.figure(
        Experiment.name,
        f"{sweep.experiment}-{sweep.x_label}-{sweep.y_label}",
        plot,
        title=f"{sweep.experiment}: {sweep.y_label} against {sweep.x_label}",
        desc=desc,
        legend=legend,
        prefix="exp",
    )


def _draw_observed(plot: Plot, sweep: SweepFigure) -> None:
    """The observed means joined by a line, with their intervals, over the forecasts."""
    plot.line([p.x for p in sweep.observed], [p.y for p in sweep.observed], cls="obs-line")
    for p in sweep.observed:
        if p.lo is not None and p.hi is not None:
            plot.segment(p.x, p.lo, p.x, p.hi, cls="obs-ci")
        interval = f" (90% interval {fmt(p.lo)}–{fmt(p.hi)})" if p.lo is not None else ""
        count = f", n = {p.n}" if p.n is not None else ""
        plot.marker(
            p.x,
            p.y,
            cls="obs",
            tip=f"observed at {sweep.x_label} = {fmt(p.x)}: {sweep.y_label} {fmt(p.y)}{interval}{count}",
            data={"x": p.x, "y": p.y, "n": "" if p.n is None else p.n},
        )


def _draw_marks(plot: Plot, view: View, sweep: SweepFigure, marks: list[Mark]) -> None:
    """Each forecaster's forecasts, side by side where several share an x or a level."""
    names = sorted(sweep.forecasts)
    # Pixels between neighbouring x values: forecasts at one x share that room.
    gaps = sorted(
        {plot.sx(p.x) for p in sweep.observed}
        | {plot.sx(m.x) for m in marks if m.kind != "crossing"}
    )
    room = min((b - a for a, b in itertools.pairwise(gaps)), default=WIDTH) * 0.7
    step = min(STEP, room / max(1, len(names)))
    crossings = sorted({m.question for m in marks if m.kind == "crossing"})
    for i, name in enumerate(names):
        colour = view.colour_of(name)
        side = (i - (len(names) - 1) / 2) * step
        for mark in sweep.forecasts[name]:
            data = {"forecaster": name, "kind": mark.kind, "x": mark.x, "question": mark.question}
            tip = _tip(mark, sweep)
            if mark.kind == "binary" and mark.p is not None:
                plot.marker(
                    mark.x,
                    mark.p,
                    cls=f"fcp {colour}",
                    shape=view.shape.get(name, "circle"),
                    size=3.2,
                    dx=side,
                    tip=tip,
                    data=data,
                )
            elif mark.kind == "crossing" and mark.i50 and mark.i90:
                row = crossings.index(mark.question) * len(names) + i
                q = (mark.i90[0], mark.i50[0], mark.x, mark.i50[1], mark.i90[1])
                plot.interval(
                    mark.level if mark.level is not None else (sweep.level or 0.0),
                    q,
                    cls=f"fc {colour}",
                    vertical=False,
                    offset=(row + 1) * STEP,
                    tip=tip,
                    data=data,
                )
            elif mark.i50 and mark.i90 and mark.median is not None:
                q = (mark.i90[0], mark.i50[0], mark.median, mark.i50[1], mark.i90[1])
                plot.interval(
                    mark.x, q, cls=f"fc {colour}", vertical=True, offset=side, tip=tip, data=data
                )
