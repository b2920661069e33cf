"""Calibration of fraction and quantity forecasts: PIT histograms and interval coverage."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from predtrack.report.draw import Key, Plot, nice_ticks, tick_label
from predtrack.report.figures import Figure
from predtrack.report.format import pct, tip_list, waiting, wrap_label
from predtrack.report.sections.base import Section
from predtrack.report.view import View
from predtrack.vocabulary import CONTINUOUS, SCORE

if TYPE_CHECKING:
    from predtrack.score import Entry

TIP_LABELS = 8
COVERAGE = (SCORE["coverage_50"], SCORE["coverage_90"])
PIT_LEGEND = (
    Key("bar", "pitbar", "PIT histogram"),
    Key("line", "ref", "uniform (calibrated)"),
    Key("band", "band", "90% band per bin"),
)
COVERAGE_LEGEND = (
    Key("circle", "cov50-key", "50% interval"),
    Key("square", "cov90-key", "90% interval"),
)
NAME_CHARS = 12  # characters per line of a forecaster's name under the coverage chart


class ContinuousCalibration(
    Section, name="calibration-continuous", title="Calibration: fractions & quantities"
):
    def build(self, view: View) -> dict[str, Any]:
        import numpy as np

        from predtrack import scoring

        panels = []
        coverage = []
        for name in view.participants:
            entries = [e for e in view.entries[name] if e.kind in CONTINUOUS]
            if not entries:
                continue
            panels.append(_pit(view, name, entries))
            n = len(entries)
            inside = [int(sum(e.scores[s.entry or s.key] for e in entries)) for s in COVERAGE]
            lo, hi = scoring.wilson_interval(np.array(inside), np.array([n, n]), level=0.9)
            group = view.groups.get(name, {})
            coverage.append(
                {
                    "name": name,
                    "colour": view.colour[name],
                    "n": n,
                    "levels": [
                        {
                            "key": s.key,
                            "level": level,
                            "k": k,
                            "share": k / n,
                            "ci": (float(lo[i]), float(hi[i])),
                            "text": pct(k / n),
                            "ci_text": f"{pct(float(lo[i]))}–{pct(float(hi[i]))}",
                            "group": group.get(s.key),
                        }
                        for i, (s, level, k) in enumerate(
                            zip(COVERAGE, (50, 90), inside, strict=True)
                        )
                    ],
                }
            )
        if not panels:
            message = (
                "No resolved fraction or quantity questions yet" + waiting(view.board.counts) + "."
            )
            return {"panels": [], "coverage": [], "chart": None, "message": message}
        return {
            "panels": panels,
            "coverage": coverage,
            "chart": _coverage_chart(view, coverage),
            "message": None,
            "pit_legend": PIT_LEGEND,
            "coverage_legend": COVERAGE_LEGEND,
        }


def _pit(view: View, name: str, entries: list[Entry]) -> dict[str, Any]:
    import numpy as np

    from predtrack.scoring import binomial_quantile

    pit = np.clip(np.array([e.scores["pit"] for e in entries]), 0.0, 1.0)
    n = pit.size
    k = 10 if n >= 50 else 5
    index = np.minimum((pit * k).astype(int), k - 1)
    counts = np.bincount(index, minlength=k)
    labels: dict[int, list[str]] = defaultdict(list)
    for i, e in enumerate(entries):
        if len(labels[int(index[i])]) < TIP_LABELS:
            labels[int(index[i])].append(e.label)
    expected = n / k
    density = counts / expected
    band_lo = float(binomial_quantile(0.05, n, 1 / k)) / expected
    band_hi = float(binomial_quantile(0.95, n, 1 / k)) / expected
    top = max(float(density.max()), band_hi, 1.0) * 1.12
    plot = Plot(330, 230, x=(0.0, 1.0), y=(0.0, top), margin=(12, 14, 42, 50))
    plot.axes(
        xticks=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        yticks=nice_ticks(0.0, top, 4),
        xlabel="PIT value F(outcome)",
        ylabel="Density",
        yfmt=tick_label,
    )
    plot.band([0.0, 1.0], [band_lo, band_lo], [band_hi, band_hi], cls="band")
    outside = 0
    for b in range(k):
        edge0, edge1 = b / k, (b + 1) / k
        off = not (band_lo - 1e-9 <= density[b] <= band_hi + 1e-9)
        outside += int(off)
        tip = (
            f"PIT {edge0:.1f}–{edge1:.1f}: {int(counts[b])} outcome"
            f"{'s' if counts[b] != 1 else ''} (expected {expected:.3g} if calibrated)"
            f"{' — outside the 90% band' if off else ''}"
            + (f": {tip_list(labels[b], int(counts[b]))}" if counts[b] else "")
        )
        plot.rect(edge0 + 0.008, 0.0, edge1 - 0.008, float(density[b]), cls="pitbar", tip=tip)
    plot.segment(0, 1, 1, 1, cls="ref")
    desc = (
        f"PIT histogram of {name}: {n} fraction and quantity outcomes in {k} bins; counts "
        + ", ".join(str(int(c)) for c in counts)
        + f". A calibrated forecaster's histogram is flat at density 1 (dashed line); the "
        f"shaded band is the 90% binomial range per bin. {outside} of {k} bins fall outside it."
    )
    figure = view.figure(
        ContinuousCalibration.name,
        f"pit-{name}",
        plot,
        title=f"PIT histogram: {name}",
        desc=desc,
        legend=PIT_LEGEND,
        prefix="pit",
    )
    return {
        "name": name,
        "colour": view.colour[name],
        "n": n,
        "figure": figure,
        "outside": outside,
        "bins": k,
    }


def _coverage_chart(view: View, rows: list[dict[str, Any]]) -> Figure:
    count = len(rows)
    names = [wrap_label(row["name"], NAME_CHARS) for row in rows]
    lines = max(len(n) for n in names)
    width = max(520.0, 110.0 + 96.0 * count)
    bottom = 46 + 11 * (lines - 1)
    plot = Plot(
        width, 270 + bottom - 46, x=(0.0, float(count)), y=(0.0, 1.0), margin=(14, 60, bottom, 50)
    )
    plot.axes(
        xticks=[i + 0.5 for i in range(count)],
        yticks=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        xlabel="Forecaster",
        ylabel="Observed coverage",
        xfmt=lambda v: names[min(count - 1, int(v))],
        yfmt=lambda v: f"{v * 100:.0f}%",
    )
    plot.segment(0, 0.5, count, 0.5, cls="nom50")
    plot.segment(0, 0.9, count, 0.9, cls="nom90")
    plot.text(count, 0.5, "nominal 50%", cls="note n50", dx=4, dy=4)
    plot.text(count, 0.9, "nominal 90%", cls="note n90", dx=4, dy=4)
    parts = []
    for i, row in enumerate(rows):
        for level, offset, shape, cls in zip(
            row["levels"], (0.35, 0.65), ("circle", "square"), ("cov50", "cov90"), strict=True
        ):
            x = i + offset
            lo, hi = level["ci"]
            tip = (
                f"{row['name']}: {level['k']} of {row['n']} outcomes inside the central "
                f"{level['level']}% interval ({level['text']}; 90% Wilson interval {pct(lo)}–{pct(hi)})"
            )
            plot.segment(x, lo, x, hi, cls=f"{cls}-ci")
            plot.marker(x, level["share"], cls=cls, shape=shape, size=4.5, tip=tip)
        fifty, ninety = row["levels"]
        parts.append(
            f"{row['name']} {fifty['text']} in the 50% and {ninety['text']} in the "
            f"90% interval (n = {row['n']})"
        )
    desc = (
        "Coverage of the central 50% (circles) and 90% (squares) intervals of fraction and "
        "quantity forecasts, with 90% Wilson intervals; dashed lines mark the nominal levels. "
        + "; ".join(parts)
        + "."
    )
    return view.figure(
        ContinuousCalibration.name,
        "coverage",
        plot,
        title="Interval coverage",
        desc=desc,
        legend=COVERAGE_LEGEND,
        prefix="cov",
    )
