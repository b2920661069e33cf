"""What the report's sections share: the board, the score document, colours and names."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from predtrack.report.draw import DASHES, SHAPES, Key, Plot
from predtrack.report.figures import Figure, FigureSet
from predtrack.vocabulary import TEAM

if TYPE_CHECKING:
    from predtrack.report import ReportOptions
    from predtrack.report.data import QuestionSet
    from predtrack.score import Board, Entry

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)  # the quantiles a forecast is drawn with
FORECASTER_COLOURS = 7  # c0..c6 in the stylesheet (Okabe-Ito without black, kept for `team`)


@dataclass
class View:
    """One report being built: its inputs, and the state its sections share."""

    board: Board
    document: dict[str, Any]  # `score --json --by forecaster`: every number the report shows
    questions: QuestionSet
    options: ReportOptions
    extra: dict[str, Any] | None = None  # the document grouped by `options.by`, if not forecaster
    sweep_points: Callable[..., Any] | None = None  # reads a sweep's observed values, if given
    figures: FigureSet = field(default_factory=FigureSet)
    ids: int = 0

    def __post_init__(self) -> None:
        self.groups = {g["group"]: g for g in self.document["groups"]}
        self.forecasters = sorted({e.forecaster for e in self.board.entries})
        self.participants = self.forecasters + ([TEAM] if self.board.team else [])
        self.colour = {n: f"c{i % FORECASTER_COLOURS}" for i, n in enumerate(self.forecasters)}
        self.colour[TEAM] = "cT"
        # Colours repeat every FORECASTER_COLOURS forecasters; dashes and shapes keep each
        # forecaster apart without colour.
        self.dash = {n: DASHES[i % len(DASHES)] for i, n in enumerate(self.forecasters)}
        self.dash[TEAM] = ""
        self.shape = {n: SHAPES[i % len(SHAPES)] for i, n in enumerate(self.forecasters)}
        self.shape[TEAM] = SHAPES[0]
        self.entries: dict[str, list[Entry]] = defaultdict(list)
        self.by_question: dict[int, list[Entry]] = defaultdict(list)
        for entry in self.board.entries:
            self.entries[entry.forecaster].append(entry)
            self.by_question[entry.question_id].append(entry)
        self.entries[TEAM] = list(self.board.team)
        self.team_by_question = {e.question_id: e for e in self.board.team}
        self.shown = {info.id for info in self.questions.shown}

    def colour_of(self, name: str) -> str:
        """A forecaster's colour class (`cB`, grey, for names without one)."""
        return self.colour.get(name, "cB")

    def ident(self, prefix: str) -> str:
        """An id unique in the page."""
        self.ids += 1
        return f"{prefix}{self.ids}"

    def figure(
        self,
        section: str,
        subject: str,
        plot: Plot,
        *,
        title: str,
        desc: str,
        legend: Sequence[Key] = (),
        prefix: str = "fig",
    ) -> Figure:
        """A chart of the page, registered for `--figures` and its "save SVG" link."""
        return self.figures.add(
            section, subject, plot, ident=self.ident(prefix), title=title, desc=desc, legend=legend
        )

    @cached_property
    def continuous_units(self) -> set[str]:
        """The units of the scored fraction and quantity questions (see `score`)."""
        from predtrack.score import continuous_units

        return set(continuous_units(self.board.entries))

    def question_ref(self, qid: int) -> dict[str, Any]:
        """A question's label and title, with a link when it has a card."""
        meta = self.board.questions.get(qid, {})
        return {
            "qid": qid,
            "label": meta.get("label", f"#{qid}"),
            "title": meta.get("title", ""),
            "anchor": f"q{qid}" if qid in self.shown else None,
        }

    def outcome(self, qid: int) -> str:
        """A resolved question's outcome as text."""
        from predtrack.report.format import outcome_text

        resolution = self.board.questions.get(qid, {}).get("resolution")
        return outcome_text(resolution) if resolution is not None else ""


def forecast_quantiles(dist: dict[str, Any], bounds: tuple[float, float] | None) -> Any:
    """A forecast's 5%, 25%, 50%, 75% and 95% quantiles, or None when not finite."""
    import numpy as np

    from predtrack import scoring
    from predtrack.errors import PredtrackError

    try:
        q = np.asarray(scoring.from_spec(dist, bounds).ppf(np.array(LEVELS)), dtype=float)
    except (PredtrackError, ValueError, KeyError, TypeError):
        return None
    return q if np.isfinite(q).all() else None
