"""The HTML calibration and resolution report (`predtrack report`): its entry points.

One self-contained file: inline CSS, inline SVG charts, no script needed to read it and no
request to the network. Every number comes from `predtrack.score` (`collect`, `summarize`,
`compare`) and `predtrack.scoring`, so the report never says anything `predtrack score` would
compute differently; the exact `summarize` document behind the leaderboard is embedded as
JSON (`<script type="application/json" id="predtrack-scores">`).

The page is the tuple `predtrack.report.sections.SECTIONS`, each section a module with its
partial in templates/sections/; `view` holds what they share, `draw` all the SVG, `data`
the report's own reads of the store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predtrack.errors import InputError
from predtrack.output import write_file

if TYPE_CHECKING:
    from predtrack.report.sweeps import SweepPoints
    from predtrack.store.engine import Store

DEFAULT_QUESTIONS = 200
Progress = Callable[[str], None]

__all__ = ["ReportOptions", "ReportResult", "render_report", "write_report"]


@dataclass
class ReportOptions:
    """What `predtrack report` was asked for."""

    title: str | None = None
    experiment: str | None = None
    by: str = "forecaster"
    include_late: bool = False
    baseline: str = "climatology"
    questions: int | None = DEFAULT_QUESTIONS  # question cards in full; None: all
    seed: int = 0
    figures: Path | None = None  # also write every figure into this folder (SVG, and PDF)


@dataclass
class ReportResult:
    """What was written."""

    path: Path
    size: int
    verified: bool
    problems: int
    cards: int
    omitted: int
    counts: dict[str, int] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)


def write_report(
    store: Store,
    output: str | os.PathLike[str],
    options: ReportOptions | None = None,
    *,
    progress: Progress | None = None,
    sweep_points: SweepPoints | None = None,
) -> ReportResult:
    """Build the report and write it atomically (a temporary file, then `os.replace`);
    with `options.figures`, every figure too."""
    from predtrack.report.page import figure_css

    options = options or ReportOptions()
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"--output {str(path)!r} is a directory; give a file name")
    if not folder.is_dir():
        raise InputError(f"--output {str(path)!r}: the folder {str(folder)!r} does not exist")
    if options.figures is not None and options.figures.exists() and not options.figures.is_dir():
        raise InputError(f"--figures {str(options.figures)!r} is a file; give a folder")
    html, facts = render_report(store, options, progress=progress, sweep_points=sweep_points)
    written: list[Path] = []
    if options.figures is not None:
        if progress:
            progress("writing the figures")
        written = facts["figures"].write(options.figures, figure_css())
    if progress:
        progress("writing the file")
    data = html.encode("utf-8")
    write_file(path, [data], option="--output")
    return ReportResult(
        path=path,
        size=len(data),
        verified=facts["verified"],
        problems=facts["problems"],
        cards=facts["cards"],
        omitted=facts["omitted"],
        counts=facts["counts"],
        figures=written,
    )


def _summary(board: Any, by: str, options: ReportOptions) -> dict[str, Any]:
    """`predtrack score --json --by BY` of the board (without --signed-only: the report
    scores signed and unsigned predictions alike)."""
    from predtrack import score

    document = score.summarize(board, by=by, baseline=options.baseline, seed=options.seed)
    document["signed_only"] = False
    return document


def render_report(
    store: Store,
    options: ReportOptions,
    *,
    progress: Progress | None = None,
    sweep_points: SweepPoints | None = None,
) -> tuple[str, dict[str, Any]]:
    """The report's HTML and a few facts about it (for the command's summary line).

    `sweep_points(rule, base_dir)` reads the observed values of a sweep a rule names, for
    the experiment figure (the rules package's reader unless another is given)."""
    from predtrack import __version__, score
    from predtrack.integrity import head
    from predtrack.memory import without_gc
    from predtrack.report import data, page
    from predtrack.report.format import json_script
    from predtrack.report.sections import SECTIONS
    from predtrack.report.verification import Verifier
    from predtrack.report.view import View
    from predtrack.vocabulary import GROUPINGS

    if sweep_points is None:
        from predtrack.rules import sweep_points as read_sweep

        sweep_points = read_sweep

    def step(message: str) -> None:
        if progress:
            progress(message)

    if options.by not in GROUPINGS:
        raise InputError(f"--by {options.by!r}: expected one of {', '.join(GROUPINGS)}")
    if options.questions is not None and options.questions < 0:
        raise InputError(f"--questions {options.questions}: expected a number >= 0 or 'all'")
    step("starting the ledger check")
    ledger_head = head(store)
    rows = data.prediction_count(store)
    verifier = Verifier(store, rows)
    # No cyclic GC while the board and the page are built: they make no cycles, and on a large
    # store each collection would walk millions of objects made so far.
    paused = without_gc(rows > 10_000)
    paused.__enter__()
    try:
        step("reading the store")
        board = score.collect(
            store, include_late=options.include_late, experiment=options.experiment
        )
        questions = data.load_questions(
            store, options.experiment, options.questions, read=board.read
        )
        step("scoring")
        document = _summary(board, "forecaster", options)
        extra = _summary(board, options.by, options) if options.by != "forecaster" else None
        view = View(board, document, questions, options, extra=extra, sweep_points=sweep_points)
        parts = page.build(view, SECTIONS, step)
        counts, figures = board.counts, view.figures
        # The page needs only its parts now: the scored entries go before it is rendered (at
        # a million predictions they hold most of the memory).
        del view, board
        step("checking the ledger")
        verification = verifier.result()
    finally:
        paused.__exit__(None, None, None)
        verifier.close()
    names = [e["name"] for e in questions.experiments]
    title = options.title or (
        f"Predictions: {names[0]}" if len(names) == 1 else "Pre-registered predictions"
    )
    context = {
        "title": title,
        "store_label": store.label,
        "counts": counts,
        "head": verification["head"] or ledger_head,
        "head_full": verification["head_full"],
        "verification": verification,
        "options": options,
        "scores_json": json_script(document),
        "extra_json": json_script(extra) if extra is not None else None,
        "version": __version__,
        "figure_css": page.figure_css(),
    }
    step("rendering")
    html = page.render(parts, context, SECTIONS)
    cards = next((p.context for p in parts if p.section.name == "questions"), {})
    facts = {
        "verified": verification["ok"],
        "problems": len(verification["problems"]),
        "cards": len(cards.get("cards", [])),
        "omitted": cards.get("omitted", {}).get("count", 0),
        "counts": counts,
        "figures": figures,
    }
    return html, facts
