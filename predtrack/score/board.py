"""Which predictions count, and each one's scores: the board `score`, `report` and the API share.

The numbers come from `predtrack.scoring` (pure numpy/scipy); this module decides what is
scored (per forecaster and question the latest pre-registered prediction) and adds the
virtual forecasters (`team`, the built-in baselines).
"""

from __future__ import annotations

import json
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple, Protocol

import numpy as np

from predtrack import scoring
from predtrack.score.columns import Columns
from predtrack.store import queries
from predtrack.store.engine import Store
from predtrack.store.types import parse_iso_z
from predtrack.vocabulary import BASELINES, CONTINUOUS, KINDS, TEAM

REPLACED_WITHIN = timedelta(seconds=60)
_ONE, _ZERO = 1.0, 0.0


@dataclass(slots=True)
class Entry:
    """One prediction that counts (or a virtual one: team, baseline), with its scores."""

    question_id: int
    label: str
    title: str
    experiment: str
    kind: str
    tags: list[str]
    forecaster: str
    distribution: dict[str, Any]
    outcome: Any
    k: int | None
    n: int | None
    resolved_at: datetime
    bounds: tuple[float, float] | None
    categories: list[str] | None
    ordered: bool
    unit: str | None = None
    prediction_id: int | None = None
    made_at: datetime | None = None
    late: bool = False
    forecast: str = ""
    revisions: int = 1
    virtual: bool = False
    signed: bool = False
    scores: dict[str, float] = field(default_factory=dict)


class Board:
    """Everything scored in one store: the predictions that count with their scores (as
    columns; as entries when first asked for), and (computed when first asked for) the team
    and the built-in baselines."""

    def __init__(
        self,
        entries: list[Entry] | None,
        questions: dict[int, dict[str, Any]],
        include_late: bool,
        experiment: str | None,
        counts: dict[str, int],
        *,
        scales: dict[int, float] | None = None,
        sealed: list[dict[str, Any]] | None = None,
        picks: Picks | None = None,
    ) -> None:
        self.questions, self.include_late, self.experiment = questions, include_late, experiment
        self.counts, self.scales, self.sealed = counts, scales or {}, sealed or []
        # (questions by id with their experiment's name, resolution states by question id), as
        # read for this board: the report lists them without reading them again
        self.read: Any = None
        self._entries, self._picks = entries, picks
        self._scored: Scored | None = None
        # the scores of the team and each baseline as columns, by the list's id
        self._columns: dict[int, tuple[list[Entry], Columns]] = {}

    def __len__(self) -> int:
        return len(self._picks) if self._entries is None and self._picks else len(self.entries)

    def __repr__(self) -> str:
        return f"<Board of {len(self)} scored predictions>"

    @property
    def entries(self) -> list[Entry]:
        """The predictions that count as entries with their scores (made on first use: `score`
        needs only the columns)."""
        if self._entries is None:
            from predtrack.memory import without_gc

            with without_gc(True):  # each collection would walk every entry made so far
                self._entries = self._picks.entries() if self._picks is not None else []
                # The entries hold all of it now: freed before their scores take more memory.
                self._picks = None
                if self._scored is not None:
                    fill_scores(self._entries, self._scored)
                    self._scored.blocks = []  # the columns keep what summaries read
        return self._entries

    @property
    def columns(self) -> Columns:
        """The scores of the predictions that count, as columns."""
        if self._scored is None:
            self._scored = Scored(Columns.of(self.entries), [])
        return self._scored.columns

    def field(self, name: str) -> list[Any]:
        """One of `Entry`'s fields of each prediction that counts, in the board's order."""
        return _fields(self._rows()).field(name)

    def _rows(self) -> Picks | list[Entry]:
        """The predictions that count: as entries once made, else as they were chosen."""
        if self._entries is None and self._picks is not None:
            return self._picks
        return self.entries

    def keep_columns(self, entries: list[Entry], columns: Columns) -> None:
        """Keep the columns `score_entries` made of one of this board's lists."""
        self._columns[id(entries)] = (entries, columns)

    def columns_of(self, entries: list[Entry]) -> Columns:
        """A list's scores as columns: kept from scoring it, else read from its entries."""
        if entries is self._entries:
            return self.columns
        kept = self._columns.get(id(entries))
        if kept is not None and kept[0] is entries:
            return kept[1]
        return Columns.of(entries)

    @cached_property
    def team(self) -> list[Entry]:
        """The virtual `team` forecaster's entries."""
        team = team_entries(self._rows())
        self.keep_columns(team, score_entries(team, self.scales))
        return team

    def baseline_columns(self, name: str) -> Columns:
        """A built-in baseline's scores as columns; its entries are not kept for this (a
        summary needs only its scores: at a million predictions they hold some 70 MB)."""
        made = dict.get(self.baselines, name)
        if made is not None:
            return self.columns_of(made)
        if name not in BASELINES:
            raise KeyError(name)
        return score_entries(baseline_entries(self._rows(), name), self.scales)

    @cached_property
    def baselines(self) -> dict[str, list[Entry]]:
        """The built-in reference forecasts, by name (each made when first asked for)."""
        return _Baselines(self)

    def forecaster(self, name: str) -> list[Entry]:
        """A forecaster's scored entries (`team` and the built-in baselines included)."""
        from predtrack.errors import InputError

        if name == TEAM:
            return self.team
        if name in self.baselines:
            return self.baselines[name]
        chosen = [e for e in self.entries if e.forecaster == name]
        if not chosen:
            known = sorted({e.forecaster for e in self.entries})
            raise InputError(
                f"no scored predictions by {name!r} (forecasters: {', '.join(known) or 'none yet'})"
            )
        return chosen


# Entries are built positionally from tuples (faster than keywords): typed loosely here.
_new_entry: Any = Entry


class _Baselines(dict[str, list[Entry]]):
    """The built-in baselines of a board, each computed and scored on first use."""

    def __init__(self, board: Board) -> None:
        super().__init__()
        # A weak reference: no reference cycle, so a board dropped is freed at once, not when
        # the cyclic collector comes by (its entries are made only when a baseline needs them).
        self.board = weakref.ref(board)

    def __missing__(self, name: str) -> list[Entry]:
        if name not in BASELINES:
            raise KeyError(name)
        board = self.board()
        if board is None:
            raise ReferenceError("the board these baselines were of is gone: collect it again")
        entries = self[name] = baseline_entries(board._rows(), name)
        board.keep_columns(entries, score_entries(entries, board.scales))
        return entries

    def __contains__(self, name: object) -> bool:
        return name in BASELINES


class _Row(NamedTuple):
    id: int
    question_id: int
    forecaster: str
    made_at: str
    late: bool
    forecast: str
    distribution: str  # JSON text, parsed only if this prediction counts
    signed: bool  # it carries a signature; with signed_only, one that holds (key, time, signature)


# Entry's fields of a question, shared by the predictions on it (in Entry's order around
# forecaster and distribution), and those each chosen prediction holds in `Picks`.
_QUESTION_FIELDS = ("question_id", "label", "title", "experiment", "kind", "tags", "outcome", "k",
                    "n", "resolved_at", "bounds", "categories", "ordered", "unit")  # fmt: skip
_PICK_FIELDS = ("forecaster", "distribution", "prediction_id", "made_at", "late", "forecast",
                "revisions", "signed")  # fmt: skip
_AT = {name: i for i, name in enumerate(_QUESTION_FIELDS)}


class Picks:
    """The predictions that count as parallel lists, one item per prediction: what scoring
    reads, without an object each (a `score` of 100,000 made none). `facts` holds each one's
    question fields as one tuple shared by the question's predictions."""

    __slots__ = ("facts", *_PICK_FIELDS)

    def __init__(self) -> None:
        self.facts: list[tuple[Any, ...]] = []
        self.forecaster: list[str] = []
        self.distribution: list[dict[str, Any]] = []
        self.prediction_id: list[int] = []
        self.made_at: list[datetime] = []
        self.late: list[bool] = []
        self.forecast: list[str] = []
        self.revisions: list[int] = []
        self.signed: list[bool] = []

    def __len__(self) -> int:
        return len(self.facts)

    def field(self, name: str, rows: list[int] | None = None) -> list[Any]:
        """One of `Entry`'s fields of every prediction (or of those at `rows`), in order."""
        if name in _AT:
            i, facts = _AT[name], self.facts
            return [f[i] for f in facts] if rows is None else [facts[j][i] for j in rows]
        if name == "virtual":  # chosen predictions are real ones
            return [False] * (len(self.facts) if rows is None else len(rows))
        if name not in _PICK_FIELDS:
            raise KeyError(f"{name!r}: not a field of a chosen prediction")
        values = getattr(self, name)
        return list(values) if rows is None else [values[j] for j in rows]

    def virtual(self, i: int, forecaster: str, distribution: dict[str, Any]) -> Entry:
        """A virtual forecaster's entry on the question of the prediction at `i`."""
        f = self.facts[i]
        return _new_entry(*f[:6], forecaster, distribution, *f[6:], *_VIRTUAL_TAIL)

    def entries(self) -> list[Entry]:
        """The predictions as entries (scores not yet filled)."""
        lists = [getattr(self, name) for name in _PICK_FIELDS]
        return [
            _new_entry(*f[:6], who, dist, *f[6:], pid, at, late, text, revisions, False, signed)
            for f, who, dist, pid, at, late, text, revisions, signed in zip(
                self.facts, *lists, strict=True
            )
        ]


class _EntryFields:
    """A list of entries read as `Picks` are: one field of every entry at a time."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def field(self, name: str, rows: list[int] | None = None) -> list[Any]:
        entries = self.entries
        if rows is None:
            return [getattr(e, name) for e in entries]
        return [getattr(entries[j], name) for j in rows]

    def virtual(self, i: int, forecaster: str, distribution: dict[str, Any]) -> Entry:
        return _virtual(self.entries[i], forecaster, distribution)


def _collapse(predictions: list[Any]) -> list[Any]:
    """Drop predictions replaced by the same forecaster within 60 s (a typo fix, not an update)."""
    kept: list[Any] = []
    last_time: datetime | None = None
    for prediction in predictions:
        at = prediction.made_at
        at = parse_iso_z(at) if isinstance(at, str) else at
        if (
            kept
            and last_time is not None
            and at - last_time <= REPLACED_WITHIN
            and bool(prediction.late) == bool(kept[-1].late)
        ):
            kept[-1] = prediction
        else:
            kept.append(prediction)
        last_time = at
    return kept


def collect(
    store: Store,
    *,
    include_late: bool = False,
    experiment: str | None = None,
    signed_only: bool = False,
) -> Board:
    """Load resolved questions and choose, per forecaster, the prediction that is scored."""
    from predtrack.memory import without_gc

    with store.read() as session, without_gc(True):
        if experiment is not None:
            queries.get_experiment(experiment, session=session)
        scope = {
            q.id: (q, name) for q, name in queries.questions(session=session, experiment=experiment)
        }
        states = queries.resolution_states(session=session)
        resolved = sorted(q for q in scope if q in states and states[q].status == "resolved")
        wanted = set(resolved)
        # Checking signatures costs about 0.1 ms each: done when only signed ones count.
        signed_ids = [i for i, q in queries.signed_prediction_ids(session=session) if q in wanted]
        verified = _verified(session, signed_ids) if signed_only else set(signed_ids)
        late_total = queries.count_predictions(
            session=session, late=True, question_ids=None if experiment is None else list(scope)
        )
        sealed = _still_sealed(session, resolved)
        chooser = _Chooser(include_late, signed_only, verified)
        meta: dict[int, dict[str, Any]] = {}
        # The rows come grouped by question and are dropped once chosen from: a million
        # predictions are never all held as rows.
        stream = _by_question(queries.prediction_rows(session=session, by_question=True), wanted)
        waiting = next(stream, None)
        for qid in resolved:
            question, name = scope[qid]
            resolution = states[qid].current
            meta[qid] = {
                "label": question.label(name),
                "title": question.title,
                "experiment": name,
                "kind": question.kind,
                "unit": question.unit,
                "outcome": resolution.outcome,
                "resolution": resolution,
            }
            if waiting is not None and waiting[0] == qid:
                chooser.question(question, meta[qid]["label"], name, resolution, waiting[1])
                waiting = next(stream, None)
        picks = chooser.finish()
        del chooser, stream  # the distribution texts and the row buffer, before scoring
    counts = {
        "registered": len(scope),
        "resolved": len(resolved),
        "annulled": sum(1 for q in scope if q in states and states[q].status == "annulled"),
        "pending": sum(1 for q in scope if q not in states),
        "late": late_total,
    }
    board = Board(None, meta, include_late, experiment, counts, sealed=sealed, picks=picks)
    board.read = (scope, states)
    with without_gc(True):
        scored = score_rows(picks, None)
        board.scales = question_scales(picks)
        scored.add_scaled(board.scales)
        board._scored = scored
    return board


def _by_question(
    rows: Iterable[tuple[Any, ...]], wanted: set[int]
) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(question id, its rows) for the wanted questions, from rows ordered by question."""
    current: int | None = None
    group: list[tuple[Any, ...]] = []
    for row in rows:
        if row[1] not in wanted:
            continue
        if row[1] != current:
            if group:
                yield current, group  # type: ignore[misc]
            current, group = row[1], []
        group.append(row)
    if group:
        yield current, group  # type: ignore[misc]


class _Chooser:
    """Per forecaster and question, the prediction that counts, into `Picks`."""

    BLOCK = 20_000  # predictions whose distributions are parsed in one call

    def __init__(self, include_late: bool, signed_only: bool, verified: set[int]) -> None:
        self.include_late, self.signed_only, self.verified = include_late, signed_only, verified
        self.picks = Picks()
        self.picked: list[tuple[Any, ...]] = []
        # Many forecasts share their text ("0.3"): each distinct one is parsed once and the
        # parsed dict shared (entries only read it); a bulk write's rows share one time.
        self.parsed: dict[str, dict[str, Any]] = {}
        self.times: dict[str, datetime] = {}
        self.texts: dict[str, str] = {}

    def question(
        self, question: Any, label: str, name: str, resolution: Any, rows: list[tuple[Any, ...]]
    ) -> None:
        # rows: (id, question_id, forecaster, made_at, late, forecast, distribution, signature)
        verified = self.verified
        facts = (
            question.id, label, question.title, name, question.kind, list(question.tags or []),
            resolution.outcome, resolution.k, resolution.n, resolution.resolved_at,
            question.support, question.categories, question.ordered, question.unit,
        )  # fmt: skip
        per_forecaster: dict[str, list[tuple[Any, ...]]] = {}
        for prediction in rows:
            if self.signed_only and prediction[0] not in verified:
                continue
            history = per_forecaster.get(prediction[2])
            if history is None:
                per_forecaster[prediction[2]] = [prediction]
            else:
                history.append(prediction)
        for forecaster, history in per_forecaster.items():
            chosen: tuple[Any, ...]
            if len(history) == 1:  # the common case: one prediction per forecaster
                chosen = history[0]
                if chosen[4] and not self.include_late:
                    continue
                revisions = 1
            else:
                kept = [
                    _Row._make((*p[:4], bool(p[4]), p[5], p[6], p[0] in verified)) for p in history
                ]
                # A revealed sealed forecast is recorded after later ones but dated by its commitment.
                kept.sort(key=lambda p: p.made_at)
                eligible = [p for p in _collapse(kept) if self.include_late or not p.late]
                if not eligible:
                    continue
                chosen, revisions = eligible[-1], len(eligible)
            # one string per forecaster, not one per row the driver read
            forecaster = self.texts.setdefault(forecaster, forecaster)
            self.picked.append((facts, forecaster, chosen, revisions))
        if len(self.picked) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        parsed, times, verified = self.parsed, self.times, self.verified
        chosen = [p[2] for p in self.picked]
        texts = [c[6] for c in chosen]
        new = [text for text in dict.fromkeys(texts) if text not in parsed]
        try:  # one JSON document of the new distinct distributions: one parser call
            values = json.loads("[" + ",".join(new) + "]") if new else []
        except ValueError:
            values = []
        if len(values) != len(new):  # a text that is not one JSON value: one by one
            values = [json.loads(text) for text in new]
        parsed.update(zip(new, values, strict=True))
        picks, same = self.picks, self.texts.setdefault
        picks.facts += [p[0] for p in self.picked]
        picks.forecaster += [p[1] for p in self.picked]
        picks.revisions += [p[3] for p in self.picked]
        picks.distribution += [parsed[text] for text in texts]
        picks.prediction_id += [c[0] for c in chosen]
        for text in {c[3] for c in chosen}.difference(times):
            times[text] = parse_iso_z(text)
        picks.made_at += [times[c[3]] for c in chosen]
        # Without late ones counting, none chosen is late; without signatures, none is signed.
        none = [False] * len(chosen)
        picks.late += [bool(c[4]) for c in chosen] if self.include_late else none
        # "0.3": one string for the many that say the same
        picks.forecast += [same(c[5], c[5]) if len(c[5]) <= 24 else c[5] for c in chosen]
        picks.signed += [c[0] in verified for c in chosen] if verified else none
        self.picked = []

    def finish(self) -> Picks:
        self._flush()
        return self.picks


def _verified(session: Any, signed_ids: list[int]) -> set[int]:
    """The predictions among these whose signature holds."""
    if not signed_ids:
        return set()
    from predtrack.proofs.signing import verified_ids

    return verified_ids(session, signed_ids)


def _still_sealed(session: Any, resolved: list[int]) -> list[dict[str, Any]]:
    """Commitments never revealed on resolved questions, per forecaster (not scored, but shown)."""
    from predtrack.proofs.seals import unrevealed

    found = unrevealed(session, resolved, resolved_only=True) if resolved else []
    return [{k: u[k] for k in ("forecaster", "question", "committed_at")} for u in found]


# --- virtual forecasters ---


_FIELDS = tuple(f.name for f in fields(Entry))
_VIRTUAL = {"virtual": True, "prediction_id": None, "made_at": None, "late": False,
            "forecast": "", "revisions": 1, "signed": False}  # fmt: skip


# A virtual entry's fields after the question's (prediction_id ... signed), as `_VIRTUAL` has them.
_VIRTUAL_TAIL = tuple(_VIRTUAL[n] for n in _FIELDS[_FIELDS.index("prediction_id") : -1])


def _virtual(template: Entry, forecaster: str, distribution: dict[str, Any]) -> Entry:
    """`replace(template, ...)` for a virtual forecaster, five times faster (thousands made)."""
    fixed = {**_VIRTUAL, "forecaster": forecaster, "distribution": distribution, "scores": {}}
    return _new_entry(*[fixed[n] if n in fixed else getattr(template, n) for n in _FIELDS])


def by_question(entries: Iterable[Entry]) -> dict[int, list[Entry]]:
    """Entries grouped by question id."""
    grouped: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.question_id].append(entry)
    return grouped


def _fields(entries: Sequence[Entry] | Picks) -> Picks | _EntryFields:
    return entries if isinstance(entries, Picks) else _EntryFields(entries)


def _positions_by_question(rows: _Fields) -> list[list[int]]:
    """The positions of each question's predictions, questions in order of first appearance."""
    grouped: dict[int, list[int]] = {}
    for i, qid in enumerate(rows.field("question_id")):
        group = grouped.get(qid)
        if group is None:
            grouped[qid] = [i]
        else:
            group.append(i)
    return list(grouped.values())


def team_entries(entries: Sequence[Entry] | Picks) -> list[Entry]:
    """The `team` forecast on each question with at least two forecasters (vectorised)."""
    rows = _fields(entries)
    groups = [g for g in _positions_by_question(rows) if len(g) >= 2]
    if not groups:
        return []
    kinds, distributions = rows.field("kind"), rows.field("distribution")
    team: list[Entry] = []
    binary = [g for g in groups if kinds[g[0]] == "binary"]
    if binary:
        # Forecasters x questions, NaN where a forecaster did not answer.
        width = max(len(g) for g in binary)
        matrix = np.full((width, len(binary)), np.nan)
        for j, g in enumerate(binary):
            matrix[: len(g), j] = [distributions[i]["p"] for i in g]
        for g, p in zip(binary, np.atleast_1d(scoring.team_binary(matrix)), strict=True):
            team.append(rows.virtual(g[0], TEAM, {"family": "bernoulli", "p": float(p)}))
    for g in (g for g in groups if kinds[g[0]] == "categorical"):
        probs = np.array([distributions[i]["probs"] for i in g])
        dist = {
            "family": "categorical",
            "categories": list(distributions[g[0]]["categories"]),
            "probs": scoring.team_categorical(probs).tolist(),
        }
        team.append(rows.virtual(g[0], TEAM, dist))
    continuous = [g for g in groups if kinds[g[0]] in CONTINUOUS]
    specs = scoring.team_quantiles_many(
        [[distributions[i] for i in g] for g in continuous],
        rows.field("bounds", [g[0] for g in continuous]),
    )
    team.extend(rows.virtual(g[0], TEAM, spec) for g, spec in zip(continuous, specs, strict=True))
    team.sort(key=lambda e: e.question_id)
    return team


def baseline_entries(entries: Sequence[Entry] | Picks, name: str) -> list[Entry]:
    """A built-in reference forecast per resolved question (none for quantities).

    `climatology`: for binary questions the Laplace-smoothed leave-one-out base rate of the
    other resolved binary questions (not clairvoyant); `naive`: 50%. Both use the uniform
    forecast for categorical questions and Beta(1, 1) for fractions.
    """
    rows = _fields(entries)
    firsts = [g[0] for g in _positions_by_question(rows)]
    kinds, outcomes = rows.field("kind", firsts), rows.field("outcome", firsts)
    qids = rows.field("question_id", firsts)
    rates: dict[int, float] = {}
    binary = [j for j, kind in enumerate(kinds) if kind == "binary"]
    if name == "climatology" and binary:
        # one float object for each outcome (a million entries would hold as many)
        y = np.array([_ONE if outcomes[j] else _ZERO for j in binary])
        loo = scoring.climatology_loo(y, pseudocount=1.0)
        rates = {qids[j]: float(p) for j, p in zip(binary, loo, strict=True)}
    distributions = rows.field("distribution", firsts)
    out = []
    for j, first in enumerate(firsts):
        if kinds[j] == "binary":
            dist: dict[str, Any] = {"family": "bernoulli", "p": rates.get(qids[j], 0.5)}
        elif kinds[j] == "categorical":
            cats = list(distributions[j]["categories"])
            dist = {
                "family": "categorical",
                "categories": cats,
                "probs": [1.0 / len(cats)] * len(cats),
            }
        elif kinds[j] == "fraction":
            dist = {"family": "beta", "alpha": 1.0, "beta": 1.0}
        else:
            continue
        out.append(rows.virtual(first, name, dist))
    return out


# --- scoring ---


class _Fields(Protocol):
    """What scoring reads of a list of predictions (`Picks`, or entries through `_EntryFields`)."""

    def __len__(self) -> int: ...

    def field(self, name: str, rows: list[int] | None = None) -> list[Any]: ...


# Scores that are 0 or 1: one float object each in the entries' dicts, not one per entry.
_SHARED = frozenset({"y", "cover50", "cover90"})


@dataclass
class Scored:
    """A list's scores: as columns, and as the blocks its entries' dicts are filled from."""

    columns: Columns
    # (ascending positions, score names, their values, whether they start the entries' dicts),
    # in the order the dicts take them
    blocks: list[tuple[np.ndarray, tuple[str, ...], list[np.ndarray], bool]]

    def add(
        self, at: np.ndarray, names: tuple[str, ...], values: list[np.ndarray], new: bool
    ) -> None:
        """Scores of the predictions at `at` (C ints, ascending)."""
        self.blocks.append((at, names, values, new))
        for name, a in zip(names, values, strict=True):
            self.columns.add(name, at, a)

    def add_scaled(self, scales: dict[int, float]) -> None:
        """`crps_scaled`: CRPS divided by its question's scale (unit-free)."""
        columns = self.columns
        where = columns.at.get("crps")
        if where is None or not scales:
            return
        known = np.fromiter(scales.keys(), dtype=np.int64, count=len(scales))
        value = np.fromiter(scales.values(), dtype=np.float64, count=len(scales))
        order = np.argsort(known)
        known, value = known[order], value[order]
        q = columns.qid[where]
        pos = np.minimum(np.searchsorted(known, q), known.size - 1)
        has = (known[pos] == q) & (value[pos] != 0)
        self.add(
            where[has], ("crps_scaled",), [columns.values["crps"][has] / value[pos[has]]], False
        )


def fill_scores(entries: Sequence[Entry], scored: Scored) -> None:
    """Each entry's scores dict, from the blocks its scores were computed in."""
    for at, names, values, new in scored.blocks:
        # Lists, not numpy scalars one at a time: the same floats, ten times faster.
        lists = [[_ONE if v else _ZERO for v in a.tolist()] if name in _SHARED else a.tolist()
                 for name, a in zip(names, values, strict=True)]  # fmt: skip
        chosen = [entries[i] for i in at.tolist()]
        if new:
            for e, row in zip(chosen, zip(*lists, strict=True), strict=True):
                e.scores = dict(zip(names, row, strict=True))
        else:
            for e, row in zip(chosen, zip(*lists, strict=True), strict=True):
                e.scores.update(zip(names, row, strict=True))


def question_scales(rows: _Fields) -> dict[int, float]:
    """Each continuous question's scale in its unit, the same for every forecaster on it
    (`predtrack.scoring.crps_scales`: the width of the bounds, else the median width of the
    forecasts' central 90% intervals)."""
    kinds = rows.field("kind")
    groups = [g for g in _positions_by_question(rows) if kinds[g[0]] in CONTINUOUS]
    if not groups:
        return {}
    distributions = rows.field("distribution")
    firsts = [g[0] for g in groups]
    scales = scoring.crps_scales(
        [[distributions[i] for i in g] for g in groups], rows.field("bounds", firsts)
    )
    qids = rows.field("question_id", firsts)
    return {q: float(s) for q, s in zip(qids, scales, strict=True) if np.isfinite(s) and s > 0}


def score_entries(entries: Sequence[Entry], scales: dict[int, float] | None) -> Columns:
    """Fill each entry's scores, vectorised per kind; the same scores as columns."""
    scored = score_rows(_EntryFields(entries), scales)
    fill_scores(entries, scored)
    return scored.columns


def score_rows(rows: _Fields, scales: dict[int, float] | None) -> Scored:
    """Every prediction's scores, vectorised per kind (with `crps_scaled` when scales are given)."""
    columns = Columns.frame(
        rows.field("question_id"),
        rows.field("kind"),
        rows.field("revisions"),
        rows.field("forecaster"),
    )
    scored = Scored(columns, [])
    kinds = columns.kind
    at = np.flatnonzero(kinds == KINDS.index("binary")).astype(np.intc)
    if at.size:
        idx = at.tolist()
        p = np.array([d["p"] for d in rows.field("distribution", idx)], dtype=float)
        y = np.array([_ONE if o else _ZERO for o in rows.field("outcome", idx)])
        arrays = (scoring.brier(p, y), scoring.log_score(p, y), scoring.spherical(p, y), p, y)
        scored.add(at, ("brier", "log", "spherical", "p", "y"),
                   [np.asarray(a, dtype=float) for a in arrays], True)  # fmt: skip
    at = np.flatnonzero(np.isin(kinds, [KINDS.index(k) for k in CONTINUOUS])).astype(np.intc)
    if at.size:
        _score_continuous(scored, at, rows)
    categorical: dict[int, list[int]] = defaultdict(list)
    idx = np.flatnonzero(kinds == KINDS.index("categorical")).tolist()
    for i, d in zip(idx, rows.field("distribution", idx), strict=True):
        categorical[len(d["categories"])].append(i)
    for members in categorical.values():
        group = rows.field("distribution", members)
        probs = np.array([d["probs"] for d in group], dtype=float)
        outcomes = rows.field("outcome", members)
        found = np.array([d["categories"].index(o) for d, o in zip(group, outcomes, strict=True)])
        where = np.array(members, dtype=np.intc)
        ordered = np.array(rows.field("ordered", members), dtype=bool)
        brier, log = scoring.brier_multi(probs, found), scoring.log_multi(probs, found)
        ranked = np.asarray(scoring.rps(probs, found), dtype=float)
        scored.add(where, ("brier_cat", "log_cat"),
                   [np.asarray(brier, dtype=float), np.asarray(log, dtype=float)], True)  # fmt: skip
        scored.add(where[ordered], ("rps",), [ranked[ordered]], False)
    if scales is not None:
        scored.add_scaled(scales)
    return scored


# An entry's continuous scores, by the names `score_continuous` gives them (the interval
# limits it also returns are read by none: a million entries would hold 4 million floats).
_CONTINUOUS_KEYS = {
    "crps": "crps", "log_density": "log", "pit": "pit", "cover50": "cover50",
    "cover90": "cover90", "is50": "is50", "is90": "is90",
}  # fmt: skip


def _score_continuous(scored: Scored, at: np.ndarray, rows: _Fields) -> None:
    """The continuous scores of the predictions at `at`."""
    idx = at.tolist()
    distributions = rows.field("distribution", idx)
    x = np.array([float(o) for o in rows.field("outcome", idx)])
    result = scoring.score_continuous(distributions, x, bounds=rows.field("bounds", idx))
    arrays = [np.asarray(result[name], dtype=float) for name in _CONTINUOUS_KEYS.values()]
    scored.add(at, tuple(_CONTINUOUS_KEYS), arrays, True)
    counted = [
        j
        for j, n in enumerate(rows.field("n", idx))
        if n is not None and distributions[j].get("family") == "beta"
    ]
    if counted:
        chosen = [distributions[j] for j in counted]
        positions = [idx[j] for j in counted]
        bb = np.asarray(
            scoring.betabinom_log_score(
                np.array([d["alpha"] for d in chosen]),
                np.array([d["beta"] for d in chosen]),
                np.array(rows.field("k", positions)),
                np.array(rows.field("n", positions)),
            ),
            dtype=float,
        )
        scored.add(at[np.array(counted, dtype=np.intc)], ("betabinom_log",), [bb], False)
