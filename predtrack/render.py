"""Plain-text renderings of the services' results for people (the CLI prints them)."""

from __future__ import annotations

from typing import Any

from predtrack.forecast import describe
from predtrack.output import fmt_number, local_time, shown_path, table, truncate
from predtrack.validate import display


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
    lines = [f"#{view['id']} {display(view['title'])}"]
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
        ("rule file", shown_path(view["rule_file"]) if view.get("rule_file") else None),
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
    evidence = (resolution or {}).get("evidence") or []
    if evidence:
        total = sum(e["size"] or 0 for e in evidence)
        digest = (resolution or {}).get("evidence_digest") or ""
        facts.append(
            (
                "evidence",
                f"{len(evidence)} file{'s' if len(evidence) != 1 else ''}, {total} bytes"
                + (f" (manifest sha256 {digest[:12]}…)" if len(evidence) > 1 and digest else ""),
            )
        )
    width = max(len(k) for k, _ in facts)
    lines += [f"  {k.ljust(width)}  {display(v)}" for k, v in facts if v not in (None, "")]
    shown = evidence if len(evidence) <= 8 else evidence[:5]  # a sweep lists its first files
    for e in shown:
        sha = (e["sha256"] or "")[:12]
        lines.append(f"  {'':{width}}    {display(e['path'])}  sha256 {sha}…  {e['size']} bytes")
    if len(shown) < len(evidence):
        lines.append(
            f"  {'':{width}}    and {len(evidence) - len(shown)} more (show --json lists all)"
        )
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
            what = f"{value}   from {display(o.artifact)} (sha256 {sha}…){late}"
            if o.detail:
                what += f"\n{'':10}  {display(o.detail)}"
        else:
            what = display(o.reason or "")
        verb = "would resolve" if run.dry_run and o.status == "resolved" else o.status
        lines.append(f"{verb:<9} {display(o.label)}: {what}")
    summary = (
        f"{len(run.outcomes)} pending rule(s): {run.count('resolved')} "
        f"{'would resolve' if run.dry_run else 'resolved'}, {run.count('pending')} still pending, "
        f"{run.count('failed')} failed"
        + (
            f", {run.count('annulled')} annulled (their runs failed)"
            if run.count("annulled")
            else ""
        )
        + (
            f", {run.count('skipped')} skipped (outside their folder)"
            if run.count("skipped")
            else ""
        )
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


def _width() -> int:
    """The terminal's width (COLUMNS wins); no limit when the output is not a terminal."""
    import os
    import shutil
    import sys

    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 10**6


def _with_ci(group: dict[str, Any], key: str, ci: bool) -> str:
    value = fmt_number(group.get(key), 3)
    interval = (group.get("ci") or {}).get(key) if ci else None
    if value and interval:
        value += f" [{fmt_number(interval[0], 2)}, {fmt_number(interval[1], 2)}]"
    return value


def score_table(document: dict[str, Any], *, wide: bool = False, width: int | None = None) -> str:
    """The `score` table with a one-line legend, fitted to the terminal unless `wide`."""
    from predtrack.vocabulary import PAIRED, SCORES

    groups = document["groups"]
    if not groups or not any(g["n"] for g in groups):
        counts = document.get("counts", {})
        return (
            "Nothing to score yet: no resolved question has a "
            + ("" if document.get("include_late") else "pre-registered (non-late) ")
            + f"prediction ({counts.get('resolved', 0)} resolved, {counts.get('pending', 0)} pending)."
        )
    # Raw CRPS averages over units: shown only when every continuous question shares one.
    skip = "crps" if len(document.get("continuous_units") or []) > 1 else "crps_scaled"
    columns = [
        s
        for s in SCORES
        if s.terminal and s.key != skip and any(g.get(s.key) is not None for g in groups)
    ]
    skills = []
    if document.get("baseline"):
        skills = [s for s in PAIRED if any(s.key in (g.get("skill") or {}) for g in groups)]
    limit = width or _width()

    def render(cis: bool, shown: int) -> str:
        cols = columns[:shown]
        skill_cols = skills[: max(0, shown - len(columns))]
        headers = (
            ["group", "n"]
            + [str(s.terminal) for s in cols]
            + [f"skill {s.key}" for s in skill_cols]
        )
        rows = []
        for g in groups:
            row: list[Any] = [g["group"], g["n"]]
            row += [_with_ci(g, s.key, cis and s.ci) for s in cols]
            row += [fmt_number((g.get("skill") or {}).get(s.key), 3) for s in skill_cols]
            rows.append(row)
        return table(headers, rows, right=list(range(1, len(headers))))

    total = len(columns) + len(skills)
    body = render(True, total)
    hidden = 0
    if not wide and max(map(len, body.splitlines())) > limit:
        body = render(False, total)
        while max(map(len, body.splitlines())) > limit and total - hidden > 1:
            hidden += 1
            body = render(False, total - hidden)
    unit = document.get("log_unit", "nats")
    crps = (
        "CRPS/scale: CRPS over each question's scale, unit-free"
        if skip == "crps"
        else "CRPS in the questions' unit"
    )
    ci = f" [..] = {document.get('ci_level', 0.9):.0%} bootstrap CI over questions."
    legend = (
        f"Lower is better (Brier, log in {unit}, MCB, {crps}); higher is better: DSC, "
        "skill = 1 - S/S_ref; cov50/cov90 should be near 0.5/0.9." + (ci if "[" in body else "")
    )
    import textwrap

    notes = [legend]
    if not wide and (hidden or "[" not in body):
        what = f"{hidden} column(s) and the CIs" if hidden else "the CIs"
        notes.append(
            f"To fit {limit} columns, {what} are not shown: `--wide` (or --json) shows all."
        )
    scope = (
        "including late predictions"
        if document.get("include_late")
        else "pre-registered predictions only"
    )
    if document.get("signed_only"):
        scope += ", signed ones only"
    notes.append(f"Scored: {scope}; baseline: {document.get('baseline') or 'none'}.")
    infinite = sum(
        g.get("log_infinite") or 0
        for g in groups
        if g["group"] not in ("team", "climatology", "naive")
    )
    if infinite:
        notes.append(
            f"{infinite} forecast(s) of exactly 0 or 1 were wrong: their log score is infinite."
        )
    for item in document.get("sealed") or []:
        notes.append(
            f"Still sealed at resolution: {item['forecaster']} on {item['question']} "
            f"(committed {item['committed_at']}; never revealed, so not scored)"
        )
    width = min(limit, 100)
    return "\n".join(
        [body, *(part for note in notes for part in textwrap.wrap(display(note), width))]
    )


def comparison_table(result: dict[str, Any]) -> str:
    """The `score --compare A B` table and its plain-language verdict."""
    a, b = result["a"], result["b"]
    if not result["scores"]:
        return f"{a} and {b} have no resolved question in common."
    rows = []
    verdicts = []
    for row in result["scores"]:
        ci = row.get("ci")
        rows.append(
            [
                row["score"],
                row["n"],
                fmt_number(row["mean_diff"], 3),
                f"[{fmt_number(ci[0], 3)}, {fmt_number(ci[1], 3)}]" if ci else "",
                fmt_number(row["p_value"], 3),
            ]
        )
        p = fmt_number(row["p_value"], 2)
        level = f"{result['ci_level']:.0%}"
        if row.get("note"):
            verdicts.append(f"{row['score']}: {row['note']}")
        elif row.get("verdict") in ("a", "b"):
            winner = a if row["verdict"] == "a" else b
            verdicts.append(
                f"{row['score']}: {winner} did better; the {level} CI excludes 0 and p = {p}"
            )
        elif row["mean_diff"] is not None and ci:
            alpha = fmt_number(1 - result["ci_level"], 2)
            why = (
                f"the CI includes 0, p = {p}"
                if ci[0] <= 0 <= ci[1]
                else f"the {level} CI excludes 0 but the Wilcoxon p = {p} is not below {alpha}"
            )
            verdicts.append(f"{row['score']}: no clear difference ({why})")
    lines = [
        f"{a} minus {b} over the questions both answered (negative: {a} did better)",
        table(
            ["score", "shared", "mean diff", f"{result['ci_level']:.0%} CI", "p (Wilcoxon)"],
            rows,
            right=[1, 2, 4],
        ),
    ]
    lines += verdicts
    return "\n".join(lines)


def verification_text(result: Any) -> str:
    """What `verify` prints: problems, notes, and the one-line verdict."""
    lines = []
    for p in result.problems:
        where = f"seq {p.seq}" if p.seq is not None else "no ledger entry"
        field = f".{p.field}" if p.field else ""
        lines.append(f"PROBLEM {where}: {p.table}{field}: {display(p.message)}")
    lines += [f"superseded: {display(s)}" for s in result.superseded]
    for name, section in result.sections.items():
        summary = section.get("summary") if isinstance(section, dict) else None
        if summary:
            lines.append(f"{name}: {display(summary)}")
    if result.ok:
        suffix = f"; contains {result.against}" if result.against else ""
        lines.append(f"OK: {result.entries} ledger entries, head {result.head or '0'}{suffix}")
    else:
        lines.append(
            f"FAILED: {len(result.problems)} problem(s) in {result.entries} ledger entries"
        )
    return "\n".join(lines)
