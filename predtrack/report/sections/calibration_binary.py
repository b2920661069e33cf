"""Calibration of binary forecasts: CORP reliability diagrams and the ten-bin table."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from predtrack.report.draw import Key, Plot, percent_label
from predtrack.report.format import data_value, fmt, tip_list, waiting
from predtrack.report.sections.base import Section
from predtrack.report.view import View
from predtrack.vocabulary import SCORE, scores_for

if TYPE_CHECKING:
    from predtrack.score import Entry

TIP_LABELS = 8  # question labels listed in one tooltip
MAX_LINE_POINTS = 400
MAX_POINTS = 80  # hover points in a reliability diagram
CALIBRATION_TEST = SCORE["spiegelhalter_z"]
# The panel's numbers: the binary scores `predtrack score` prints, and the calibration test.
PANEL_STATS = (*(s for s in scores_for("binary") if s.terminal), CALIBRATION_TEST)
LEGEND = (
    Key("circle", "curve-key", "recalibrated (PAV) curve; orange points leave the band"),
    Key("band", "band", "90% consistency band"),
    Key("line", "diag", "perfect calibration"),
    Key("bar", "hist", "histogram of forecasts"),
)


def thin(size: int, most: int) -> Any:
    """At most about `most` evenly spaced indices into `size` items, first and last included."""
    import numpy as np

    if size <= most:
        return np.arange(size)
    return np.unique(np.linspace(0, size - 1, most).round().astype(int))


class BinaryCalibration(Section, name="calibration-binary", title="Calibration: binary"):
    def build(self, view: View) -> dict[str, Any]:
        panels = []
        for name in view.participants:
            binary = [e for e in view.entries[name] if e.kind == "binary"]
            if binary:
                panels.append(_reliability(view, name, binary))
        message = None
        if not panels:
            message = "No resolved binary questions yet" + waiting(view.board.counts) + "."
        return {"panels": panels, "message": message, "legend": LEGEND}


def _reliability(view: View, name: str, entries: list[Entry]) -> dict[str, Any]:
    import numpy as np

    from predtrack import scoring

    p = np.array([e.scores["p"] for e in entries])
    y = np.array([e.scores["y"] for e in entries])
    corp = scoring.corp(p, y, score="brier")
    band = scoring.corp_band(p, y, level=0.9, seed=view.options.seed)
    x, cep = corp.x, corp.cep
    outside = (cep < band.lower - 1e-9) | (cep > band.upper + 1e-9)
    # One hover point per distinct forecast value; with many (model outputs, the team's
    # pooled forecasts) one per PAV block of equal recalibrated values instead.
    if x.size <= MAX_POINTS:
        group = np.arange(x.size)
    else:
        group = np.concatenate(([0], np.cumsum(np.diff(cep) != 0)))
    groups = int(group[-1]) + 1
    of_entry = group[np.searchsorted(x, p)]
    bins = scoring.bin_index(p, 10)
    group_labels: dict[int, list[str]] = defaultdict(list)
    bin_labels: dict[int, list[str]] = defaultdict(list)
    for e, g_index, b_index in zip(entries, of_entry.tolist(), bins.tolist(), strict=True):
        if len(group_labels[g_index]) < TIP_LABELS:
            group_labels[g_index].append(e.label)
        if len(bin_labels[b_index]) < TIP_LABELS:
            bin_labels[b_index].append(e.label)
    n_bin = np.bincount(bins, minlength=10)
    k_bin = np.bincount(bins, weights=y, minlength=10)
    sum_bin = np.bincount(bins, weights=p, minlength=10)
    lo, hi = scoring.wilson_interval(k_bin.astype(int), n_bin, level=0.9)

    plot = Plot(330, 330, x=(0.0, 1.0), y=(0.0, 1.0), margin=(12, 14, 42, 50))
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    plot.axes(
        xticks=ticks,
        yticks=ticks,
        xlabel="Forecast probability",
        ylabel="Observed frequency (recalibrated)",
    )
    tallest = max(1, int(n_bin.max()))
    for b in range(10):
        if n_bin[b] == 0:
            continue
        edge0, edge1 = b / 10, (b + 1) / 10
        tip = (
            f"Forecasts {percent_label(edge0)}–{percent_label(edge1)}: {int(n_bin[b])} "
            f"({int(k_bin[b])} happened): " + tip_list(bin_labels[b], int(n_bin[b]))
        )
        plot.rect(edge0 + 0.006, 0.0, edge1 - 0.006, 0.16 * n_bin[b] / tallest, cls="hist", tip=tip)
    plot.segment(0, 0, 1, 1, cls="diag")
    if x.size >= 2:
        keep = thin(x.size, MAX_LINE_POINTS)
        plot.band(x[keep], band.lower[keep], band.upper[keep], cls="band")
        # The PAV curve is flat within a block: its corners are the first and last value
        # of each block, so drawing only those is exact however many values there are.
        change = np.flatnonzero(np.diff(cep) != 0)
        corners = np.unique(np.concatenate(([0, x.size - 1], change, change + 1)))
        if corners.size > 2 * MAX_LINE_POINTS:
            corners = np.unique(
                np.concatenate((corners[thin(corners.size, MAX_LINE_POINTS)], [x.size - 1]))
            )
        plot.line(x[corners], cep[corners], cls="curve")
    else:
        plot.segment(x[0], band.lower[0], x[0], band.upper[0], cls="band-bar")
    if groups <= MAX_POINTS:
        count_g = np.bincount(group, weights=corp.count, minlength=groups)
        events_g = np.bincount(group, weights=corp.events, minlength=groups)
        where_g = np.bincount(group, weights=corp.count * x, minlength=groups) / count_g
        out_g = np.bincount(group, weights=outside, minlength=groups) > 0
        # Marker area grows with the number of forecasts; smaller when there are many.
        biggest = 6.0 if groups <= 20 else 4.5 if groups <= 50 else 3.5
        most = float(count_g.max())
        first = np.searchsorted(group, np.arange(groups))
        last = np.searchsorted(group, np.arange(groups), side="right") - 1
        for j in range(groups):
            count = int(count_g[j])
            a, b = int(first[j]), int(last[j])
            values = (
                f"Forecast {fmt(float(x[a]), 3)}"
                if a == b
                else f"Forecasts {fmt(float(x[a]), 3)}–{fmt(float(x[b]), 3)}"
            )
            tip = (
                f"{values}: {count} forecast{'s' if count != 1 else ''}, "
                f"{int(events_g[j])} happened; recalibrated {fmt(float(cep[a]), 3)} "
                f"(90% band {fmt(float(band.lower[a]), 2)}–{fmt(float(band.upper[b]), 2)})"
                f"{' — outside the band' if out_g[j] else ''}. " + tip_list(group_labels[j], count)
            )
            plot.marker(
                float(where_g[j]),
                float(cep[a]),
                cls="curve-pt out" if out_g[j] else "curve-pt",
                size=2.0 + (biggest - 2.0) * math.sqrt(count / most),
                tip=tip,
            )
    g = view.groups.get(name, {})
    desc = (
        f"CORP reliability diagram of {name}: {len(entries)} binary forecasts at "
        f"{corp.x.size} distinct values. Miscalibration MCB {fmt(g.get('mcb'))}, "
        f"discrimination DSC {fmt(g.get('dsc'))}, uncertainty UNC {fmt(g.get('unc'))}. "
        f"The recalibrated curve is outside the 90% consistency band at {int(outside.sum())} "
        f"of {corp.x.size} forecast values. Histogram of forecasts along the bottom."
    )
    figure = view.figure(
        BinaryCalibration.name,
        name,
        plot,
        title=f"Reliability diagram: {name}",
        desc=desc,
        legend=LEGEND,
        prefix="rel",
    )
    table = []
    for b in range(10):
        n = int(n_bin[b])
        table.append(
            {
                "bin": f"{b / 10:.1f}–{(b + 1) / 10:.1f}",
                "n": n,
                "mean": fmt(float(sum_bin[b] / n), 3) if n else "–",
                "freq": fmt(float(k_bin[b] / n), 3) if n else "–",
                "ci": f"{float(lo[b]):.2f}–{float(hi[b]):.2f}" if n else "–",
                "tip": tip_list(bin_labels[b], n) if n else "",
            }
        )
    return {
        "name": name,
        "colour": view.colour[name],
        "figure": figure,
        "n": len(entries),
        "stats": [
            {
                "label": s.label,
                "key": s.key,
                "text": fmt(g.get(s.key)),
                "value": data_value(g.get(s.key)),
                "test": s is CALIBRATION_TEST,
            }
            for s in PANEL_STATS
        ],
        "outside": int(outside.sum()),
        "points": int(corp.x.size),
        "pooled": band.pooled,
        "table": table,
    }
