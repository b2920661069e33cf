"""Which predictions count, and each one's scores: the board `score`, `report` and the API share.

The numbers come from `predtrack.scoring` (pure numpy/scipy); this module decides what is
scored (per forecaster and question the latest pre-registered prediction) and adds the
virtual forecasters (`team`, the built-in baselines).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

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


@dataclass
class Board:
    """Everything scored in one store: real entries, and (computed when first asked for) the
    team and the built-in baselines."""

    entries: list[Entry]
    questions: dict[int, dict[str, Any]]
    include_late: bool
    experiment: str | None
    counts: dict[str, int]
    scales: dict[int, float] = field(default_factory=dict)
    sealed: list[dict[str, Any]] = field(default_factory=list)
    # (questions by id with their experiment's name, resolution states by question id), as
    # read for this board: the report lists them without reading them again
    read: Any = field(default=None, repr=False, compare=False)
    # the scores of `entries`, the team and each baseline as columns, by the list's id
    _columns: dict[int, tuple[list[Entry], Columns]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def keep_columns(self, entries: list[Entry], columns: Columns) -> None:
        """Keep the columns `score_entries` made of one of this board's lists."""
        self._columns[id(entries)] = (entries, columns)

    def columns_of(self, entries: list[Entry]) -> Columns:
        """A list's scores as columns: kept from scoring it, else read from its entries."""
        kept = self._columns.get(id(entries))
        if kept is not None and kept[0] is entries:
            return kept[1]
        return Columns.of(entries)

    @cached_property
    def team(self) -> list[Entry]:
        """The virtual `team` forecaster's entries."""
        team = team_entries(self.entries)
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
        return score_entries(baseline_entries(self.entries, name), self.scales)

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
        # What it needs of the board, not the board: no reference cycle, so a board dropped
        # is freed at once, not when the cyclic collector comes by.
        self.entries, self.scales, self.kept = board.entries, board.scales, board._columns

    def __missing__(self, name: str) -> list[Entry]:
        if name not in BASELINES:
            raise KeyError(name)
        entries = self[name] = baseline_entries(self.entries, name)
        self.kept[id(entries)] = (entries, score_entries(entries, self.scales))
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
        entries = chooser.finish()
        del chooser, stream  # the distribution texts and the row buffer, before scoring
    counts = {
        "registered": len(scope),
        "resolved": len(resolved),
        "annulled": sum(1 for q in scope if q in states and states[q].status == "annulled"),
        "pending": sum(1 for q in scope if q not in states),
        "late": late_total,
    }
    board = Board(entries, meta, include_late, experiment, counts, sealed=sealed)
    board.read = (scope, states)
    with without_gc(True):  # each collection would walk every entry made so far
        columns = score_entries(entries, None)
        board.scales = question_scales(entries)
        add_scaled(entries, board.scales, columns)
        board.keep_columns(entries, columns)
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
    """Per forecaster and question, the prediction that counts, made into entries."""

    BLOCK = 20_000  # entries whose distributions are parsed in one call

    def __init__(self, include_late: bool, signed_only: bool, verified: set[int]) -> None:
        self.include_late, self.signed_only, self.verified = include_late, signed_only, verified
        self.entries: list[Entry] = []
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
        # Entry's fields in order, around forecaster and distribution (positional: faster).
        head = (question.id, label, question.title, name, question.kind, list(question.tags or []))
        tail = (
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
            self.picked.append((head, tail, forecaster, chosen, revisions))
        if len(self.picked) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        parsed, times, texts, verified = self.parsed, self.times, self.texts, self.verified
        new = list(dict.fromkeys(c[6] for _, _, _, c, _ in self.picked if c[6] not in parsed))
        try:  # one JSON document of the new distinct distributions: one parser call
            values = json.loads("[" + ",".join(new) + "]") if new else []
        except ValueError:
            values = []
        if len(values) != len(new):  # a text that is not one JSON value: one by one
            values = [json.loads(text) for text in new]
        parsed.update(zip(new, values, strict=True))
        for head, tail, forecaster, chosen, revisions in self.picked:
            made_at = times.get(chosen[3])
            if made_at is None:
                made_at = times[chosen[3]] = parse_iso_z(chosen[3])
            forecast = chosen[5]
            if len(forecast) <= 24:  # "0.3": one string for the many that say the same
                forecast = texts.setdefault(forecast, forecast)
            self.entries.append(
                _new_entry(
                    *head,
                    forecaster,
                    parsed[chosen[6]],
                    *tail,
                    chosen[0],
                    made_at,
                    bool(chosen[4]),
                    forecast,
                    revisions,
                    False,
                    chosen[0] in verified,
                )
            )
        self.picked = []

    def finish(self) -> list[Entry]:
        self._flush()
        return self.entries


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


def team_entries(entries: list[Entry]) -> list[Entry]:
    """The `team` forecast on each question with at least two forecasters (vectorised)."""
    groups = [g for g in by_question(entries).values() if len(g) >= 2]
    team: list[Entry] = []
    binary = [g for g in groups if g[0].kind == "binary"]
    if binary:
        # Forecasters x questions, NaN where a forecaster did not answer.
        width = max(len(g) for g in binary)
        matrix = np.full((width, len(binary)), np.nan)
        for j, g in enumerate(binary):
            matrix[: len(g), j] = [e.distribution["p"] for e in g]
        for g, p in zip(binary, np.atleast_1d(scoring.team_binary(matrix)), strict=True):
            team.append(_virtual(g[0], TEAM, {"family": "bernoulli", "p": float(p)}))
    for g in (g for g in groups if g[0].kind == "categorical"):
        probs = np.array([e.distribution["probs"] for e in g])
        dist = {
            "family": "categorical",
            "categories": list(g[0].distribution["categories"]),
            "probs": scoring.team_categorical(probs).tolist(),
        }
        team.append(_virtual(g[0], TEAM, dist))
    continuous = [g for g in groups if g[0].kind in CONTINUOUS]
    specs = scoring.team_quantiles_many(
        [[e.distribution for e in g] for g in continuous], [g[0].bounds for g in continuous]
    )
    team.extend(_virtual(g[0], TEAM, spec) for g, spec in zip(continuous, specs, strict=True))
    team.sort(key=lambda e: e.question_id)
    return team


def baseline_entries(entries: list[Entry], name: str) -> list[Entry]:
    """A built-in reference forecast per resolved question (none for quantities).

    `climatology`: for binary questions the Laplace-smoothed leave-one-out base rate of the
    other resolved binary questions (not clairvoyant); `naive`: 50%. Both use the uniform
    forecast for categorical questions and Beta(1, 1) for fractions.
    """
    firsts = [group[0] for group in by_question(entries).values()]
    binary = [e for e in firsts if e.kind == "binary"]
    rates: dict[int, float] = {}
    if name == "climatology" and binary:
        # one float object for each outcome (a million entries would hold as many)
        happened = [_ONE if e.outcome else _ZERO for e in binary]
        y = np.array(happened)
        loo = scoring.climatology_loo(y, pseudocount=1.0)
        rates = {e.question_id: float(p) for e, p in zip(binary, loo, strict=True)}
    out = []
    for entry in firsts:
        if entry.kind == "binary":
            dist: dict[str, Any] = {"family": "bernoulli", "p": rates.get(entry.question_id, 0.5)}
        elif entry.kind == "categorical":
            cats = list(entry.distribution["categories"])
            dist = {
                "family": "categorical",
                "categories": cats,
                "probs": [1.0 / len(cats)] * len(cats),
            }
        elif entry.kind == "fraction":
            dist = {"family": "beta", "alpha": 1.0, "beta": 1.0}
        else:
            continue
        out.append(_virtual(entry, name, dist))
    return out


# --- scoring ---


def question_scales(entries: Sequence[Entry]) -> dict[int, float]:
    """Each continuous question's scale in its unit, the same for every forecaster on it
    (`predtrack.scoring.crps_scales`: the width of the bounds, else the median width of the
    forecasts' central 90% intervals)."""
    groups = [g for g in by_question(entries).values() if g[0].kind in CONTINUOUS]
    if not groups:
        return {}
    scales = scoring.crps_scales(
        [[e.distribution for e in g] for g in groups], [g[0].bounds for g in groups]
    )
    return {
        g[0].question_id: float(s)
        for g, s in zip(groups, scales, strict=True)
        if np.isfinite(s) and s > 0
    }


def add_scaled(
    entries: Iterable[Entry], scales: dict[int, float], columns: Columns | None = None
) -> None:
    """`crps_scaled`: CRPS divided by its question's scale (unit-free); into the entries'
    columns too when given."""
    for e in entries:
        scale = scales.get(e.question_id)
        if scale and "crps" in e.scores:
            e.scores["crps_scaled"] = e.scores["crps"] / scale
    where = columns.at.get("crps") if columns is not None else None
    if columns is None or where is None or not scales:
        return
    known = np.fromiter(scales.keys(), dtype=np.int64, count=len(scales))
    value = np.fromiter(scales.values(), dtype=np.float64, count=len(scales))
    order = np.argsort(known)
    known, value = known[order], value[order]
    q = columns.qid[where]
    pos = np.minimum(np.searchsorted(known, q), known.size - 1)
    has = (known[pos] == q) & (value[pos] != 0)
    columns.add("crps_scaled", where[has], columns.values["crps"][has] / value[pos[has]])


def score_entries(entries: Sequence[Entry], scales: dict[int, float] | None) -> Columns:
    """Fill each entry's scores, vectorised per kind; the same scores as columns."""
    columns = Columns.frame(entries)
    kinds = columns.kind
    at = np.flatnonzero(kinds == KINDS.index("binary")).astype(np.intc)
    if at.size:
        binary = [entries[i] for i in at.tolist()]
        p = np.array([e.distribution["p"] for e in binary], dtype=float)
        # one float object for each outcome (a million entries would hold as many)
        happened = [_ONE if e.outcome else _ZERO for e in binary]
        y = np.array(happened)
        names = ("brier", "log", "spherical", "p", "y")
        arrays = [
            np.asarray(a, dtype=float)
            for a in (scoring.brier(p, y), scoring.log_score(p, y), scoring.spherical(p, y), p, y)
        ]
        # Lists, not numpy scalars one at a time: the same floats, ten times faster.
        lists = [a.tolist() for a in arrays[:-1]] + [happened]
        for e, row in zip(binary, zip(*lists, strict=True), strict=True):
            e.scores = dict(zip(names, row, strict=True))
        for name, a in zip(names, arrays, strict=True):
            columns.add(name, at, a)
    at = np.flatnonzero(np.isin(kinds, [KINDS.index(k) for k in CONTINUOUS])).astype(np.intc)
    if at.size:
        for name, (where, values) in _score_continuous([entries[i] for i in at.tolist()]).items():
            columns.add(name, at if where is None else at[where], values)
    categorical: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(kinds == KINDS.index("categorical")).tolist():
        categorical[len(entries[i].distribution["categories"])].append(i)
    for rows in categorical.values():
        group = [entries[i] for i in rows]
        probs = np.array([e.distribution["probs"] for e in group], dtype=float)
        idx = np.array([e.distribution["categories"].index(e.outcome) for e in group])
        brier, log, ranked = (
            scoring.brier_multi(probs, idx),
            scoring.log_multi(probs, idx),
            scoring.rps(probs, idx),
        )
        for e, b, lg, r in zip(group, brier.tolist(), log.tolist(), ranked.tolist(), strict=True):
            e.scores = {"brier_cat": b, "log_cat": lg}
            if e.ordered:
                e.scores["rps"] = r
        where = np.array(rows, dtype=np.intc)
        ordered = np.array([e.ordered for e in group], dtype=bool)
        columns.add("brier_cat", where, np.asarray(brier, dtype=float))
        columns.add("log_cat", where, np.asarray(log, dtype=float))
        columns.add("rps", where[ordered], np.asarray(ranked, dtype=float)[ordered])
    if scales is not None:
        add_scaled(entries, scales, columns)
    return columns


# An entry's continuous scores, by the names `score_continuous` gives them (the interval
# limits it also returns are read by none: a million entries would hold 4 million floats).
_CONTINUOUS_KEYS = {
    "crps": "crps", "log_density": "log", "pit": "pit", "cover50": "cover50",
    "cover90": "cover90", "is50": "is50", "is90": "is90",
}  # fmt: skip


def _score_continuous(entries: list[Entry]) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
    """Fill the entries' continuous scores; each score's (positions, None for every entry,
    and values) as arrays."""
    x = np.array([float(e.outcome) for e in entries])
    result = scoring.score_continuous(
        [e.distribution for e in entries], x, bounds=[e.bounds for e in entries]
    )
    keys = tuple(_CONTINUOUS_KEYS)
    arrays = [np.asarray(result[name], dtype=float) for name in _CONTINUOUS_KEYS.values()]
    # coverage is 0 or 1: one float object each, not one per entry
    columns = [[_ONE if v else _ZERO for v in a.tolist()] if k.startswith("cover") else a.tolist()
               for k, a in zip(keys, arrays, strict=True)]  # fmt: skip
    for e, values in zip(entries, zip(*columns, strict=True), strict=True):
        e.scores = dict(zip(keys, values, strict=True))
    out: dict[str, tuple[np.ndarray | None, np.ndarray]] = {
        key: (None, a) for key, a in zip(keys, arrays, strict=True)
    }
    counted = [
        i
        for i, e in enumerate(entries)
        if e.n is not None and e.distribution.get("family") == "beta"
    ]
    if counted:
        chosen = [entries[i] for i in counted]
        bb = np.asarray(
            scoring.betabinom_log_score(
                np.array([e.distribution["alpha"] for e in chosen]),
                np.array([e.distribution["beta"] for e in chosen]),
                np.array([e.k for e in chosen]),
                np.array([e.n for e in chosen]),
            ),
            dtype=float,
        )
        for e, value in zip(chosen, bb.tolist(), strict=True):
            e.scores["betabinom_log"] = value
        out["betabinom_log"] = (np.array(counted, dtype=np.intc), bb)
    return out
