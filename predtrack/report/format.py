"""How the report writes numbers, shares, lists, wrapped labels and embedded JSON."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a cell: `inf` / `∞` honestly, blank for missing."""
    from predtrack.output import fmt_number

    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = fmt_number(value, digits)
    return text.replace("-", "−") if text.startswith("-") else text


def data_value(value: Any) -> str:
    """Full precision for a `data-value` attribute (`inf` for infinity, blank for missing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def pct(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value * 100:.0f}%"


def given(log_score: float) -> str:
    """The probability a forecast gave to what happened, from its log score."""
    if not math.isfinite(log_score):
        return "0%"
    p = math.exp(-log_score)
    return f"{p * 100:.1f}%" if p < 0.1 else pct(p)


def tip_list(labels: Sequence[str], total: int) -> str:
    """Labels for a tooltip, with how many more there are."""
    more = total - len(labels)
    text = ", ".join(labels)
    return text + (f" and {more} more" if more > 0 else "")


def waiting(counts: dict[str, int]) -> str:
    """` (3 pending, 1 annulled)`: why a section has nothing yet."""
    parts = []
    if counts.get("pending"):
        parts.append(f"{counts['pending']} pending")
    if counts.get("annulled"):
        parts.append(f"{counts['annulled']} annulled")
    return f" ({', '.join(parts)})" if parts else ""


def json_script(value: Any) -> Markup:
    """JSON for a `<script type="application/json">`: `<`, `>`, `&` escaped, so no text
    inside can close the tag (the parsed value is unchanged)."""
    from predtrack.output import to_json

    text = (
        to_json(value)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(text)


def outcome_text(resolution: Any) -> str:
    """A resolution's outcome for people: `yes`, `37/50 = 0.74`, `14.08`, a category."""
    from predtrack.render import outcome_text as render_outcome

    return render_outcome(
        {
            "status": "resolved",
            "resolution": {"value": resolution.outcome, "k": resolution.k, "n": resolution.n},
        }
    )


def wrap_label(text: str, width: int) -> list[str]:
    """A label broken into lines of at most `width` characters, never shortened.

    Breaks after spaces, hyphens, underscores and slashes; a word longer than a line is
    split inside (every character stays, so nothing is lost to an ellipsis)."""
    width = max(1, width)
    pieces = [p for p in re.split(r"(?<=[\s\-_/])", text.strip()) if p]
    lines: list[str] = []
    current = ""
    for piece in pieces:
        while len(piece) > width:
            room = width - len(current)
            if room <= 0:
                lines.append(current.rstrip())
                current, room = "", width
            current += piece[:room]
            piece = piece[room:]
            lines.append(current.rstrip())
            current = ""
        if len(current) + len(piece.rstrip()) > width and current:
            lines.append(current.rstrip())
            current = ""
        current += piece
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines
