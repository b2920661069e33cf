"""A small SVG drawing helper for the HTML report: linear scales, axes, marks, escaped text.

Every piece of text that reaches the SVG goes through `markupsafe.escape`, and a finished
chart is returned as `Markup`, so Jinja's autoescaping inserts it as is and nothing a user
typed (a forecaster name, a question title in a tooltip) can become markup.

Charts carry no colours of their own: marks get CSS classes (`c0`..`c7` for the forecasters,
`band`, `curve`, ...) that the report's stylesheet maps to the Okabe-Ito palette, which keeps
the files small and lets print CSS restyle them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

# Dash patterns that tell lines apart without colour (one per forecaster, cycling).
DASHES = ("", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 2 1 2 1 2", "3 5")


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
    return f"{value * 100:.0f}%"


@dataclass
class Scale:
    """A linear map from a data interval onto a pixel interval."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        span = self.d1 - self.d0
        if span == 0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) * (self.r1 - self.r0) / span


def title_tag(text: str | None) -> str:
    """A `<title>` child (a native tooltip), escaped."""
    return f"<title>{escape(text)}</title>" if text else ""


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
        self.sx = Scale(self.x[0], self.x[1], left, self.width - right)
        self.sy = Scale(self.y[0], self.y[1], self.height - bottom, top)

    # --- geometry of the plotting area (pixels) ---

    @property
    def left(self) -> float:
        return self.margin[3]

    @property
    def right(self) -> float:
        return self.width - self.margin[1]

    @property
    def top(self) -> float:
        return self.margin[0]

    @property
    def bottom(self) -> float:
        return self.height - self.margin[2]

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
        xfmt: Callable[[float], str] = tick_label,
        yfmt: Callable[[float], str] = tick_label,
        grid: bool = True,
    ) -> None:
        """Grid lines, both axes with ticks and tick labels, and the axis titles."""
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
            out.append(
                f'<line x1="{x}" x2="{x}" y1="{num(self.bottom)}" y2="{num(self.bottom + 4)}"/>'
                f'<text x="{x}" y="{num(self.bottom + 15)}" text-anchor="middle">'
                f"{escape(xfmt(value))}</text>"
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
        body = title_tag(tip)
        self.parts.append(
            f'<polyline class="{cls}" fill="none" points="{points}"{dash_attr}>{body}</polyline>'
            if body
            else f'<polyline class="{cls}" fill="none" points="{points}"{dash_attr}/>'
        )

    def segment(
        self, x1: float, y1: float, x2: float, y2: float, *, cls: str, tip: str | None = None
    ) -> None:
        attrs = (
            f'class="{cls}" x1="{num(self.sx(x1))}" y1="{num(self.sy(y1))}" '
            f'x2="{num(self.sx(x2))}" y2="{num(self.sy(y2))}"'
        )
        body = title_tag(tip)
        self.parts.append(f"<line {attrs}>{body}</line>" if body else f"<line {attrs}/>")

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
        body = title_tag(tip)
        self.parts.append(f"<rect {attrs}>{body}</rect>" if body else f"<rect {attrs}/>")

    def marker(
        self,
        x: float,
        y: float,
        *,
        cls: str,
        shape: str = "circle",
        size: float = 3.5,
        tip: str | None = None,
    ) -> None:
        """A point: circle, square or diamond (shapes tell series apart without colour)."""
        cx, cy = self.sx(x), self.sy(y)
        body = title_tag(tip)
        if shape == "square":
            tag = "rect"
            attrs = (
                f'x="{num(cx - size)}" y="{num(cy - size)}" '
                f'width="{num(2 * size)}" height="{num(2 * size)}"'
            )
        elif shape == "diamond":
            tag = "polygon"
            attrs = (
                f'points="{num(cx)},{num(cy - size * 1.3)} {num(cx + size * 1.3)},{num(cy)} '
                f'{num(cx)},{num(cy + size * 1.3)} {num(cx - size * 1.3)},{num(cy)}"'
            )
        else:
            tag = "circle"
            attrs = f'cx="{num(cx)}" cy="{num(cy)}" r="{num(size)}"'
        self.parts.append(
            f'<{tag} class="{cls}" {attrs}>{body}</{tag}>'
            if body
            else f'<{tag} class="{cls}" {attrs}/>'
        )

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
        pixels: bool = False,
    ) -> None:
        """A text label at a data point (or at pixel coordinates with `pixels=True`)."""
        px, py = (x, y) if pixels else (self.sx(x), self.sy(y))
        self.parts.append(
            f'<text class="{cls}" x="{num(px + dx)}" y="{num(py + dy)}" '
            f'text-anchor="{anchor}">{escape(value)}</text>'
        )

    def render(self, *, ident: str, title: str, desc: str, cls: str = "chart") -> Markup:
        """The finished `<svg>`: role="img", an accessible name and a text alternative."""
        head = (
            f'<svg class="{cls}" viewBox="0 0 {num(self.width)} {num(self.height)}" '
            f'width="{num(self.width)}" height="{num(self.height)}" role="img" '
            f'aria-labelledby="{ident}-t" aria-describedby="{ident}-d" '
            f'preserveAspectRatio="xMidYMid meet">'
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def mini(width: float, height: float, body: str, *, label: str, cls: str = "mini") -> Markup:
    """A small inline graphic (a forecast in a question card).

    Its `<title>` is both the accessible name (SVG-AAM) and the hover text. `body` must
    already be escaped SVG (built with `num`/`title_tag` and fixed strings).
    """
    return Markup(
        f'<svg class="{cls}" viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" '
        f'height="{num(height)}" role="img">{title_tag(label)}{body}</svg>'
    )


def swatch(kind: str, cls: str, *, dash: str = "", label: str = "") -> Markup:
    """A legend key: a line, a band, a bar or a marker, 28 x 12 pixels."""
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    if kind == "band":
        body = (
            f'<rect class="{cls}" x="1" y="2" width="26" height="8"/>'
            f'<line class="{cls}-edge" x1="1" x2="27" y1="2" y2="2"/>'
            f'<line class="{cls}-edge" x1="1" x2="27" y1="10" y2="10"/>'
        )
    elif kind == "bar":
        body = f'<rect class="{cls}" x="8" y="1" width="12" height="10"/>'
    elif kind in ("circle", "square", "diamond"):
        shape = {
            "circle": '<circle cx="14" cy="6" r="3.5"',
            "square": '<rect x="10.5" y="2.5" width="7" height="7"',
            "diamond": '<polygon points="14,1.5 18.5,6 14,10.5 9.5,6"',
        }[kind]
        body = f'<line class="{cls}" x1="1" x2="27" y1="6" y2="6"/>{shape} class="{cls}"/>'
    else:
        body = f'<line class="{cls}" x1="1" x2="27" y1="6" y2="6"{dash_attr}/>'
    aria = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    return Markup(
        f'<svg class="swatch" viewBox="0 0 28 12" width="28" height="12" {aria}>{body}</svg>'
    )
