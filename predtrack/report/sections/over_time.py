"""Over time: each forecaster's running mean score, in the order their questions resolved
(or, for a study resolved in one batch, in the order the predictions were made)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from predtrack.report.draw import Key, Plot, nice_ticks
from predtrack.report.figures import Figure
from predtrack.report.format import fmt, waiting
from predtrack.report.sections.base import Section
from predtrack.report.view import View
from predtrack.vocabulary import SCORE

if TYPE_CHECKING:
    from predtrack.score import Entry

MIN_OVER_TIME = 10  # resolved binary questions a forecaster needs for a running score
MAX_LINE_POINTS = 400
SPREAD = timedelta(hours=1)  # times closer together than this are one batch: no order in time
RUNNING = (SCORE["brier"], SCORE["log"])
ORDERS = {
    "resolved": "in order of resolution",
    "made": "in the order they were predicted (all were resolved in one batch)",
}


def _span(times: list[datetime]) -> timedelta:
    return max(times) - min(times) if times else timedelta(0)


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds < 120:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} minutes"


class OverTime(Section, name="over-time", title="Over time"):
    def build(self, view: View) -> dict[str, Any]:
        empty: dict[str, Any] = {"figures": [], "legend": [], "skipped": [], "order": ""}
        binary = {n: [e for e in view.entries[n] if e.kind == "binary"] for n in view.participants}
        most = max((len(b) for b in binary.values()), default=0)
        if most == 0:
            message = "No resolved binary questions yet" + waiting(view.board.counts) + "."
            return {**empty, "message": message}
        if most < MIN_OVER_TIME:
            message = (
                f"Not drawn: a running score needs at least {MIN_OVER_TIME} resolved binary "
                f"questions per forecaster; the most any forecaster has is {most}."
            )
            return {**empty, "message": message}
        real = [e for e in view.board.entries if e.kind == "binary"]
        resolved = _span([e.resolved_at for e in real])
        made = _span([e.made_at for e in real if e.made_at is not None])
        if resolved >= SPREAD:
            order = "resolved"
        elif made >= SPREAD:
            order = "made"
        else:
            message = (
                f"Not drawn: every binary question was resolved within {_duration(resolved)} and "
                f"every prediction on them made within {_duration(made)}, so a running score "
                "has no order in time to show (the leaderboard has the final scores)."
            )
            return {**empty, "message": message}
        latest: dict[int, datetime] = {}  # when each question's last prediction was made
        for e in real:
            if e.made_at is not None and (
                e.question_id not in latest or e.made_at > latest[e.question_id]
            ):
                latest[e.question_id] = e.made_at

        def when(e: Entry) -> datetime:
            if order == "resolved":
                return e.resolved_at
            return e.made_at or latest.get(e.question_id) or e.resolved_at

        series = []
        for name, entries in binary.items():
            if len(entries) < MIN_OVER_TIME:
                continue
            ordered = sorted(entries, key=lambda e: (when(e), e.question_id))
            series.append(_series(name, ordered, when))
        legend = [
            Key("line", view.colour[s["name"]], s["name"], dash=view.dash[s["name"]])
            for s in series
        ]
        figures = [_running_chart(view, series, score, order, legend) for score in RUNNING]
        drawn = {s["name"] for s in series}
        return {
            "figures": figures,
            "message": None,
            "legend": legend,
            "skipped": [n for n in view.participants if n not in drawn],
            "order": ORDERS[order],
            "min": MIN_OVER_TIME,
        }


def _series(name: str, ordered: list[Entry], when: Any) -> dict[str, Any]:
    import numpy as np

    steps = np.arange(1, len(ordered) + 1)
    out: dict[str, Any] = {"name": name, "first": when(ordered[0]), "last": when(ordered[-1])}
    for score in RUNNING:
        values = np.array([e.scores[score.entry or score.key] for e in ordered])
        out[score.key] = np.cumsum(values) / steps
    return out


def _running_chart(
    view: View, series: list[dict[str, Any]], score: Any, order: str, legend: list[Key]
) -> Figure:
    import numpy as np

    from predtrack.output import local_time

    key = score.key
    unit = " (nats)" if score.log else ""
    title = f"Running mean {score.label} score{unit}"
    longest = max(len(s[key]) for s in series)
    finite = [
        float(np.max(s[key][np.isfinite(s[key])])) for s in series if np.isfinite(s[key]).any()
    ]
    top = max(finite) * 1.08 if finite and max(finite) > 0 else 1.0
    plot = Plot(860, 270, x=(1.0, float(max(longest, 2))), y=(0.0, top), margin=(12, 20, 44, 56))
    xticks = [t for t in nice_ticks(0, max(longest, 2), 8, integer=True) if t >= 1]
    plot.axes(
        xticks=xticks or [1.0],
        yticks=nice_ticks(0, top, 4),
        xlabel=f"Resolved binary questions, {ORDERS[order].split(' (')[0]}",
        ylabel=f"Mean {score.label}{unit}",
    )
    parts = []
    for s in series:
        values = s[key]
        finite_mask = np.isfinite(values)
        stop = len(values) if finite_mask.all() else int(np.argmin(finite_mask))
        note = ""
        if stop < len(values):
            note = f" (infinite from question {stop + 1} on: a forecast of 0 or 1 was wrong)"
        if stop:
            idx = np.unique(np.linspace(0, stop - 1, min(stop, MAX_LINE_POINTS)).astype(int))
            plot.line(
                (idx + 1).astype(float),
                values[idx],
                cls=f"run {view.colour[s['name']]}",
                dash=view.dash[s["name"]],
                tip=f"{s['name']}: {fmt(float(values[stop - 1]))} after {stop} questions{note}",
            )
        parts.append(f"{s['name']} {fmt(float(values[-1]))} after {len(values)}{note}")
    first = min(s["first"] for s in series)
    last = max(s["last"] for s in series)
    desc = (
        f"{title} of each forecaster over their resolved binary questions "
        f"{ORDERS[order]}, from {local_time(first)} to {local_time(last)}. Final values: "
        + "; ".join(parts)
        + "."
    )
    return view.figure(
        OverTime.name, key, plot, title=title, desc=desc, legend=legend, prefix="run"
    )
