"""All of the report's SVG: scales, axes, marks, legend keys, the card glyphs, figure frames.

Every text that reaches an SVG goes through `markupsafe.escape` and graphics are returned as
`Markup`, so nothing a user typed (a forecaster name, a title in a tooltip) becomes markup.
Marks carry no colours: CSS classes (`c0`..`c6` for forecasters, `band`, `curve`, ...) that
the stylesheet maps to the Okabe-Ito palette; a figure saved on its own carries that inline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

# Dash patterns that tell lines apart without colour (one per forecaster, cycling).
DASHES = ("", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 2 1 2 1 2", "3 5")
# Marker shapes that tell forecasters apart without colour (cycling).
SHAPES = ("circle", "square", "diamond", "triangle")
LINE_HEIGHT = 11.0  # pixels between the lines of a wrapped tick label


def num(value: float) -> str:
    """A coordinate with one decimal, without a trailing `.0` (small files)."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def nice_ticks(lo: float, hi: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """About `count` round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of 10;
    whole numbers only with `integer`)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    steps = [m * power for m in (1, 2, 2.5, 5, 10)]
    if integer:
        steps = [max(1.0, float(round(v))) for v in steps if v >= 1 or v * 10 >= 1]
    step = next((v for v in steps if v >= raw), steps[-1])
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_label(value: float) -> str:
    """A tick value as short text: `0`, `0.25`, `1.5k`, `1e-05`."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"{value / 1000:g}k"
    if magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.4g}"


def percent_label(value: float) -> str:
    """A share as a whole percentage: `35%`."""
    return f"{value * 100:.0f}%"


def scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    """A linear map from the data interval [d0, d1] onto the pixel interval [r0, r1]."""
    if d1 == d0:
        return lambda value: (r0 + r1) / 2
    return lambda value: r0 + (value - d0) * (r1 - r0) / (d1 - d0)


def title_tag(text: str | None) -> str:
    """A `<title>` child (a native tooltip), escaped."""
    return f"<title>{escape(text)}</title>" if text else ""


def data_attrs(data: Mapping[str, Any] | None) -> str:
    """` data-key="value"` attributes (escaped) that tests and scripts read."""
    if not data:
        return ""
    return "".join(f' data-{k}="{escape(str(v))}"' for k, v in data.items())


def _element(tag: str, attrs: str, tip: str | None) -> str:
    body = title_tag(tip)
    return f"<{tag} {attrs}>{body}</{tag}>" if body else f"<{tag} {attrs}/>"


def _text_lines(
    x: str,
    y: float,
    lines: Sequence[str],
    anchor: str,
    *,
    leading: float = LINE_HEIGHT,
    tip: str | None = None,
) -> str:
    """A `<text>`, one `<tspan>` per line when there are several."""
    if len(lines) == 1:
        body = str(escape(lines[0]))
    else:
        body = "".join(
            f'<tspan x="{x}" dy="{0 if i == 0 else num(leading)}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
    return f'<text x="{x}" y="{num(y)}" text-anchor="{anchor}">{body}{title_tag(tip)}</text>'


@dataclass
class Plot:
    """One chart: a plotting area inside margins, and the marks drawn on it, in order."""

    width: float
    height: float
    x: tuple[float, float]
    y: tuple[float, float]
    margin: tuple[float, float, float, float] = (12, 12, 40, 48)  # top, right, bottom, left
    parts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        top, right, bottom, left = self.margin
        # The plotting area, in pixels.
        self.top, self.right, self.bottom, self.left = (
            top,
            self.width - right,
            self.height - bottom,
            left,
        )
        self.sx = scale(self.x[0], self.x[1], left, self.width - right)
        self.sy = scale(self.y[0], self.y[1], self.height - bottom, top)

    def px(self, x: float, y: float) -> str:
        return f"{num(self.sx(x))},{num(self.sy(y))}"

    # --- axes ---

    def axes(
        self,
        *,
        xticks: Sequence[float],
        yticks: Sequence[float],
        xlabel: str,
        ylabel: str,
        xfmt: Callable[[float], str | list[str]] = tick_label,
        yfmt: Callable[[float], str] = tick_label,
        grid: bool = True,
    ) -> None:
        """Grid lines, both axes with ticks and tick labels, and the axis titles.

        `xfmt` may return a list of lines (a wrapped label): they stack under the tick."""
        out = ['<g class="axis">']
        for value in yticks:
            y = num(self.sy(value))
            if grid:
                out.append(
                    f'<line class="grid" x1="{num(self.left)}" x2="{num(self.right)}" y1="{y}" y2="{y}"/>'
                )
            out.append(
                f'<line x1="{num(self.left - 4)}" x2="{num(self.left)}" y1="{y}" y2="{y}"/>'
                f'<text x="{num(self.left - 6)}" y="{y}" dy="0.32em" text-anchor="end">'
                f"{escape(yfmt(value))}</text>"
            )
        for value in xticks:
            x = num(self.sx(value))
            if grid:
                out.append(
                    f'<line class="grid" x1="{x}" x2="{x}" y1="{num(self.top)}" y2="{num(self.bottom)}"/>'
                )
            label = xfmt(value)
            lines = [label] if isinstance(label, str) else label
            out.append(
                f'<line x1="{x}" x2="{x}" y1="{num(self.bottom)}" y2="{num(self.bottom + 4)}"/>'
                + _text_lines(x, self.bottom + 15, lines, "middle")
            )
        out.append(
            f'<path class="frame" d="M{num(self.left)},{num(self.top)}V{num(self.bottom)}'
            f'H{num(self.right)}"/>'
        )
        mid_x = num((self.left + self.right) / 2)
        out.append(
            f'<text class="label" x="{mid_x}" y="{num(self.height - 6)}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
        )
        mid_y = num((self.top + self.bottom) / 2)
        out.append(
            f'<text class="label" transform="translate(13 {mid_y}) rotate(-90)" '
            f'text-anchor="middle">{escape(ylabel)}</text>'
        )
        out.append("</g>")
        # Axes go first so that the data is drawn over the grid.
        self.parts.insert(0, "".join(out))

    # --- marks (data coordinates) ---

    def line(
        self,
        xs: Iterable[float],
        ys: Iterable[float],
        *,
        cls: str,
        dash: str = "",
        tip: str | None = None,
    ) -> None:
        points = " ".join(self.px(x, y) for x, y in zip(xs, ys, strict=True))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            _element("polyline", f'class="{cls}" fill="none" points="{points}"{dash_attr}', tip)
        )

    def segment(
        self, x1: float, y1: float, x2: float, y2: float, *, cls: str, tip: str | None = None
    ) -> None:
        attrs = (
            f'class="{cls}" x1="{num(self.sx(x1))}" y1="{num(self.sy(y1))}" '
            f'x2="{num(self.sx(x2))}" y2="{num(self.sy(y2))}"'
        )
        self.parts.append(_element("line", attrs, tip))

    def band(
        self, xs: Iterable[float], lower: Iterable[float], upper: Iterable[float], *, cls: str
    ) -> None:
        """A shaded area between two curves, with dashed edges (told apart without colour)."""
        xs = list(xs)
        top = [self.px(x, y) for x, y in zip(xs, upper, strict=True)]
        bottom = [self.px(x, y) for x, y in zip(xs, lower, strict=True)]
        self.parts.append(
            f'<polygon class="{cls}" points="{" ".join(top + bottom[::-1])}"/>'
            f'<polyline class="{cls}-edge" fill="none" points="{" ".join(top)}"/>'
            f'<polyline class="{cls}-edge" fill="none" points="{" ".join(bottom)}"/>'
        )

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        *,
        cls: str,
        tip: str | None = None,
    ) -> None:
        px0, px1 = sorted((self.sx(x0), self.sx(x1)))
        py0, py1 = sorted((self.sy(y0), self.sy(y1)))
        attrs = (
            f'class="{cls}" x="{num(px0)}" y="{num(py0)}" '
            f'width="{num(max(px1 - px0, 0.5))}" height="{num(max(py1 - py0, 0))}"'
        )
        self.parts.append(_element("rect", attrs, tip))

    def marker(
        self,
        x: float,
        y: float,
        *,
        cls: str,
        shape: str = "circle",
        size: float = 3.5,
        tip: str | None = None,
        dx: float = 0.0,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """A point: circle, square, diamond or triangle (shapes tell series apart without
        colour); `dx` shifts it sideways in pixels (to set marks at one x side by side)."""
        cx, cy = self.sx(x) + dx, self.sy(y)
        self.parts.append(_shape(shape, cx, cy, size, f'class="{cls}"{data_attrs(data)}', tip))

    def interval(
        self,
        at: float,
        q: Sequence[float],
        *,
        cls: str,
        vertical: bool,
        offset: float = 0.0,
        tip: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """A forecast's 90% range (line), 50% range (box) and median (tick), from its 5%,
        25%, 50%, 75% and 95% quantiles `q`: upright at x = `at`, or lying at y = `at`;
        `offset` shifts it across its direction in pixels (forecasts side by side)."""
        along, across = (self.sy, self.sx) if vertical else (self.sx, self.sy)
        pixels = [along(float(v)) for v in q]
        body = _interval_body(pixels, across(at) + offset, vertical=vertical)
        self.parts.append(f'<g class="{cls}"{data_attrs(data)}>{title_tag(tip)}{body}</g>')

    def text(
        self,
        x: float,
        y: float,
        value: str,
        *,
        cls: str = "note",
        anchor: str = "start",
        dx: float = 0,
        dy: float = 0,
    ) -> None:
        """A text label at a data point."""
        px, py = self.sx(x), self.sy(y)
        self.parts.append(
            f'<text class="{cls}" x="{num(px + dx)}" y="{num(py + dy)}" '
            f'text-anchor="{anchor}">{escape(value)}</text>'
        )

    def render(self, *, ident: str, title: str, desc: str, cls: str = "chart") -> Markup:
        """The finished `<svg>`: role="img", an accessible name and a text alternative."""
        head = (
            f'<svg class="{cls}" id="{ident}" viewBox="0 0 {num(self.width)} {num(self.height)}" '
            f'width="{num(self.width)}" height="{num(self.height)}" role="img" '
            f'aria-labelledby="{ident}-t" aria-describedby="{ident}-d" '
            f'preserveAspectRatio="xMidYMid meet">'
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def _interval_body(
    a: Sequence[float], c: float, *, vertical: bool = False, box: float = 3, tick: float = 5
) -> str:
    """The 90% line, 50% box and median tick at pixels `a` (5%..95%) along, `c` across."""

    def xy(along: float, across: float) -> tuple[str, str]:
        return (num(across), num(along)) if vertical else (num(along), num(across))

    def line(cls: str, a1: float, b1: float, a2: float, b2: float) -> str:
        (x1, y1), (x2, y2) = xy(a1, b1), xy(a2, b2)
        return f'<line class="{cls}" x1="{x1}" x2="{x2}" y1="{y1}" y2="{y2}"/>'

    (bx, by), (bw, bh) = xy(min(a[1], a[3]), c - box), xy(max(abs(a[3] - a[1]), 1), 2 * box)
    return (
        line("i90", a[0], c, a[4], c)
        + f'<rect class="i50" x="{bx}" y="{by}" width="{bw}" height="{bh}"/>'
        + line("med", a[2], c - tick, a[2], c + tick)
    )


def _shape(shape: str, cx: float, cy: float, size: float, attrs: str, tip: str | None) -> str:
    if shape == "square":
        return _element(
            "rect",
            f'{attrs} x="{num(cx - size)}" y="{num(cy - size)}" '
            f'width="{num(2 * size)}" height="{num(2 * size)}"',
            tip,
        )
    if shape in ("diamond", "triangle"):
        r = size * 1.3
        corners = (
            [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
            if shape == "diamond"
            else [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
        )
        points = " ".join(f"{num(a)},{num(b)}" for a, b in corners)
        return _element("polygon", f'{attrs} points="{points}"', tip)
    return _element("circle", f'{attrs} cx="{num(cx)}" cy="{num(cy)}" r="{num(size)}"', tip)


def mini(width: float, height: float, body: str, *, label: str, cls: str = "mini") -> Markup:
    """A small inline graphic (a forecast in a question card); its `<title>` is both its
    accessible name and its hover text. `body` must already be escaped SVG."""
    return Markup(
        f'<svg class="{cls}" viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" '
        f'height="{num(height)}" role="img">{title_tag(label)}{body}</svg>'
    )


def swatch(kind: str, cls: str, *, dash: str = "", label: str = "") -> Markup:
    """A legend key: a line, a band, a bar, an interval or a marker, 28 x 12 pixels."""
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    if kind == "band":
        body = (
            f'<rect class="{cls}" x="1" y="2" width="26" height="8"/>'
            f'<line class="{cls}-edge" x1="1" x2="27" y1="2" y2="2"/>'
            f'<line class="{cls}-edge" x1="1" x2="27" y1="10" y2="10"/>'
        )
    elif kind == "bar":
        body = f'<rect class="{cls}" x="8" y="1" width="12" height="10"/>'
    elif kind == "interval":
        body = f'<g class="{cls}">{_interval_body((1, 8, 14, 20, 27), 6)}</g>'
    elif kind in SHAPES:
        body = f'<line class="{cls}" x1="1" x2="27" y1="6" y2="6"/>' + _shape(
            kind, 14, 6, 3.5, f'class="{cls}"', None
        )
    elif kind.startswith("point"):  # "point" (a circle) or "point-SHAPE", without a line
        shape = kind.partition("-")[2] or "circle"
        body = _shape(shape, 14, 6, 3.5, f'class="{cls}"', None)
    else:
        body = f'<line class="{cls}" x1="1" x2="27" y1="6" y2="6"{dash_attr}/>'
    aria = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    return Markup(
        f'<svg class="swatch" viewBox="0 0 28 12" width="28" height="12" {aria}>{body}</svg>'
    )


@dataclass(frozen=True)
class Key:
    """One legend entry: how its swatch is drawn, and what it says."""

    kind: str
    cls: str
    label: str
    dash: str = ""

    @property
    def swatch(self) -> Markup:
        return swatch(self.kind, self.cls, dash=self.dash)


# --- the glyphs of a question card: one forecast per row, on the card's shared axis ---

MINI_W = 168.0
MINI_H = 18.0
MINI_PAD = 7.0
MINI_CHAR = 5.6  # width of a 9.5 px axis character


def _mini_x(value: float, lo: float, hi: float) -> float:
    span = hi - lo
    frac = 0.5 if span <= 0 else (value - lo) / span
    return MINI_PAD + min(1.0, max(0.0, frac)) * (MINI_W - 2 * MINI_PAD)


def mini_probability(name: str, p: float, outcome: bool | None) -> Markup:
    """A binary forecast: a bar filled to p, the outcome as a diamond at 0 or 1."""
    x0, x1 = _mini_x(0, 0, 1), _mini_x(1, 0, 1)
    xp, xm = _mini_x(p, 0, 1), num(_mini_x(0.5, 0, 1))
    body = (
        f'<rect class="trk" x="{num(x0)}" y="5" width="{num(x1 - x0)}" height="8"/>'
        f'<rect class="pbar" x="{num(x0)}" y="5" width="{num(xp - x0)}" height="8"/>'
        f'<line class="mid" x1="{xm}" x2="{xm}" y1="3" y2="15"/>'
    )
    label = f"{name}: {percent_label(p)} yes"
    if outcome is not None:
        xo = x1 if outcome else x0
        body += _shape("diamond", xo, 9, 5.4, 'class="omark"', None)
        label += f"; outcome {'yes' if outcome else 'no'}"
    return mini(MINI_W, MINI_H, body, label=label)


def mini_interval(
    name: str, q: Sequence[float], outcome: float | None, lo: float, hi: float, unit: str | None
) -> Markup:
    """A fraction or quantity forecast: 90% line, 50% box, median tick; the outcome dashed."""
    from predtrack.report.format import fmt

    body = _interval_body([_mini_x(float(v), lo, hi) for v in q], 9, box=4, tick=6)
    suffix = f" {unit}" if unit else ""
    label = (
        f"{name}: median {fmt(float(q[2]))}{suffix}, 50% interval {fmt(float(q[1]))}–"
        f"{fmt(float(q[3]))}, 90% interval {fmt(float(q[0]))}–{fmt(float(q[4]))}"
    )
    if outcome is not None:
        xo = _mini_x(outcome, lo, hi)
        body += f'<line class="oline" x1="{num(xo)}" x2="{num(xo)}" y1="0" y2="18"/>'
        label += f"; outcome {fmt(outcome)}"
    return mini(MINI_W, MINI_H, body, label=label)


def mini_categories(
    name: str, categories: Sequence[str], probs: Sequence[float], outcome: Any
) -> Markup:
    """A categorical forecast: one bar per category, the outcome's highlighted."""
    slot = (MINI_W - 2 * MINI_PAD) / max(1, len(categories))
    parts = []
    for i, (category, p) in enumerate(zip(categories, probs, strict=True)):
        height = max(0.5, 14 * float(p))
        cls = "cbar hit" if category == outcome else "cbar"
        parts.append(
            f'<rect class="{cls}" x="{num(MINI_PAD + i * slot + 1)}" y="{num(16 - height)}" '
            f'width="{num(slot - 2)}" height="{num(height)}">'
            f"{title_tag(f'{category}: {percent_label(float(p))}')}</rect>"
        )
    parts.append(
        f'<line class="base" x1="{num(MINI_PAD)}" x2="{num(MINI_W - MINI_PAD)}" y1="16.5" y2="16.5"/>'
    )
    label = f"{name}: " + ", ".join(
        f"{c} {percent_label(float(p))}" for c, p in zip(categories, probs, strict=True)
    )
    if outcome is not None:
        label += f"; outcome {outcome}"
    return mini(MINI_W, MINI_H, "".join(parts), label=label)


def _mini_frame(body: str, height: float, aria: str) -> Markup:
    return Markup(
        f'<svg class="mini axis" viewBox="0 0 {num(MINI_W)} {num(height)}" width="{num(MINI_W)}" '
        f'height="{num(height)}" {aria}>{body}</svg>'
    )


def mini_axis(
    lo: float, hi: float, ticks: Sequence[float], label: Callable[[float], str]
) -> Markup:
    """The shared axis above a card's interval or probability glyphs."""
    parts = [
        f'<line class="base" x1="{num(MINI_PAD)}" x2="{num(MINI_W - MINI_PAD)}" y1="15" y2="15"/>'
    ]
    for t in ticks:
        x = _mini_x(t, lo, hi)
        anchor = "middle"
        if x < MINI_PAD + 8:
            anchor = "start"
        elif x > MINI_W - MINI_PAD - 8:
            anchor = "end"
        parts.append(
            f'<line class="base" x1="{num(x)}" x2="{num(x)}" y1="13" y2="17"/>'
            f'<text x="{num(x)}" y="10" text-anchor="{anchor}">{escape(label(t))}</text>'
        )
    return _mini_frame("".join(parts), MINI_H, 'aria-hidden="true"')


def mini_category_axis(categories: Sequence[str]) -> Markup | None:
    """The category names over a card's bars, wrapped onto as many lines as they need."""
    if not categories:
        return None
    slot = (MINI_W - 2 * MINI_PAD) / len(categories)
    width = max(1, int(slot / MINI_CHAR))
    from predtrack.report.format import wrap_label

    wrapped = [wrap_label(category, width) for category in categories]
    lines = max(len(w) for w in wrapped)
    height = 6 + 10 * lines
    parts = []
    for i, (category, rows) in enumerate(zip(categories, wrapped, strict=True)):
        x = num(MINI_PAD + (i + 0.5) * slot)
        y = 10 + 10 * (lines - len(rows))
        parts.append(_text_lines(x, y, rows, "middle", leading=10, tip=category))
    aria = f'role="img" aria-label="{escape(", ".join(categories))}"'
    return _mini_frame("".join(parts), height, aria)


# --- a figure on its own (the "save SVG" link and `report --figures`) ---

FRAME_PAD = 10.0
FRAME_TITLE = 26.0
KEY_ROW = 18.0
CHAR_WIDTH = 6.4  # average width of an 11 px sans-serif character, to lay the legend out


def figure_frame(
    title: str, width: float, height: float, legend: Sequence[Key]
) -> tuple[str, float, float, str]:
    """The parts of a standalone figure around its chart: (head, chart x, chart y, tail).

    The head opens an `<svg>` root (without its namespace and stylesheet, which
    `standalone_svg` adds) with a white background and the title; the tail draws the legend
    under the chart, wrapping onto rows, and closes the root."""
    x0, y0 = FRAME_PAD, FRAME_PAD + FRAME_TITLE
    rows: list[list[tuple[float, Key]]] = [[]]
    used = 0.0
    for key in legend:
        room = 34 + CHAR_WIDTH * len(key.label) + 16
        if rows[-1] and used + room > width:
            rows.append([])
            used = 0.0
        rows[-1].append((used, key))
        used += room
    keys_height = KEY_ROW * len(rows) if legend else 0.0
    total_w = width + 2 * FRAME_PAD
    total_h = y0 + height + (8 + keys_height if legend else 0) + FRAME_PAD
    head = (
        f'<svg class="figure" width="{num(total_w)}" height="{num(total_h)}" '
        f'viewBox="0 0 {num(total_w)} {num(total_h)}">'
        f'<rect class="paper" x="0" y="0" width="{num(total_w)}" height="{num(total_h)}"/>'
        f'<text class="fig-title" x="{num(FRAME_PAD)}" y="{num(FRAME_PAD + 15)}">{escape(title)}</text>'
    )
    parts = ['<g class="legend">']
    top = y0 + height + 8
    for r, row in enumerate(rows):
        y = top + r * KEY_ROW
        for used, key in row:
            x = x0 + used
            parts.append(
                str(key.swatch).replace("<svg ", f'<svg x="{num(x)}" y="{num(y + 1)}" ', 1)
                + f'<text class="key" x="{num(x + 34)}" y="{num(y + 11)}">{escape(key.label)}</text>'
            )
    parts.append("</g></svg>")
    return head, x0, y0, "".join(parts) if legend else "</svg>"


def standalone_svg(
    chart: str, width: float, height: float, title: str, legend: Sequence[Key], css: str
) -> str:
    """A chart as a file of its own: valid XML, its stylesheet inline, the legend drawn in."""
    head, x, y, tail = figure_frame(title, width, height, legend)
    root = head.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    placed = chart.replace("<svg ", f'<svg x="{num(x)}" y="{num(y)}" ', 1)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + root.replace(">", f"><style><![CDATA[{css}]]></style>", 1)
        + placed
        + tail
        + "\n"
    )
