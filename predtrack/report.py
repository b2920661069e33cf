"""The HTML calibration and resolution report (`predtrack report`, DESIGN §5, §8).

One self-contained file: inline CSS, inline SVG charts drawn by `predtrack.svg`, no script
needed to read it and no request to the network. Every number comes from `predtrack.score`
(`collect`, `summarize`, `compare`) and `predtrack.scoring`, so the report never says anything
`predtrack score` would compute differently; the exact `summarize` document behind the
leaderboard is embedded as JSON (`<script type="application/json" id="predtrack-scores">`).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predtrack.errors import InputError

if TYPE_CHECKING:
    from markupsafe import Markup

    from predtrack.score import Board, Entry
    from predtrack.store.engine import Store

DEFAULT_QUESTIONS = 200
MIN_OVER_TIME = 10  # resolved binary questions a forecaster needs for a running score
MIN_SHARED = 10  # shared questions below which a head-to-head cell says "too few"
TIP_LABELS = 8  # question labels listed in one tooltip
SURPRISES = 10
PARALLEL_VERIFY_MIN = 5000  # rows (predictions) from which verification runs in a child process
H2H_BUDGET = 40_000_000  # resampled differences for all head-to-head bootstraps together
FULL_RESAMPLES = 2000  # what `score.compare` uses
MIN_RESAMPLES = 200
FORECASTER_COLOURS = 7  # c0..c6 in the stylesheet (Okabe-Ito without black, kept for `team`)
MAX_LINE_POINTS = 400
MAX_POINTS = 80  # hover points in a reliability diagram
KINDS = ("binary", "fraction", "quantity", "categorical")

Progress = Callable[[str], None]


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


# --------------------------------------------------------------------------- entry points


def write_report(
    store: Store,
    output: str | os.PathLike[str],
    options: ReportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ReportResult:
    """Build the report and write it atomically (a temporary file, then `os.replace`)."""
    options = options or ReportOptions()
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"--output {str(path)!r} is a directory; give a file name")
    if not folder.is_dir():
        raise InputError(f"--output {str(path)!r}: the folder {str(folder)!r} does not exist")
    html, facts = render_report(store, options, progress=progress)
    if progress:
        progress("writing the file")
    data = html.encode("utf-8")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise InputError(f"--output {str(path)!r}: cannot write there ({error.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ReportResult(
        path=path,
        size=len(data),
        verified=facts["verified"],
        problems=facts["problems"],
        cards=facts["cards"],
        omitted=facts["omitted"],
        counts=facts["counts"],
    )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def render_report(
    store: Store, options: ReportOptions, *, progress: Progress | None = None
) -> tuple[str, dict[str, Any]]:
    """The report's HTML and a few facts about it (for the command's summary line)."""
    from predtrack import __version__, score
    from predtrack.integrity import head
    from predtrack.output import local_time

    def step(message: str) -> None:
        if progress:
            progress(message)

    if options.by not in score.GROUPINGS:
        raise InputError(f"--by {options.by!r}: expected one of {', '.join(score.GROUPINGS)}")
    if options.questions is not None and options.questions < 0:
        raise InputError(f"--questions {options.questions}: expected a number >= 0 or 'all'")
    step("starting the ledger check")
    ledger_head = head(store)
    verifier = _Verifier(store, _rows(store))
    try:
        step("reading the store")
        board = score.collect(
            store, include_late=options.include_late, experiment=options.experiment
        )
        questions = _load_questions(store, options.experiment, options.questions)
        step("scoring")
        document = score.summarize(
            board, by="forecaster", baseline=options.baseline, seed=options.seed
        )
        extra = None
        if options.by != "forecaster":
            extra = score.summarize(
                board, by=options.by, baseline=options.baseline, seed=options.seed
            )
        builder = _Builder(board, document, questions, options)
        step("comparing forecasters")
        context = builder.build(step)
        step("checking the ledger")
        verification = verifier.result()
    finally:
        verifier.close()
    names = [e["name"] for e in questions.experiments]
    title = options.title or (
        f"Predictions: {names[0]}" if len(names) == 1 else "Pre-registered predictions"
    )
    context.update(
        title=title,
        store_label=store.label,
        experiments=questions.experiments,
        experiment_filter=options.experiment,
        counts=board.counts,
        head=verification["head"] or ledger_head,
        head_full=verification["head_full"],
        verification=verification,
        generated_at=local_time(datetime.now(UTC)),
        options=options,
        scores_json=json_script(document),
        extra=builder.leaderboard(extra, virtual=False) if extra is not None else None,
        extra_json=json_script(extra) if extra is not None else None,
        by=options.by,
        version=__version__,
    )
    step("rendering")
    html = _environment().get_template("report.html.j2").render(**context)
    facts = {
        "verified": verification["ok"],
        "problems": len(verification["problems"]),
        "cards": len(context["cards"]),
        "omitted": context["omitted"]["count"],
        "counts": board.counts,
    }
    return html, facts


# --------------------------------------------------------------------------- helpers


def templates_dir() -> Path:
    """The Jinja templates: inside the wheel, or at the top of a source checkout."""
    from importlib.resources import files

    packaged = Path(str(files("predtrack"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "templates"


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    return env


def json_script(value: Any) -> Markup:
    """JSON for a `<script type="application/json">`: `<`, `>`, `&` escaped, so no text
    inside can close the tag (the parsed value is unchanged)."""
    from markupsafe import Markup

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


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _given(log_score: float) -> str:
    """The probability a forecast gave to what happened, from its log score."""
    if not math.isfinite(log_score):
        return "0%"
    p = math.exp(-log_score)
    return f"{p * 100:.1f}%" if p < 0.1 else _pct(p)


def _tip_list(labels: Sequence[str], total: int) -> str:
    more = total - len(labels)
    text = ", ".join(labels)
    return text + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- verification


def _verification_dict(result: Any) -> dict[str, Any]:
    return {
        "ok": bool(result.ok),
        "entries": int(result.entries),
        "head": result.head,
        "head_full": result.head_full,
        "problems": [p.as_dict() for p in result.problems],
        "warnings": list(result.warnings),
    }


def _rows(store: Store) -> int:
    """How many predictions the store holds: what verification's cost grows with (one bulk
    import is a single ledger entry, so the ledger's length says little)."""
    from sqlalchemy import func, select

    from predtrack.store.ledger import table_of
    from predtrack.store.models import Prediction

    with store.read() as session:
        return int(
            session.execute(select(func.count()).select_from(table_of(Prediction))).scalar() or 0
        )


def _verify_url(url: str) -> dict[str, Any]:
    """`integrity.verify` on its own connection (runs in a child process on large ledgers)."""
    from predtrack.integrity import verify
    from predtrack.store.engine import Store

    store = Store(url)
    try:
        return _verification_dict(verify(store))
    finally:
        store.dispose()


class _Verifier:
    """`predtrack verify` at generation time.

    Verification re-reads the whole ledger and every row, independently of the scoring, so on
    a large store it runs in a child process, on another core, while this one scores and
    draws; on a small one (or where processes cannot be started) it simply runs here.
    """

    def __init__(self, store: Store, rows: int) -> None:
        self.store = store
        self.pool: Any = None
        self.future: Any = None
        if rows < PARALLEL_VERIFY_MIN or (os.cpu_count() or 1) < 2:
            return
        try:
            import multiprocessing
            import threading
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            method = "fork" if "fork" in methods and threading.active_count() == 1 else "spawn"
            self.pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(method)
            )
            self.future = self.pool.submit(_verify_url, store.url)
        except (OSError, ImportError, NotImplementedError, ValueError):
            self.close()

    def result(self) -> dict[str, Any]:
        if self.future is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return dict(self.future.result())
            except (BrokenProcessPool, OSError):
                pass  # the child died (out of memory?): verify here instead
            finally:
                self.close()
        from predtrack.integrity import verify

        return _verification_dict(verify(self.store))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            self.future = None


# --------------------------------------------------------------------------- questions


@dataclass
class QuestionInfo:
    """One question as the report shows it (the score board has only the resolved ones)."""

    id: int
    key: str | None
    label: str
    experiment: str
    title: str
    kind: str
    unit: str | None
    bounds: tuple[float, float] | None
    categories: list[str] | None
    tags: list[str]
    note: str | None
    rule: str | None
    rule_file: str | None
    created_at: datetime
    created_by: str
    status: str
    resolution: Any = None
    history: list[Any] = field(default_factory=list)
    # Predictions the board does not score: late ones, and all on unresolved questions.
    unscored: list[Any] = field(default_factory=list)


@dataclass
class QuestionSet:
    """The questions the report shows in full, and what it only counts."""

    shown: list[QuestionInfo]  # resolved, with a card
    omitted: list[tuple[str, str]]  # (experiment, kind) of each resolved question without one
    annulled: list[QuestionInfo]
    annulled_total: int
    pending: list[QuestionInfo]
    pending_total: int
    experiments: list[dict[str, Any]]


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _load_questions(store: Store, experiment: str | None, limit: int | None) -> QuestionSet:
    """Read what the cards and lists need: full rows only for the questions shown in full.

    Core rows (attribute access like ORM objects, a fraction of the cost on a large store).
    """
    from sqlalchemy import select

    from predtrack.predict import question_label
    from predtrack.questions import rule_file
    from predtrack.score import scoring_bounds
    from predtrack.store.ledger import table_of
    from predtrack.store.models import Experiment, Prediction, Question, Resolution

    qt, rt, et, pt = (table_of(m) for m in (Question, Resolution, Experiment, Prediction))
    with store.read() as session:
        query = (
            select(qt.c.id, qt.c.kind, et.c.name)
            .join(et, qt.c.experiment_id == et.c.id)
            .order_by(qt.c.id)
        )
        if experiment is not None:
            query = query.where(et.c.name == experiment)
        scope = {row.id: (row.name, row.kind) for row in session.execute(query)}
        names_in_scope = {name for name, _ in scope.values()}
        history: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(select(rt).order_by(rt.c.question_id, rt.c.id)):
            if row.question_id in scope:
                history[row.question_id].append(row)
        resolved = [q for q in scope if q in history and history[q][-1].status == "resolved"]
        annulled = [q for q in scope if q in history and history[q][-1].status == "annulled"]
        pending = [q for q in scope if q not in history]
        shown = resolved if limit is None else resolved[:limit]
        listed_annulled = annulled if limit is None else annulled[:limit]
        listed_pending = pending if limit is None else pending[:limit]
        wanted = [*shown, *listed_annulled, *listed_pending]
        rows: dict[int, Any] = {}
        for ids in _chunks(wanted):
            for row in session.execute(
                select(qt, et.c.name.label("experiment_name"))
                .join(et, qt.c.experiment_id == et.c.id)
                .where(qt.c.id.in_(ids))
            ):
                rows[row.id] = row
        # Predictions the board does not score: late ones on the cards, all on open questions.
        unscored: dict[int, list[Any]] = defaultdict(list)
        columns = (
            pt.c.id,
            pt.c.question_id,
            pt.c.forecaster,
            pt.c.made_at,
            pt.c.forecast,
            pt.c.distribution,
            pt.c.late,
            pt.c.late_reason,
        )
        card_ids = set(shown)
        for row in session.execute(
            select(*columns).where(pt.c.late.is_(True)).order_by(pt.c.made_at, pt.c.id)
        ):
            if row.question_id in card_ids:
                unscored[row.question_id].append(row)
        for ids in _chunks([*listed_annulled, *listed_pending]):
            for row in session.execute(
                select(*columns).where(pt.c.question_id.in_(ids)).order_by(pt.c.made_at, pt.c.id)
            ):
                unscored[row.question_id].append(row)
        experiments = [
            {
                "name": e.name,
                "description": e.description,
                "locked_at": e.locked_at,
                "lock_reason": e.lock_reason,
            }
            for e in session.execute(select(et).order_by(et.c.name))
            if e.name in names_in_scope or e.name == experiment
        ]

    def info(qid: int, status: str) -> QuestionInfo:
        question = rows[qid]
        name = question.experiment_name
        bounds = scoring_bounds(question)
        states = history.get(qid, [])
        return QuestionInfo(
            id=qid,
            key=question.key,
            label=question_label(question, name),
            experiment=name,
            title=question.title,
            kind=question.kind,
            unit=question.unit,
            bounds=bounds,
            categories=question.categories,
            tags=list(question.tags or []),
            note=question.note,
            rule=question.rule,
            rule_file=rule_file(question),
            created_at=question.created_at,
            created_by=question.created_by,
            status=status,
            resolution=states[-1] if states else None,
            history=states[:-1],
            unscored=unscored.get(qid, []),
        )

    shown_set = set(shown)
    return QuestionSet(
        shown=[info(q, "resolved") for q in shown],
        omitted=[scope[q] for q in resolved if q not in shown_set],
        annulled=[info(q, "annulled") for q in listed_annulled],
        annulled_total=len(annulled),
        pending=[info(q, "pending") for q in listed_pending],
        pending_total=len(pending),
        experiments=experiments,
    )


def outcome_text(resolution: Any) -> str:
    """A resolution's outcome for people: `yes`, `37/50 = 0.74`, `14.08`, a category."""
    from predtrack.render import outcome_text as render_outcome

    return render_outcome(
        {
            "status": "resolved",
            "resolution": {"value": resolution.outcome, "k": resolution.k, "n": resolution.n},
        }
    )


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Turns the board, its summary and the questions into the template's context."""

    def __init__(
        self,
        board: Board,
        document: dict[str, Any],
        questions: QuestionSet,
        options: ReportOptions,
    ) -> None:
        from predtrack.score import TEAM

        self.board = board
        self.document = document
        self.question_set = questions
        self.options = options
        self.seed = options.seed
        self.groups = {g["group"]: g for g in document["groups"]}
        self.forecasters = sorted({e.forecaster for e in board.entries})
        self.participants = self.forecasters + ([TEAM] if board.team else [])
        self.colour = {
            name: f"c{i % FORECASTER_COLOURS}" for i, name in enumerate(self.forecasters)
        }
        self.colour[TEAM] = "cT"
        self.dash = {name: _dash(i) for i, name in enumerate(self.forecasters)}
        self.dash[TEAM] = ""
        self.entries: dict[str, list[Entry]] = defaultdict(list)
        for entry in board.entries:
            self.entries[entry.forecaster].append(entry)
        self.entries[TEAM] = list(board.team)
        self.by_question: dict[int, list[Entry]] = defaultdict(list)
        for entry in board.entries:
            self.by_question[entry.question_id].append(entry)
        self.team_by_question = {e.question_id: e for e in board.team}
        self.ids = 0
        self.shown = {info.id for info in questions.shown}

    def ident(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    def build(self, step: Progress) -> dict[str, Any]:
        context: dict[str, Any] = {"leaderboard": self.leaderboard(self.document, virtual=True)}
        context["h2h"] = self.head_to_head()
        step("drawing charts")
        context["binary"] = self.binary_calibration()
        context["continuous"] = self.continuous_calibration()
        context["over_time"] = self.over_time()
        context["surprises"] = self.surprises()
        step("question cards")
        context.update(self.questions())
        context["legend"] = _legend()
        return context

    # --- leaderboard ---

    def leaderboard(self, document: dict[str, Any], *, virtual: bool) -> dict[str, Any]:
        from predtrack.score import BUILTIN_BASELINES, TEAM

        groups = document["groups"]
        columns = [
            (key, label, has_ci)
            for key, label, has_ci in (
                ("brier", "Brier", True),
                ("log", "log", True),
                ("crps", "CRPS", True),
                ("brier_cat", "cat. Brier", True),
                ("log_cat", "cat. log", False),
            )
            if any(g.get(key) is not None for g in groups)
        ]
        skills = [
            (key, label)
            for key, label in (
                ("brier", "Brier"),
                ("log", "log"),
                ("crps", "CRPS"),
                ("brier_cat", "cat. Brier"),
            )
            if any((g.get("skill") or {}).get(key) is not None for g in groups)
        ]
        rows = []
        for g in groups:
            name = g["group"]
            role = "real"
            if virtual and name == TEAM:
                role = "team"
            elif virtual and name in BUILTIN_BASELINES:
                role = "baseline"
            cells = []
            for key, _, has_ci in columns:
                value = g.get(key)
                ci = (g.get("ci") or {}).get(key) if has_ci else None
                cells.append(
                    {
                        "key": key,
                        "text": fmt(value),
                        "value": data_value(value),
                        "ci": f"[{fmt(ci[0], 2)}, {fmt(ci[1], 2)}]" if ci else "",
                        "lo": data_value(ci[0]) if ci else "",
                        "hi": data_value(ci[1]) if ci else "",
                    }
                )
            skill = g.get("skill") or {}
            skill_cells = [
                {
                    "key": f"skill.{key}",
                    "text": fmt(skill.get(key)),
                    "value": data_value(skill.get(key)),
                    "n": skill.get(f"n_{key}"),
                    "sign": "pos"
                    if (skill.get(key) or 0) > 0
                    else "neg"
                    if (skill.get(key) or 0) < 0
                    else "",
                }
                for key, _ in skills
            ]
            kinds = ", ".join(
                f"{g.get('n_' + kind, 0)} {kind}" for kind in KINDS if g.get("n_" + kind)
            )
            rows.append(
                {
                    "name": name,
                    "role": role,
                    "colour": self.colour.get(name, "cB") if virtual else "",
                    "n": g["n"],
                    "kinds": kinds,
                    "cells": cells,
                    "skills": skill_cells,
                    "infinite": g.get("log_infinite") or 0,
                    "reference": name == document.get("baseline"),
                }
            )
        infinite = sum(r["infinite"] for r in rows if r["role"] == "real")
        return {
            "columns": [{"key": k, "label": label, "ci": c} for k, label, c in columns],
            "skills": [{"key": k, "label": label} for k, label in skills],
            "rows": rows,
            "baseline": document.get("baseline"),
            "ci_level": document.get("ci_level", 0.9),
            "infinite": infinite,
            "by": document.get("by"),
        }

    # --- head to head ---

    def head_to_head(self) -> dict[str, Any]:
        import numpy as np

        from predtrack import scoring
        from predtrack.score import CI_LEVEL, compare

        names = self.participants
        if len(names) < 2:
            return {"names": names, "rows": [], "message": _too_few_forecasters(names)}
        maps: dict[str, dict[str, dict[int, float]]] = {}
        for name in names:
            per_key: dict[str, dict[int, float]] = {"brier": {}, "crps": {}, "brier_cat": {}}
            for e in self.entries[name]:
                for key, values in per_key.items():
                    if key in e.scores:
                        values[e.question_id] = e.scores[key]
            maps[name] = per_key
        plan: list[tuple[str, str, str, list[int]]] = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for key in ("brier", "crps", "brier_cat"):
                    shared = sorted(maps[a][key].keys() & maps[b][key].keys())
                    if shared:
                        plan.append((a, b, key, shared))
                        break
        total = sum(len(shared) for *_, shared in plan)
        resamples = FULL_RESAMPLES
        if total * FULL_RESAMPLES > H2H_BUDGET:
            resamples = max(MIN_RESAMPLES, int(H2H_BUDGET // total))
        results: dict[tuple[str, str], dict[str, Any]] = {}
        for a, b, key, shared in plan:
            if resamples == FULL_RESAMPLES:
                # Exactly `predtrack score --compare A B`, restricted to the headline score.
                rows = compare(
                    _only(self.entries[a], key), _only(self.entries[b], key), seed=self.seed
                )
                row = rows[0]
            else:
                x = np.fromiter((maps[a][key][q] for q in shared), float, len(shared))
                z = np.fromiter((maps[b][key][q] for q in shared), float, len(shared))
                row = {"score": key, "n": len(shared), "mean_diff": None, "ci": None}
                if np.isfinite(x).all() and np.isfinite(z).all():
                    result = scoring.paired_compare(
                        x, z, level=CI_LEVEL, n_resamples=resamples, seed=self.seed
                    )
                    row.update(
                        mean_diff=result.mean_diff,
                        ci=[result.ci_lo, result.ci_hi],
                        p_value=result.p_value,
                    )
            results[(a, b)] = row
        table = []
        for a in names:
            cells = []
            for b in names:
                if a == b:
                    cells.append({"cls": "self", "text": "", "sub": "", "tip": "", "data": {}})
                    continue
                found = results.get((a, b))
                flipped = found is None
                if flipped:
                    found = results.get((b, a))
                cells.append(_h2h_cell(a, b, found, flipped, CI_LEVEL))
            table.append({"name": a, "colour": self.colour[a], "cells": cells})
        return {
            "names": [{"name": n, "colour": self.colour[n]} for n in names],
            "rows": table,
            "message": None,
            "resamples": resamples,
            "reduced": resamples != FULL_RESAMPLES,
            "min_shared": MIN_SHARED,
        }

    # --- calibration: binary ---

    def binary_calibration(self) -> dict[str, Any]:
        panels = []
        for name in self.participants:
            binary = [e for e in self.entries[name] if e.kind == "binary"]
            if binary:
                panels.append(self._reliability(name, binary))
        counts = self.board.counts
        message = None
        if not panels:
            message = "No resolved binary questions yet" + _waiting(counts) + "."
        return {"panels": panels, "message": message}

    def _reliability(self, name: str, entries: list[Entry]) -> dict[str, Any]:
        import numpy as np

        from predtrack import scoring
        from predtrack.svg import Plot, percent_label

        p = np.array([e.scores["p"] for e in entries])
        y = np.array([e.scores["y"] for e in entries])
        corp = scoring.corp(p, y, score="brier")
        band = scoring.corp_band(p, y, level=0.9, seed=self.seed)
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
                f"({int(k_bin[b])} happened): " + _tip_list(bin_labels[b], int(n_bin[b]))
            )
            plot.rect(
                edge0 + 0.006, 0.0, edge1 - 0.006, 0.16 * n_bin[b] / tallest, cls="hist", tip=tip
            )
        plot.segment(0, 0, 1, 1, cls="diag")
        if x.size >= 2:
            keep = _thin(x.size, MAX_LINE_POINTS)
            plot.band(x[keep], band.lower[keep], band.upper[keep], cls="band")
            # The PAV curve is flat within a block: its corners are the first and last value
            # of each block, so drawing only those is exact however many values there are.
            change = np.flatnonzero(np.diff(cep) != 0)
            corners = np.unique(np.concatenate(([0, x.size - 1], change, change + 1)))
            if corners.size > 2 * MAX_LINE_POINTS:
                corners = np.unique(
                    np.concatenate((corners[_thin(corners.size, MAX_LINE_POINTS)], [x.size - 1]))
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
                    f"{' — outside the band' if out_g[j] else ''}. "
                    + _tip_list(group_labels[j], count)
                )
                plot.marker(
                    float(where_g[j]),
                    float(cep[a]),
                    cls="curve-pt out" if out_g[j] else "curve-pt",
                    size=2.0 + (biggest - 2.0) * math.sqrt(count / most),
                    tip=tip,
                )
        g = self.groups.get(name, {})
        desc = (
            f"CORP reliability diagram of {name}: {len(entries)} binary forecasts at "
            f"{corp.x.size} distinct values. Miscalibration MCB {fmt(g.get('mcb'))}, "
            f"discrimination DSC {fmt(g.get('dsc'))}, uncertainty UNC {fmt(g.get('unc'))}. "
            f"The recalibrated curve is outside the 90% consistency band at {int(outside.sum())} "
            f"of {corp.x.size} forecast values. Histogram of forecasts along the bottom."
        )
        svg = plot.render(ident=self.ident("rel"), title=f"Reliability diagram: {name}", desc=desc)
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
                    "tip": _tip_list(bin_labels[b], n) if n else "",
                }
            )
        return {
            "name": name,
            "colour": self.colour[name],
            "svg": svg,
            "n": len(entries),
            "stats": [
                {
                    "label": label,
                    "key": key,
                    "text": fmt(g.get(key)),
                    "value": data_value(g.get(key)),
                }
                for label, key in (
                    ("Brier", "brier"),
                    ("MCB", "mcb"),
                    ("DSC", "dsc"),
                    ("UNC", "unc"),
                    ("log", "log"),
                    ("Spiegel. z", "spiegelhalter_z"),
                )
            ],
            "outside": int(outside.sum()),
            "points": int(corp.x.size),
            "pooled": band.pooled,
            "table": table,
        }

    # --- calibration: fractions and quantities ---

    def continuous_calibration(self) -> dict[str, Any]:
        import numpy as np

        from predtrack import scoring
        from predtrack.score import CONTINUOUS

        panels = []
        coverage = []
        for name in self.participants:
            entries = [e for e in self.entries[name] if e.kind in CONTINUOUS]
            if not entries:
                continue
            panels.append(self._pit(name, entries))
            n = len(entries)
            k50 = int(sum(e.scores["cover50"] for e in entries))
            k90 = int(sum(e.scores["cover90"] for e in entries))
            lo, hi = scoring.wilson_interval(np.array([k50, k90]), np.array([n, n]), level=0.9)
            coverage.append(
                {
                    "name": name,
                    "colour": self.colour[name],
                    "n": n,
                    "k50": k50,
                    "k90": k90,
                    "cov50": k50 / n,
                    "cov90": k90 / n,
                    "ci50": (float(lo[0]), float(hi[0])),
                    "ci90": (float(lo[1]), float(hi[1])),
                    "group50": self.groups.get(name, {}).get("coverage_50"),
                    "group90": self.groups.get(name, {}).get("coverage_90"),
                }
            )
        message = None
        chart = None
        if not panels:
            message = (
                "No resolved fraction or quantity questions yet" + _waiting(self.board.counts) + "."
            )
        else:
            chart = self._coverage_chart(coverage)
        rows = [
            {
                **c,
                "cov50_text": _pct(c["cov50"]),
                "cov90_text": _pct(c["cov90"]),
                "ci50_text": f"{_pct(c['ci50'][0])}–{_pct(c['ci50'][1])}",
                "ci90_text": f"{_pct(c['ci90'][0])}–{_pct(c['ci90'][1])}",
            }
            for c in coverage
        ]
        return {"panels": panels, "coverage": rows, "chart": chart, "message": message}

    def _pit(self, name: str, entries: list[Entry]) -> dict[str, Any]:
        import numpy as np
        from scipy import stats

        from predtrack.svg import Plot, nice_ticks, tick_label

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
        band_lo = float(stats.binom.ppf(0.05, n, 1 / k)) / expected
        band_hi = float(stats.binom.ppf(0.95, n, 1 / k)) / expected
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
                + (f": {_tip_list(labels[b], int(counts[b]))}" if counts[b] else "")
            )
            plot.rect(edge0 + 0.008, 0.0, edge1 - 0.008, float(density[b]), cls="pitbar", tip=tip)
        plot.segment(0, 1, 1, 1, cls="ref")
        desc = (
            f"PIT histogram of {name}: {n} fraction and quantity outcomes in {k} bins; counts "
            + ", ".join(str(int(c)) for c in counts)
            + f". A calibrated forecaster's histogram is flat at density 1 (dashed line); the "
            f"shaded band is the 90% binomial range per bin. {outside} of {k} bins fall outside it."
        )
        return {
            "name": name,
            "colour": self.colour[name],
            "n": n,
            "svg": plot.render(ident=self.ident("pit"), title=f"PIT histogram: {name}", desc=desc),
            "outside": outside,
            "bins": k,
        }

    def _coverage_chart(self, rows: list[dict[str, Any]]) -> Markup:
        from predtrack.svg import Plot

        count = len(rows)
        width = max(520.0, 110.0 + 96.0 * count)
        plot = Plot(width, 270, x=(0.0, float(count)), y=(0.0, 1.0), margin=(14, 60, 46, 50))
        plot.axes(
            xticks=[i + 0.5 for i in range(count)],
            yticks=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            xlabel="Forecaster",
            ylabel="Observed coverage",
            xfmt=lambda v: _short_name(rows[min(count - 1, int(v))]["name"]),
            yfmt=lambda v: f"{v * 100:.0f}%",
        )
        plot.segment(0, 0.5, count, 0.5, cls="nom50")
        plot.segment(0, 0.9, count, 0.9, cls="nom90")
        plot.text(count, 0.5, "nominal 50%", cls="note n50", dx=4, dy=4)
        plot.text(count, 0.9, "nominal 90%", cls="note n90", dx=4, dy=4)
        parts = []
        for i, row in enumerate(rows):
            for level, offset, shape, cls in (
                (50, 0.35, "circle", "cov50"),
                (90, 0.65, "square", "cov90"),
            ):
                x = i + offset
                lo, hi = row[f"ci{level}"]
                value = row[f"cov{level}"]
                tip = (
                    f"{row['name']}: {row[f'k{level}']} of {row['n']} outcomes inside the central "
                    f"{level}% interval ({_pct(value)}; 90% Wilson interval {_pct(lo)}–{_pct(hi)})"
                )
                plot.segment(x, lo, x, hi, cls=f"{cls}-ci")
                plot.marker(x, value, cls=cls, shape=shape, size=4.5, tip=tip)
            parts.append(
                f"{row['name']} {_pct(row['cov50'])} in the 50% and {_pct(row['cov90'])} in the "
                f"90% interval (n = {row['n']})"
            )
        desc = (
            "Coverage of the central 50% (circles) and 90% (squares) intervals of fraction and "
            "quantity forecasts, with 90% Wilson intervals; dashed lines mark the nominal levels. "
            + "; ".join(parts)
            + "."
        )
        return plot.render(ident=self.ident("cov"), title="Interval coverage", desc=desc)

    # --- over time ---

    def over_time(self) -> dict[str, Any]:
        import numpy as np

        series: list[dict[str, Any]] = []
        most = 0
        for name in self.participants:
            binary = sorted(
                (e for e in self.entries[name] if e.kind == "binary"),
                key=lambda e: (e.resolved_at, e.question_id),
            )
            most = max(most, len(binary))
            if len(binary) >= MIN_OVER_TIME:
                brier = np.array([e.scores["brier"] for e in binary])
                log = np.array([e.scores["log"] for e in binary])
                steps = np.arange(1, len(binary) + 1)
                series.append(
                    {
                        "name": name,
                        "brier": np.cumsum(brier) / steps,
                        "log": np.cumsum(log) / steps,
                        "first": binary[0].resolved_at,
                        "last": binary[-1].resolved_at,
                    }
                )
        if not series:
            if most == 0:
                message = "No resolved binary questions yet" + _waiting(self.board.counts) + "."
            else:
                message = (
                    f"Not drawn: a running score needs at least {MIN_OVER_TIME} resolved binary "
                    f"questions per forecaster; the most any forecaster has is {most}."
                )
            return {"charts": [], "message": message, "legend": [], "skipped": []}
        charts = [
            self._running_chart(series, "brier", "Running mean Brier score"),
            self._running_chart(series, "log", "Running mean log score (nats)"),
        ]
        legend = [
            {"name": s["name"], "colour": self.colour[s["name"]], "dash": self.dash[s["name"]]}
            for s in series
        ]
        skipped = [n for n in self.participants if n not in {s["name"] for s in series}]
        return {"charts": charts, "message": None, "legend": legend, "skipped": skipped}

    def _running_chart(self, series: list[dict[str, Any]], key: str, title: str) -> Markup:
        import numpy as np

        from predtrack.output import local_time
        from predtrack.svg import Plot, nice_ticks

        longest = max(len(s[key]) for s in series)
        finite = [
            float(np.max(s[key][np.isfinite(s[key])])) for s in series if np.isfinite(s[key]).any()
        ]
        top = max(finite) * 1.08 if finite and max(finite) > 0 else 1.0
        plot = Plot(
            860, 270, x=(1.0, float(max(longest, 2))), y=(0.0, top), margin=(12, 20, 44, 56)
        )
        xticks = [t for t in nice_ticks(0, max(longest, 2), 8, integer=True) if t >= 1]
        plot.axes(
            xticks=xticks or [1.0],
            yticks=nice_ticks(0, top, 4),
            xlabel="Resolved binary questions, in order of resolution",
            ylabel=title.replace("Running mean ", "Mean ").replace(" score", ""),
        )
        parts = []
        for s in series:
            values = s[key]
            finite_mask = np.isfinite(values)
            stop = len(values) if finite_mask.all() else int(np.argmin(finite_mask))
            note = ""
            if stop < len(values):
                note = f" (infinite from question {stop + 1} on: a forecast of 0 or 1 was wrong)"
            if stop:
                idx = np.unique(np.linspace(0, stop - 1, min(stop, MAX_LINE_POINTS)).astype(int))
                xs = (idx + 1).astype(float)
                plot.line(
                    xs,
                    values[idx],
                    cls=f"run {self.colour[s['name']]}",
                    dash=self.dash[s["name"]],
                    tip=f"{s['name']}: {fmt(float(values[stop - 1]))} after {stop} questions{note}",
                )
            final = fmt(float(values[-1]))
            parts.append(f"{s['name']} {final} after {len(values)}{note}")
        first = min(s["first"] for s in series)
        last = max(s["last"] for s in series)
        desc = (
            f"{title} of each forecaster over their resolved binary questions in order of "
            f"resolution, from {local_time(first)} to {local_time(last)}. Final values: "
            + "; ".join(parts)
            + "."
        )
        return plot.render(ident=self.ident("run"), title=title, desc=desc)

    # --- surprises ---

    def surprises(self) -> dict[str, Any]:
        from predtrack.score import CONTINUOUS

        probabilistic = [e for e in self.board.entries if e.kind in ("binary", "categorical")]

        def log_of(e: Entry) -> float:
            return e.scores["log"] if e.kind == "binary" else e.scores["log_cat"]

        worst = heapq.nsmallest(
            SURPRISES, probabilistic, key=lambda e: (-log_of(e), e.question_id, e.forecaster)
        )
        prob_rows = []
        for e in worst:
            value = log_of(e)
            prob_rows.append(
                {
                    **self._question_ref(e.question_id),
                    "forecaster": e.forecaster,
                    "colour": self.colour[e.forecaster],
                    "forecast": e.forecast,
                    "outcome": self._outcome(e.question_id),
                    "given": _given(value),
                    "score": fmt(value),
                    "value": data_value(value),
                }
            )
        continuous = [e for e in self.board.entries if e.kind in CONTINUOUS]
        furthest = heapq.nsmallest(
            SURPRISES,
            continuous,
            key=lambda e: (
                min(e.scores["pit"], 1 - e.scores["pit"]),
                -e.scores["log_density"],
                e.question_id,
                e.forecaster,
            ),
        )
        cont_rows = []
        for e in furthest:
            tail = min(e.scores["pit"], 1 - e.scores["pit"])
            cont_rows.append(
                {
                    **self._question_ref(e.question_id),
                    "forecaster": e.forecaster,
                    "colour": self.colour[e.forecaster],
                    "forecast": e.forecast,
                    "outcome": self._outcome(e.question_id),
                    "pit": fmt(e.scores["pit"], 3),
                    "tail": _tail_text(tail),
                    "score": fmt(e.scores["log_density"]),
                    "crps": fmt(e.scores["crps"]),
                    "value": data_value(e.scores["log_density"]),
                }
            )
        return {"probabilistic": prob_rows, "continuous": cont_rows}

    def _question_ref(self, qid: int) -> dict[str, Any]:
        meta = self.board.questions.get(qid, {})
        return {
            "qid": qid,
            "label": meta.get("label", f"#{qid}"),
            "title": meta.get("title", ""),
            "anchor": f"q{qid}" if qid in self.shown else None,
        }

    def _outcome(self, qid: int) -> str:
        resolution = self.board.questions.get(qid, {}).get("resolution")
        return outcome_text(resolution) if resolution is not None else ""

    # --- question cards ---

    def questions(self) -> dict[str, Any]:
        qs = self.question_set
        omitted: dict[str, Any] = {"count": len(qs.omitted), "rows": []}
        if qs.omitted:
            table: dict[tuple[str, str], dict[str, Any]] = {}
            for experiment, kind in qs.omitted:
                row = table.setdefault(
                    (experiment, kind),
                    {"experiment": experiment, "kind": kind, "questions": 0},
                )
                row["questions"] += 1
            omitted["rows"] = sorted(table.values(), key=lambda r: (r["experiment"], r["kind"]))
        return {
            "cards": [self._card(info) for info in qs.shown],
            "omitted": omitted,
            "limit": self.options.questions,
            "annulled": [self._annulled(info) for info in qs.annulled],
            "annulled_more": qs.annulled_total - len(qs.annulled),
            "pending": [self._pending(info) for info in qs.pending],
            "pending_more": qs.pending_total - len(qs.pending),
        }

    def _card(self, info: QuestionInfo) -> dict[str, Any]:
        from predtrack.output import local_time
        from predtrack.score import TEAM

        resolution = info.resolution
        entries = sorted(self.by_question.get(info.id, []), key=lambda e: e.forecaster)
        chosen = {e.forecaster: e for e in entries}
        rows: list[dict[str, Any]] = []
        shapes: list[tuple[dict[str, Any], Any, str]] = []  # (row, distribution, forecaster)
        for e in entries:
            row = self._row(e.forecaster, e.forecast, e.made_at, e.late, True, e.scores, info)
            row["revisions"] = e.revisions
            rows.append(row)
            shapes.append((row, e.distribution, e.forecaster))
        if not self.options.include_late:
            latest: dict[str, Any] = {}
            for p in info.unscored:
                if p.late:
                    latest[p.forecaster] = p
            for name in sorted(latest):
                p = latest[name]
                if name in chosen and chosen[name].prediction_id == p.id:
                    continue
                row = self._row(name, p.forecast, p.made_at, True, False, {}, info)
                row["late_reason"] = p.late_reason or ""
                rows.append(row)
                shapes.append((row, p.distribution, name))
        team = self.team_by_question.get(info.id)
        if team is not None:
            row = self._row(
                TEAM, _team_text(team.distribution), None, False, True, team.scores, info
            )
            row["virtual"] = True
            rows.append(row)
            shapes.append((row, team.distribution, TEAM))
        axis = self._draw_forecasts(info, shapes)
        source = None
        if resolution is not None:
            source = {
                "kind": resolution.source,
                "artifact": resolution.artifact_path,
                "sha": (resolution.sha256 or "")[:12],
                "sha_full": resolution.sha256 or "",
                "detail": resolution.detail,
                "at": local_time(resolution.resolved_at),
                "by": resolution.resolved_by,
                "reason": resolution.reason,
            }
        corrections = [
            (
                f"earlier {'annulment' if old.status == 'annulled' else 'outcome ' + outcome_text(old)}"
                f" of {local_time(old.resolved_at)} by {old.resolved_by}"
            )
            for old in info.history
        ]
        return {
            "id": info.id,
            "anchor": f"q{info.id}",
            "label": info.label,
            "title": info.title,
            "kind": info.kind,
            "unit": info.unit,
            "tags": info.tags,
            "note": info.note,
            "rule": info.rule,
            "outcome": outcome_text(resolution) if resolution is not None else "",
            "source": source,
            "corrections": corrections,
            "headers": _score_headers(info.kind),
            "rows": rows,
            "axis": axis,
        }

    def _row(
        self,
        forecaster: str,
        forecast: str,
        made_at: datetime | None,
        late: bool,
        scored: bool,
        scores: dict[str, float],
        info: QuestionInfo,
    ) -> dict[str, Any]:
        from predtrack.output import local_time

        values = [scores.get(key) for key in _score_keys(info.kind)] if scored else []
        return {
            "forecaster": forecaster,
            "colour": self.colour.get(forecaster, "cB"),
            "forecast": forecast,
            "made_at": local_time(made_at) if made_at else "",
            "late": late,
            "late_reason": "",
            "scored": scored,
            "virtual": False,
            "revisions": 1,
            "scores": [fmt(v) if v is not None else "" for v in values],
            "visual": None,
        }

    def _draw_forecasts(
        self, info: QuestionInfo, shapes: list[tuple[dict[str, Any], Any, str]]
    ) -> Markup | None:
        """Fill each row's small visual; return the shared axis for interval forecasts."""
        resolution = info.resolution
        if info.kind == "binary":
            outcome = bool(resolution.outcome) if resolution is not None else None
            for row, dist, name in shapes:
                if dist.get("family") == "bernoulli":
                    row["visual"] = _mini_probability(name, float(dist["p"]), outcome)
            return _mini_axis(0.0, 1.0, [0.0, 0.5, 1.0], lambda v: _pct(v))
        if info.kind == "categorical":
            categories: list[str] = []
            for row, dist, name in shapes:
                if dist.get("family") == "categorical":
                    categories = categories or list(dist["categories"])
                    row["visual"] = _mini_categories(
                        name,
                        dist["categories"],
                        dist["probs"],
                        resolution.outcome if resolution else None,
                    )
            return _mini_category_axis(categories or list(info.categories or []))
        return self._draw_intervals(info, shapes)

    def _draw_intervals(
        self, info: QuestionInfo, shapes: list[tuple[dict[str, Any], Any, str]]
    ) -> Markup | None:
        import numpy as np

        from predtrack import scoring
        from predtrack.errors import PredtrackError
        from predtrack.svg import nice_ticks

        levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
        quantiles = []
        for _, dist, _ in shapes:
            try:
                q = np.asarray(scoring.from_spec(dist, info.bounds).ppf(levels), dtype=float)
            except (PredtrackError, ValueError, KeyError, TypeError):
                q = None
            if q is not None and not np.isfinite(q).all():
                q = None
            quantiles.append(q)
        outcome = None
        if info.resolution is not None and isinstance(info.resolution.outcome, (int, float)):
            outcome = float(info.resolution.outcome)
        values = [float(v) for q in quantiles if q is not None for v in (q[0], q[-1])]
        if outcome is not None:
            values.append(outcome)
        if not values:
            return None
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.5)
        lo, hi = lo - pad, hi + pad
        if info.kind == "fraction":
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        for (row, _, name), q in zip(shapes, quantiles, strict=True):
            if q is not None:
                row["visual"] = _mini_interval(name, q, outcome, lo, hi, info.unit)
        ticks = [t for t in nice_ticks(lo, hi, 4) if lo <= t <= hi]
        return _mini_axis(lo, hi, ticks, _axis_label)

    def _annulled(self, info: QuestionInfo) -> dict[str, Any]:
        from predtrack.output import local_time

        resolution = info.resolution
        latest: dict[str, Any] = {}
        for p in info.unscored:
            latest[p.forecaster] = p
        return {
            "label": info.label,
            "title": info.title,
            "kind": info.kind,
            "reason": (resolution.reason if resolution is not None else "") or "no reason given",
            "at": local_time(resolution.resolved_at) if resolution is not None else "",
            "by": resolution.resolved_by if resolution is not None else "",
            "predictions": [
                {
                    "forecaster": name,
                    "colour": self.colour.get(name, "cB"),
                    "forecast": latest[name].forecast,
                    "late": latest[name].late,
                }
                for name in sorted(latest)
            ],
        }

    def _pending(self, info: QuestionInfo) -> dict[str, Any]:
        from predtrack.output import local_time

        forecasters = sorted({p.forecaster for p in info.unscored})
        if not info.rule:
            reason = (
                "no resolution rule: resolve it by hand (predtrack resolve KEY --value/--yes/...)"
            )
        elif info.rule_file and "://" not in info.rule_file and not Path(info.rule_file).exists():
            reason = f"waiting for the result file {info.rule_file}"
        else:
            reason = "its rule can be evaluated now: run `predtrack resolve`"
        return {
            "label": info.label,
            "title": info.title,
            "kind": info.kind,
            "rule": info.rule,
            "reason": reason,
            "created": local_time(info.created_at),
            "forecasters": forecasters,
            "predictions": len(info.unscored),
            "late": sum(1 for p in info.unscored if p.late),
        }


# --------------------------------------------------------------------------- small pieces


def _dash(index: int) -> str:
    from predtrack.svg import DASHES

    # Colours repeat every FORECASTER_COLOURS forecasters; dashes make each line unique.
    return DASHES[index % len(DASHES)]


def _thin(size: int, most: int) -> Any:
    """At most about `most` evenly spaced indices into `size` items, first and last included."""
    import numpy as np

    if size <= most:
        return np.arange(size)
    return np.unique(np.linspace(0, size - 1, most).round().astype(int))


def _team_text(dist: dict[str, Any]) -> str:
    """The team's forecast, short: its median and 90% range for a quantile set."""
    from predtrack.forecast import describe

    if dist.get("family") == "quantiles":
        q = dict(zip(dist["levels"], dist["values"], strict=True))
        if all(level in q for level in (0.05, 0.5, 0.95)):
            return f"median {fmt(q[0.5])}, 90% {fmt(q[0.05])} to {fmt(q[0.95])}"
    if dist.get("family") == "bernoulli":
        return f"{dist['p']:.3g}"
    return describe(dist)


def _only(entries: Iterable[Entry], key: str) -> list[Entry]:
    """Copies of entries that carry only one score (so `compare` compares just that one)."""
    return [dataclasses.replace(e, scores={key: e.scores[key]}) for e in entries if key in e.scores]


def _too_few_forecasters(names: Sequence[str]) -> str:
    if not names:
        return "No scored forecasts yet: nothing to compare."
    return f"Only {names[0]} has scored forecasts: a head-to-head needs at least two forecasters."


SCORE_NAMES = {"brier": "Brier", "crps": "CRPS", "brier_cat": "categorical Brier"}


def _h2h_cell(
    a: str, b: str, row: dict[str, Any] | None, flipped: bool, level: float
) -> dict[str, Any]:
    """One head-to-head cell, from the row forecaster's side (`flipped`: computed as B - A)."""
    cell: dict[str, Any] = {"cls": "none", "text": "—", "sub": "", "data": {}}
    if row is None:
        cell["tip"] = f"{a} and {b} share no scored question"
        return cell
    n = row["n"]
    score_name = SCORE_NAMES.get(row["score"], row["score"])
    cell["data"] = {"score": row["score"], "n": str(n)}
    if row.get("mean_diff") is None:
        cell.update(
            cls="few",
            text="undefined",
            sub=f"n {n}",
            tip=f"{a} vs {b}: an infinite log score on a shared question",
        )
        return cell
    diff = row["mean_diff"]
    lo, hi = row["ci"]
    if flipped:
        diff, lo, hi = -diff, -hi, -lo
    cell["data"].update(diff=data_value(diff), lo=data_value(lo), hi=data_value(hi))
    tip = (
        f"{a} − {b}: mean {score_name} difference {fmt(diff)} over {n} shared questions, "
        f"{level:.0%} CI [{fmt(lo)}, {fmt(hi)}] (negative: {a} better)"
    )
    if n < MIN_SHARED:
        cell.update(
            cls="few",
            text="too few",
            sub=f"n {n}",
            tip=tip + f"; fewer than {MIN_SHARED} shared questions: not ranked",
        )
        return cell
    if hi < 0:
        cls, text = "win", "better"
    elif lo > 0:
        cls, text = "loss", "worse"
    else:
        cls, text = "tie", "no clear diff."
    sub = f"{fmt(diff, 2)} · n {n}"
    if row["score"] != "brier":
        sub += f" · {score_name}"
    cell.update(cls=cls, text=text, sub=sub, tip=tip)
    return cell


def _waiting(counts: dict[str, int]) -> str:
    parts = []
    if counts.get("pending"):
        parts.append(f"{counts['pending']} pending")
    if counts.get("annulled"):
        parts.append(f"{counts['annulled']} annulled")
    return f" ({', '.join(parts)})" if parts else ""


def _tail_text(tail: float) -> str:
    if tail <= 0:
        return "outside the forecast's support"
    return f"{tail:.1%} in that tail"


def _short_name(name: str, width: int = 12) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _axis_label(value: float) -> str:
    from predtrack.svg import tick_label

    return tick_label(value)


def _score_keys(kind: str) -> tuple[str, ...]:
    if kind == "binary":
        return ("brier", "log")
    if kind == "categorical":
        return ("brier_cat", "log_cat")
    return ("crps", "log_density", "pit")


def _score_headers(kind: str) -> list[str]:
    if kind == "binary":
        return ["Brier", "log"]
    if kind == "categorical":
        return ["Brier", "log"]
    return ["CRPS", "log", "PIT"]


def _legend() -> dict[str, Markup]:
    from predtrack.svg import swatch

    return {
        "curve": swatch("circle", "curve-key", label="recalibrated curve"),
        "band": swatch("band", "band", label="90% consistency band"),
        "diag": swatch("line", "diag", label="diagonal"),
        "hist": swatch("bar", "hist", label="histogram of forecasts"),
        "pit": swatch("bar", "pitbar", label="PIT histogram bar"),
        "ref": swatch("line", "ref", label="uniform reference"),
        "cov50": swatch("circle", "cov50-key", label="50% interval coverage"),
        "cov90": swatch("square", "cov90-key", label="90% interval coverage"),
        "i90": swatch("line", "i90-key", label="90% interval"),
        "i50": swatch("bar", "i50", label="50% interval"),
        "out": swatch("line", "out-key", label="outcome"),
    }


MINI_W = 168.0
MINI_H = 18.0
MINI_PAD = 7.0


def _mini_x(value: float, lo: float, hi: float) -> float:
    span = hi - lo
    frac = 0.5 if span <= 0 else (value - lo) / span
    return MINI_PAD + min(1.0, max(0.0, frac)) * (MINI_W - 2 * MINI_PAD)


def _mini_probability(name: str, p: float, outcome: bool | None) -> Markup:
    from predtrack.svg import mini, num

    x0, x1 = _mini_x(0, 0, 1), _mini_x(1, 0, 1)
    xp = _mini_x(p, 0, 1)
    body = (
        f'<rect class="trk" x="{num(x0)}" y="5" width="{num(x1 - x0)}" height="8"/>'
        f'<rect class="pbar" x="{num(x0)}" y="5" width="{num(xp - x0)}" height="8"/>'
        f'<line class="mid" x1="{num(_mini_x(0.5, 0, 1))}" x2="{num(_mini_x(0.5, 0, 1))}" y1="3" y2="15"/>'
    )
    label = f"{name}: {_pct(p)} yes"
    if outcome is not None:
        xo = x1 if outcome else x0
        body += f'<polygon class="omark" points="{num(xo)},2 {num(xo + 4)},9 {num(xo)},16 {num(xo - 4)},9"/>'
        label += f"; outcome {'yes' if outcome else 'no'}"
    return mini(MINI_W, MINI_H, body, label=label)


def _mini_interval(
    name: str, q: Any, outcome: float | None, lo: float, hi: float, unit: str | None
) -> Markup:
    from predtrack.svg import mini, num

    x05, x25, x50, x75, x95 = (_mini_x(float(v), lo, hi) for v in q)
    body = (
        f'<line class="i90" x1="{num(x05)}" x2="{num(x95)}" y1="9" y2="9"/>'
        f'<rect class="i50" x="{num(x25)}" y="5" width="{num(max(x75 - x25, 1))}" height="8"/>'
        f'<line class="med" x1="{num(x50)}" x2="{num(x50)}" y1="3" y2="15"/>'
    )
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


def _mini_categories(
    name: str, categories: Sequence[str], probs: Sequence[float], outcome: Any
) -> Markup:
    from markupsafe import escape

    from predtrack.svg import mini, num

    count = max(1, len(categories))
    slot = (MINI_W - 2 * MINI_PAD) / count
    parts = []
    for i, (category, p) in enumerate(zip(categories, probs, strict=True)):
        height = max(0.5, 14 * float(p))
        cls = "cbar hit" if category == outcome else "cbar"
        x = MINI_PAD + i * slot + 1
        parts.append(
            f'<rect class="{cls}" x="{num(x)}" y="{num(16 - height)}" width="{num(slot - 2)}" '
            f'height="{num(height)}"><title>{escape(category)}: {escape(_pct(float(p)))}</title></rect>'
        )
    parts.append(
        f'<line class="base" x1="{num(MINI_PAD)}" x2="{num(MINI_W - MINI_PAD)}" y1="16.5" y2="16.5"/>'
    )
    label = f"{name}: " + ", ".join(
        f"{c} {_pct(float(p))}" for c, p in zip(categories, probs, strict=True)
    )
    if outcome is not None:
        label += f"; outcome {outcome}"
    return mini(MINI_W, MINI_H, "".join(parts), label=label)


def _mini_axis(
    lo: float, hi: float, ticks: Sequence[float], label: Callable[[float], str]
) -> Markup:
    from markupsafe import Markup, escape

    from predtrack.svg import num

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
    return Markup(
        f'<svg class="mini axis" viewBox="0 0 {num(MINI_W)} {num(MINI_H)}" width="{num(MINI_W)}" '
        f'height="{num(MINI_H)}" aria-hidden="true">{"".join(parts)}</svg>'
    )


def _mini_category_axis(categories: Sequence[str]) -> Markup | None:
    from markupsafe import Markup, escape

    from predtrack.svg import num

    if not categories:
        return None
    slot = (MINI_W - 2 * MINI_PAD) / len(categories)
    width = max(1, int(slot / 5.6))
    parts = []
    for i, category in enumerate(categories):
        x = MINI_PAD + (i + 0.5) * slot
        short = category if len(category) <= width else category[: max(1, width - 1)] + "…"
        parts.append(
            f'<text x="{num(x)}" y="12" text-anchor="middle">{escape(short)}'
            f"<title>{escape(category)}</title></text>"
        )
    return Markup(
        f'<svg class="mini axis" viewBox="0 0 {num(MINI_W)} {num(MINI_H)}" width="{num(MINI_W)}" '
        f'height="{num(MINI_H)}" role="img" aria-label="{escape(", ".join(categories))}">'
        f"{''.join(parts)}</svg>"
    )
