"""Plain-text renderings of the services' results for people (the CLI prints them)."""

from __future__ import annotations

from typing import Any

from predtrack.forecast import describe
from predtrack.output import fmt_number, local_time, table, truncate


def outcome_text(view: dict[str, Any]) -> str:
    """The outcome of a question view as a short string."""
    resolution = view.get("resolution")
    if view["status"] == "annulled" and resolution:
        return f"annulled: {resolution.get('reason') or ''}".strip()
    if view["status"] != "resolved" or not resolution:
        return ""
    value = resolution["value"]
    if resolution.get("n") is not None:
        return f"{resolution['k']}/{resolution['n']} = {fmt_number(value)}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt_number(value) if isinstance(value, (int, float)) else str(value)


def question_list(views: list[dict[str, Any]]) -> str:
    """The `list` table."""
    if not views:
        return "No questions yet. Register one with `predtrack predict TITLE FORECAST`."
    rows = []
    for v in views:
        n = len(v["predictions"]) + v["hidden_predictions"]
        late = sum(1 for p in v["predictions"] if p["late"])
        rows.append(
            [
                v["id"],
                v["key"] or "",
                v["experiment"],
                v["kind"],
                v["status"],
                f"{n}" + (f" ({late} late)" if late else ""),
                truncate(outcome_text(v), 24),
                truncate(v["title"], 50),
            ]
        )
    return table(
        ["id", "key", "experiment", "kind", "status", "predictions", "outcome", "title"],
        rows,
        right=[0],
    )


def question_detail(view: dict[str, Any]) -> str:
    """The `show` page of one question."""
    lines = [f"#{view['id']} {view['title']}"]
    facts = [
        ("key", f"{view['experiment']}/{view['key']}" if view["key"] else view["experiment"]),
        ("kind", view["kind"] + (" (ordered)" if view.get("ordered") else "")),
        ("unit", view.get("unit")),
        (
            "bounds",
            " to ".join(fmt_number(b) for b in view["bounds"]) if view.get("bounds") else None,
        ),
        ("categories", ", ".join(view["categories"]) if view.get("categories") else None),
        ("tags", ", ".join(view["tags"]) if view.get("tags") else None),
        ("rule", view.get("rule")),
        ("rule file", view.get("rule_file")),
        ("note", view.get("note")),
        ("status", view["status"]),
        ("outcome", outcome_text(view) or None),
    ]
    resolution = view.get("resolution")
    if resolution:
        source = resolution["source"]
        if resolution.get("artifact"):
            sha = (resolution.get("sha256") or "")[:12]
            source += f": {resolution['artifact']}" + (f" (sha256 {sha}…)" if sha else "")
        facts.append(
            ("resolved", f"{local_time(resolution['resolved_at'])} by {resolution['resolved_by']}")
        )
        facts.append(("source", source))
        if resolution.get("detail"):
            facts.append(("detail", resolution["detail"]))
        for old in resolution.get("history", []):
            what = "annulled" if old["status"] == "annulled" else f"value {old['value']!r}"
            facts.append(
                ("corrected", f"{what} of {local_time(old['resolved_at'])} by {old['resolved_by']}")
            )
        if resolution.get("reason") and view["status"] == "resolved":
            facts.append(("reason", resolution["reason"]))
    width = max(len(k) for k, _ in facts)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in facts if v not in (None, "")]
    lines.append("")
    if view["predictions"]:
        rows = [
            [
                p["id"],
                p["forecaster"],
                local_time(p["made_at"]),
                truncate(p["forecast"], 40),
                truncate(describe(p["distribution"]), 44),
                ("late: " + (p.get("late_reason") or "")) if p["late"] else "",
            ]
            for p in view["predictions"]
        ]
        lines.append(table(["id", "forecaster", "made at", "forecast", "stored as", "late"], rows))
    if view["hidden_predictions"]:
        lines.append(
            f"{view['hidden_predictions']} prediction(s) hidden until you predict on this question "
            "(blind by default against anchoring; --reveal shows them)"
        )
    if not view["predictions"] and not view["hidden_predictions"]:
        lines.append("No predictions yet.")
    return "\n".join(lines).rstrip()


def experiment_list(rows: list[dict[str, Any]]) -> str:
    """The `experiment list` table."""
    if not rows:
        return "No experiments yet."
    return table(
        ["name", "questions", "predictions", "artifacts", "locked", "description"],
        [
            [
                r["name"],
                r["questions"],
                r["predictions"],
                r["artifacts"],
                local_time(r["locked_at"]) or "no",
                truncate(r["description"], 50),
            ]
            for r in rows
        ],
        right=[1, 2, 3],
    )


def resolve_run(run: Any) -> str:
    """The per-question report of `resolve` without a question."""
    lines = []
    for o in run.outcomes:
        if o.status == "resolved":
            value = (
                f"{o.k}/{o.n} = {fmt_number(o.value)}"
                if o.n is not None
                else (
                    ("yes" if o.value else "no")
                    if isinstance(o.value, bool)
                    else fmt_number(o.value)
                )
            )
            sha = (o.sha256 or "")[:12]
            late = f"; {o.late_marked} prediction(s) marked late" if o.late_marked else ""
            what = f"{value}   from {o.artifact} (sha256 {sha}…){late}"
            if o.detail:
                what += f"\n{'':10}  {o.detail}"
        else:
            what = o.reason or ""
        verb = "would resolve" if run.dry_run and o.status == "resolved" else o.status
        lines.append(f"{verb:<9} {o.label}: {what}")
    summary = (
        f"{len(run.outcomes)} pending rule(s): {run.count('resolved')} "
        f"{'would resolve' if run.dry_run else 'resolved'}, {run.count('pending')} still pending, "
        f"{run.count('failed')} failed"
    )
    if run.already:
        summary += f"; {run.already} already resolved or annulled"
    if run.without_rule:
        summary += f"; {run.without_rule} pending without a rule (resolve them by hand)"
    if not run.outcomes:
        summary = "Nothing to resolve: no pending question has a rule" + (
            f" ({run.already} already resolved or annulled)" if run.already else ""
        )
    lines.append(summary)
    if run.dry_run:
        lines.append("Dry run: nothing was written.")
    elif run.head:
        lines.append(f"Ledger head {run.head}")
    return "\n".join(lines)
