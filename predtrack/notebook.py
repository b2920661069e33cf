"""HTML for notebooks (`_repr_html_`): questions, score tables, verifications; all text escaped."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import escape


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return escape(", ".join(_cell(v) for v in value))
    if isinstance(value, dict):
        return escape(", ".join(f"{k}={_cell(v)}" for k, v in value.items()))
    return str(escape("" if value is None else str(value)))


def rows_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """A list of dicts as an HTML table (columns: every key, in first-seen order)."""
    if not rows:
        return "<p><i>(no rows)</i></p>"
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns and k != "predictions"]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def question_html(view: Mapping[str, Any]) -> str:
    """One question view: its facts, and its predictions as a table."""
    facts = [
        (name, view.get(name))
        for name in ("key", "experiment", "kind", "unit", "rule", "status", "outcome")
        if view.get(name) not in (None, "")
    ]
    items = "".join(f"<tr><th>{escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in facts)
    predictions = [
        {k: p.get(k) for k in ("forecaster", "made_at", "forecast", "late")}
        for p in view.get("predictions", [])
    ]
    hidden = view.get("hidden_predictions") or 0
    note = (
        f"<p>{hidden} prediction(s) hidden until you predict on this question.</p>"
        if hidden
        else ""
    )
    return (
        f"<div><h4>#{escape(view.get('id'))} {escape(view.get('title', ''))}</h4>"
        f"<table>{items}</table>{rows_html(predictions) if predictions else ''}{note}</div>"
    )


def verification_html(result: Any) -> str:
    """A verification: OK or FAILED with each problem."""
    if result.ok:
        return f"<p><b>✓ OK</b>: {result.entries} ledger entries, head <code>{escape(result.head or '0')}</code></p>"
    problems = "".join(
        f"<li>seq {escape(p.seq)}: <code>{escape(p.table)}{escape('.' + p.field if p.field else '')}</code> — {escape(p.message)}</li>"
        for p in result.problems
    )
    return f"<p><b>✗ FAILED</b>: {len(result.problems)} problem(s)</p><ul>{problems}</ul>"
