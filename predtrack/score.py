"""Which predictions count, their scores, and the summaries `score` and `report` show.

The numbers come from `predtrack.scoring` (pure numpy/scipy); this module only decides what
is scored and groups the results, so `score` and `report` can never disagree.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from predtrack import scoring
from predtrack.errors import InputError
from predtrack.store.engine import Store

REPLACED_WITHIN = timedelta(seconds=60)
CI_LEVEL = 0.9
GROUPINGS = ("forecaster", "experiment", "tag", "kind")
BUILTIN_BASELINES = ("climatology", "naive")
TEAM = "team"
CONTINUOUS = ("fraction", "quantity")
# Scores whose values are log scores (converted with --bits).
LOG_KEYS = ("log", "log_density", "log_cat", "betabinom_log", "mcb_log", "dsc_log", "unc_log")


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
    prediction_id: int | None = None
    made_at: datetime | None = None
    late: bool = False
    forecast: str = ""
    revisions: int = 1
    virtual: bool = False
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

    @cached_property
    def team(self) -> list[Entry]:
        """The virtual `team` forecaster's entries."""
        team = _team_entries(self.entries)
        score_entries(team)
        return team

    @cached_property
    def baselines(self) -> dict[str, list[Entry]]:
        """The built-in reference forecasts, by name."""
        out = {name: _baseline_entries(self.entries, name) for name in BUILTIN_BASELINES}
        for entries in out.values():
            score_entries(entries)
        return out


# --- which predictions count ---


def scoring_bounds(question: Any) -> tuple[float, float] | None:
    """The support a question's forecasts are scored on: [0, 1] for fractions, else its bounds."""
    if question.kind == "fraction":
        return (0.0, 1.0)
    if question.lower is not None and question.upper is not None:
        return (question.lower, question.upper)
    return None


class _Row(NamedTuple):
    id: int
    question_id: int
    forecaster: str
    made_at: datetime
    late: bool
    forecast: str
    distribution: str  # JSON text, parsed only if this prediction counts


def _collapse(predictions: list[Any]) -> list[Any]:
    """Drop predictions replaced by the same forecaster within 60 s (a typo fix, not an update)."""
    kept: list[Any] = []
    for prediction in predictions:
        if (
            kept
            and prediction.made_at - kept[-1].made_at <= REPLACED_WITHIN
            and prediction.late == kept[-1].late
        ):
            kept[-1] = prediction
        else:
            kept.append(prediction)
    return kept


def collect(store: Store, *, include_late: bool = False, experiment: str | None = None) -> Board:
    """Load resolved questions and choose, per forecaster, the prediction that is scored."""
    from sqlalchemy import Text, func, type_coerce
    from sqlalchemy import select as sa_select
    from sqlmodel import col, select

    from predtrack.experiments import get_experiment
    from predtrack.predict import question_label
    from predtrack.store.ledger import table_of
    from predtrack.store.models import Experiment, Prediction, Question, Resolution

    with store.read() as session:
        # Core rows (attribute access like ORM objects, a fraction of the cost at 10,000 rows).
        qt, rt, et = table_of(Question), table_of(Resolution), table_of(Experiment)
        query = sa_select(qt, et.c.name.label("experiment_name")).join(
            et, qt.c.experiment_id == et.c.id
        )
        if experiment is not None:
            get_experiment(session, experiment)
            query = query.where(et.c.name == experiment)
        questions = {q.id: (q, q.experiment_name) for q in session.execute(query)}
        current: dict[int, Any] = {}
        for resolution in session.execute(sa_select(rt).order_by(rt.c.question_id, rt.c.id)):
            if resolution.question_id in questions:
                current[resolution.question_id] = resolution  # corrections come later: last wins
        resolved = [
            qid for qid in questions if qid in current and current[qid].status == "resolved"
        ]
        wanted = set(resolved)
        by_question: dict[int, list[_Row]] = defaultdict(list)
        # Plain tuples, not ORM objects (a large store has 100,000 predictions), and the
        # distribution JSON is parsed only for the predictions that count.
        c = table_of(Prediction).c
        for row in session.execute(
            sa_select(
                c.id,
                c.question_id,
                c.forecaster,
                c.made_at,
                c.late,
                c.forecast,
                type_coerce(c.distribution, Text),
            ).order_by(c.id)  # recording order, which is the ledger's: no sort needed
        ):
            # Filtered here, not with a 10,000-item IN list in SQL.
            if row[1] in wanted:
                by_question[row[1]].append(_Row(*row))
        late_query = (
            select(func.count()).select_from(Prediction).where(col(Prediction.late).is_(True))
        )
        if experiment is not None:
            late_query = late_query.where(col(Prediction.question_id).in_(list(questions)))
        late_total = int(session.exec(late_query).one())

    counts = {
        "registered": len(questions),
        "resolved": len(resolved),
        "annulled": sum(1 for r in current.values() if r.status == "annulled"),
        "pending": sum(1 for qid in questions if qid not in current),
        "late": late_total,
    }
    entries: list[Entry] = []
    meta: dict[int, dict[str, Any]] = {}
    # Many forecasts share their text ("0.3"): parse each distinct one once. Entries only
    # read their distribution, so sharing the parsed dict is safe.
    seen_json: dict[str, dict[str, Any]] = {}

    def parsed(text: str) -> dict[str, Any]:
        value = seen_json.get(text)
        if value is None:
            value = seen_json[text] = json.loads(text)
        return value

    for qid in sorted(resolved):
        question, name = questions[qid]
        resolution = current[qid]
        label = question_label(question, name)
        bounds = scoring_bounds(question)
        meta[qid] = {
            "label": label,
            "title": question.title,
            "experiment": name,
            "kind": question.kind,
            "outcome": resolution.outcome,
            "resolution": resolution,
        }
        per_forecaster: dict[str, list[_Row]] = defaultdict(list)
        for prediction in by_question.get(qid, []):
            per_forecaster[prediction.forecaster].append(prediction)
        # Read the row's fields once: Core row attribute access is not free at 100,000 entries.
        shared = {
            "question_id": qid,
            "label": label,
            "title": question.title,
            "experiment": name,
            "kind": question.kind,
            "tags": list(question.tags or []),
            "outcome": resolution.outcome,
            "k": resolution.k,
            "n": resolution.n,
            "resolved_at": resolution.resolved_at,
            "bounds": bounds,
            "categories": question.categories,
            "ordered": question.ordered,
        }
        for forecaster, history in per_forecaster.items():
            kept = _collapse(history) if len(history) > 1 else history
            eligible = [p for p in kept if include_late or not p.late]
            if not eligible:
                continue
            chosen = eligible[-1]
            entries.append(
                Entry(
                    forecaster=forecaster,
                    distribution=parsed(chosen.distribution),
                    prediction_id=chosen.id,
                    made_at=chosen.made_at,
                    late=chosen.late,
                    forecast=chosen.forecast,
                    revisions=len(eligible),
                    **shared,
                )
            )
    score_entries(entries)
    return Board(entries, meta, include_late, experiment, counts)


# --- virtual forecasters ---


def _virtual(template: Entry, forecaster: str, distribution: dict[str, Any]) -> Entry:
    return replace(
        template,
        forecaster=forecaster,
        distribution=distribution,
        virtual=True,
        prediction_id=None,
        made_at=None,
        late=False,
        forecast="",
        revisions=1,
        scores={},
    )


def _by_question(entries: Iterable[Entry]) -> dict[int, list[Entry]]:
    grouped: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.question_id].append(entry)
    return grouped


def _team_entries(entries: list[Entry]) -> list[Entry]:
    """The `team` forecast on each question with at least two forecasters (vectorised)."""
    groups = [g for g in _by_question(entries).values() if len(g) >= 2]
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
        team.append(
            _virtual(
                g[0],
                TEAM,
                {
                    "family": "categorical",
                    "categories": list(g[0].distribution["categories"]),
                    "probs": scoring.team_categorical(probs).tolist(),
                },
            )
        )
    continuous = [g for g in groups if g[0].kind in CONTINUOUS]
    specs = scoring.team_quantiles_many(
        [[e.distribution for e in g] for g in continuous], [g[0].bounds for g in continuous]
    )
    team.extend(_virtual(g[0], TEAM, spec) for g, spec in zip(continuous, specs, strict=True))
    team.sort(key=lambda e: e.question_id)
    return team


def _baseline_entries(entries: list[Entry], name: str) -> list[Entry]:
    """A built-in reference forecast per resolved question (none for quantities).

    `climatology`: for binary questions the Laplace-smoothed leave-one-out base rate of the
    other resolved binary questions (not clairvoyant); `naive`: 50%. Both use the uniform
    forecast for categorical questions and Beta(1, 1) for fractions.
    """
    firsts = [group[0] for group in _by_question(entries).values()]
    binary = [e for e in firsts if e.kind == "binary"]
    rates: dict[int, float] = {}
    if name == "climatology" and binary:
        y = np.array([1.0 if e.outcome else 0.0 for e in binary])
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


def score_entries(entries: Sequence[Entry]) -> None:
    """Fill each entry's scores, vectorised per kind."""
    binary = [e for e in entries if e.kind == "binary"]
    if binary:
        p = np.array([e.distribution["p"] for e in binary], dtype=float)
        y = np.array([1.0 if e.outcome else 0.0 for e in binary])
        brier, log, spherical = (
            scoring.brier(p, y),
            scoring.log_score(p, y),
            scoring.spherical(p, y),
        )
        for i, e in enumerate(binary):
            e.scores = {
                "brier": float(brier[i]),
                "log": float(log[i]),
                "spherical": float(spherical[i]),
                "p": float(p[i]),
                "y": float(y[i]),
            }
    continuous = [e for e in entries if e.kind in CONTINUOUS]
    if continuous:
        x = np.array([float(e.outcome) for e in continuous])
        result = scoring.score_continuous(
            [e.distribution for e in continuous], x, bounds=[e.bounds for e in continuous]
        )
        for i, e in enumerate(continuous):
            e.scores = {
                "crps": float(result["crps"][i]),
                "log_density": float(result["log"][i]),
                "pit": float(result["pit"][i]),
                "cover50": float(result["cover50"][i]),
                "cover90": float(result["cover90"][i]),
                "is50": float(result["is50"][i]),
                "is90": float(result["is90"][i]),
                "lo90": float(result["lo90"][i]),
                "hi90": float(result["hi90"][i]),
                "lo50": float(result["lo50"][i]),
                "hi50": float(result["hi50"][i]),
            }
        counted = [
            e for e in continuous if e.n is not None and e.distribution.get("family") == "beta"
        ]
        if counted:
            bb = scoring.betabinom_log_score(
                np.array([e.distribution["alpha"] for e in counted]),
                np.array([e.distribution["beta"] for e in counted]),
                np.array([e.k for e in counted]),
                np.array([e.n for e in counted]),
            )
            for e, value in zip(counted, bb, strict=True):
                e.scores["betabinom_log"] = float(value)
    categorical: dict[int, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.kind == "categorical":
            categorical[len(e.distribution["categories"])].append(e)
    for group in categorical.values():
        probs = np.array([e.distribution["probs"] for e in group], dtype=float)
        idx = np.array([e.distribution["categories"].index(e.outcome) for e in group])
        brier, log, ranked = (
            scoring.brier_multi(probs, idx),
            scoring.log_multi(probs, idx),
            scoring.rps(probs, idx),
        )
        for i, e in enumerate(group):
            e.scores = {"brier_cat": float(brier[i]), "log_cat": float(log[i])}
            if e.ordered:
                e.scores["rps"] = float(ranked[i])


# --- summaries ---


def _mean(values: Sequence[float]) -> float | None:
    """The mean; None when empty or undefined (+inf and -inf log densities together)."""
    if not len(values):
        return None
    with np.errstate(invalid="ignore"):
        mean = float(np.mean(values))
    return None if math.isnan(mean) else mean


def _ci(values: Sequence[float], seed: int) -> list[float] | None:
    if len(values) < 2:
        return None
    arr = np.asarray(values, dtype=float)
    # The bootstrap costs resamples x questions: 2,000 resamples up to 2,000 questions, fewer
    # (never under 200) beyond 1,000, where the CI of a mean is narrow and stable anyway.
    resamples = int(min(2000, max(200, 2_000_000 // len(arr))))
    lo, hi = scoring.bootstrap_ci(arr, level=CI_LEVEL, n_resamples=resamples, seed=seed)
    return [float(lo), float(hi)]


def group_stats(entries: Sequence[Entry], *, seed: int = 0, bins: int = 10) -> dict[str, Any]:
    """All applicable scores for a set of entries (nats; `convert_bits` turns logs to bits)."""
    out: dict[str, Any] = {
        "n": len(entries),
        "questions": len({e.question_id for e in entries}),
        "n_binary": 0,
        "n_fraction": 0,
        "n_quantity": 0,
        "n_categorical": 0,
    }
    # Updates after the first prediction; a replacement within 60 s is not one (a typo fix).
    out["updates"] = sum(e.revisions - 1 for e in entries)
    ci: dict[str, list[float] | None] = {}
    for kind in ("binary", "fraction", "quantity", "categorical"):
        out[f"n_{kind}"] = sum(1 for e in entries if e.kind == kind)
    binary = [e for e in entries if e.kind == "binary"]
    if binary:
        p = np.array([e.scores["p"] for e in binary])
        y = np.array([e.scores["y"] for e in binary])
        briers = [e.scores["brier"] for e in binary]
        logs = [e.scores["log"] for e in binary]
        corp_b = scoring.corp(p, y, score="brier")
        corp_l = scoring.corp(p, y, score="log")
        murphy = scoring.murphy(p, y, bins=bins)
        z, pz = scoring.spiegelhalter(p, y) if len(binary) >= 1 else (math.nan, math.nan)
        out.update(
            brier=_mean(briers),
            log=_mean(logs),
            spherical=_mean([e.scores["spherical"] for e in binary]),
            log_infinite=int(np.isinf(logs).sum()),
            mcb=corp_b.mcb,
            dsc=corp_b.dsc,
            unc=corp_b.unc,
            mcb_log=corp_l.mcb,
            dsc_log=corp_l.dsc,
            unc_log=corp_l.unc,
            murphy_rel=murphy.rel,
            murphy_res=murphy.res,
            murphy_unc=murphy.unc,
            murphy_wbv=murphy.wbv,
            murphy_wbc=murphy.wbc,
            spiegelhalter_z=z,
            spiegelhalter_p=pz,
            ece=scoring.ece(p, y, bins=bins),
        )
        ci["brier"] = _ci(briers, seed)
        ci["log"] = _ci(logs, seed)
    continuous = [e for e in entries if e.kind in CONTINUOUS]
    if continuous:
        crps = [e.scores["crps"] for e in continuous]
        out.update(
            crps=_mean(crps),
            log_density=_mean([e.scores["log_density"] for e in continuous]),
            coverage_50=_mean([e.scores["cover50"] for e in continuous]),
            coverage_90=_mean([e.scores["cover90"] for e in continuous]),
            interval_score_50=_mean([e.scores["is50"] for e in continuous]),
            interval_score_90=_mean([e.scores["is90"] for e in continuous]),
        )
        ci["crps"] = _ci(crps, seed)
        counted = [e.scores["betabinom_log"] for e in continuous if "betabinom_log" in e.scores]
        if counted:
            out["betabinom_log"] = _mean(counted)
            out["n_betabinom"] = len(counted)
    categorical = [e for e in entries if e.kind == "categorical"]
    if categorical:
        briers = [e.scores["brier_cat"] for e in categorical]
        out.update(
            brier_cat=_mean(briers), log_cat=_mean([e.scores["log_cat"] for e in categorical])
        )
        ci["brier_cat"] = _ci(briers, seed)
        ranked = [e.scores["rps"] for e in categorical if "rps" in e.scores]
        if ranked:
            out["rps"] = _mean(ranked)
    out["ci"] = ci
    return out


# The score per question that skill and comparisons use, for each kind.
HEADLINE = {"binary": "brier", "fraction": "crps", "quantity": "crps", "categorical": "brier_cat"}
PAIRED_SCORES = (
    ("brier", "binary"),
    ("log", "binary"),
    ("crps", "continuous"),
    ("brier_cat", "categorical"),
)


def _score_map(entries: Iterable[Entry], key: str) -> dict[int, float]:
    return {e.question_id: e.scores[key] for e in entries if key in e.scores}


def skill_scores(
    entries: Sequence[Entry],
    reference: Sequence[Entry],
    ref_maps: dict[str, dict[int, float]] | None = None,
) -> dict[str, Any]:
    """1 − S/S_ref per score, over the questions both the group and the reference scored."""
    out: dict[str, Any] = {}
    for key in ("brier", "log", "crps", "brier_cat"):
        ref = ref_maps[key] if ref_maps is not None else _score_map(reference, key)
        # A group can hold several forecasters per question: average over entries, not questions.
        pairs = [
            (e.scores[key], ref[e.question_id])
            for e in entries
            if key in e.scores and e.question_id in ref
        ]
        if pairs:
            s, s_ref = (float(np.mean(v)) for v in zip(*pairs, strict=True))
            out[key] = (
                float(scoring.skill(s, s_ref))
                if math.isfinite(s) and math.isfinite(s_ref)
                else None
            )
            out[f"n_{key}"] = len(pairs)
    return out


MIN_SHARED = 10  # shared questions below which a comparison says "too few"


def verdict(ci: Sequence[float] | None, p_value: float | None, n: int, level: float) -> str:
    """One rule for every comparison: `a` or `b` did better only when the bootstrap CI excludes
    0 *and* the Wilcoxon p-value is below 1 − level; otherwise `none` (no clear difference),
    `few` (under MIN_SHARED shared questions) or `undefined` (an infinite score)."""
    if ci is None or p_value is None:
        return "undefined"
    if n < MIN_SHARED:
        return "few"
    significant = p_value < 1.0 - level
    if ci[1] < 0 and significant:
        return "a"
    if ci[0] > 0 and significant:
        return "b"
    return "none"


def compare(
    a: Sequence[Entry], b: Sequence[Entry], *, seed: int = 0, n_resamples: int = 2000
) -> list[dict[str, Any]]:
    """Paired differences A − B over shared questions, per score (negative: A did better)."""
    rows = []
    for key, family in PAIRED_SCORES:
        mine, theirs = _score_map(a, key), _score_map(b, key)
        shared = sorted(q for q in mine if q in theirs)
        if not shared:
            continue
        x = np.array([mine[q] for q in shared])
        z = np.array([theirs[q] for q in shared])
        if not (np.isfinite(x).all() and np.isfinite(z).all()):
            rows.append(
                {
                    "score": key,
                    "family": family,
                    "n": len(shared),
                    "mean_diff": None,
                    "ci": None,
                    "p_value": None,
                    "meaningful": False,
                    "verdict": "undefined",
                    "note": "an infinite log score on a shared question: the difference is undefined",
                }
            )
            continue
        result = scoring.paired_compare(x, z, level=CI_LEVEL, n_resamples=n_resamples, seed=seed)
        rows.append(
            {
                "score": key,
                "family": family,
                "n": result.n,
                "mean_diff": result.mean_diff,
                "ci": [result.ci_lo, result.ci_hi],
                "p_value": result.p_value,
                "meaningful": result.meaningful,
                "verdict": verdict(
                    [result.ci_lo, result.ci_hi], result.p_value, result.n, CI_LEVEL
                ),
                "note": None
                if result.meaningful
                else f"only {result.n} shared questions: fewer than 10 make this comparison meaningless",
            }
        )
    return rows


def convert_bits(stats: dict[str, Any]) -> dict[str, Any]:
    """Log scores (and their CIs) from nats to bits."""
    factor = 1.0 / math.log(2.0)
    out = dict(stats)
    for key in LOG_KEYS:
        if isinstance(out.get(key), float):
            out[key] = out[key] * factor
    ci = dict(out.get("ci") or {})
    for key in LOG_KEYS:
        if ci.get(key):
            ci[key] = [v * factor for v in ci[key]]
    out["ci"] = ci
    return out


def _group_key(by: str | None) -> Callable[[Entry], list[str]]:
    if by is None:
        return lambda e: ["all"]
    if by == "forecaster":
        return lambda e: [e.forecaster]
    if by == "experiment":
        return lambda e: [e.experiment]
    if by == "kind":
        return lambda e: [e.kind]
    if by == "tag":
        return lambda e: e.tags or ["(untagged)"]
    raise InputError(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")


def summarize(
    board: Board,
    *,
    by: str | None = None,
    baseline: str | None = None,
    bits: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """The `score --json` document: one group per forecaster/experiment/tag/kind, or `all`."""
    reference = _reference(board, baseline)
    key = _group_key(by)
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in board.entries:
        for name in key(entry):
            groups[name].append(entry)
    ordered = sorted(groups.items(), key=lambda kv: kv[0])
    if by == "forecaster":
        if board.team:
            ordered.append((TEAM, board.team))
        if baseline in BUILTIN_BASELINES and reference:
            ordered.append((baseline, reference))
    ref_maps = None
    if reference is not None:
        ref_maps = {k: _score_map(reference, k) for k in ("brier", "log", "crps", "brier_cat")}
    result = []
    for name, members in ordered:
        stats = group_stats(members, seed=seed)
        stats = {"group": name, **stats}
        if name == TEAM:
            stats["virtual"] = "median of the forecasters (mean log-odds for binary)"
        if reference is not None:
            stats["skill"] = skill_scores(members, reference, ref_maps)
        result.append(convert_bits(stats) if bits else stats)
    return {
        "groups": result,
        "by": by or "all",
        "baseline": baseline,
        "include_late": board.include_late,
        "log_unit": "bits" if bits else "nats",
        "ci_level": CI_LEVEL,
        "seed": seed,
        "counts": board.counts,
    }


def _reference(board: Board, baseline: str | None) -> list[Entry] | None:
    if baseline is None:
        return None
    if baseline in BUILTIN_BASELINES:
        return board.baselines[baseline]
    chosen = [e for e in board.entries if e.forecaster == baseline]
    if baseline == TEAM:
        chosen = board.team
    if not chosen:
        known = sorted({e.forecaster for e in board.entries})
        raise InputError(
            f"--baseline {baseline!r}: no scored predictions by that forecaster "
            f"(use climatology, naive, team, or one of: {', '.join(known) or 'nobody yet'})"
        )
    return chosen


def forecaster_entries(board: Board, name: str) -> list[Entry]:
    """A forecaster's scored entries (`team` and the built-in baselines included)."""
    if name == TEAM:
        return board.team
    if name in board.baselines:
        return board.baselines[name]
    chosen = [e for e in board.entries if e.forecaster == name]
    if not chosen:
        known = sorted({e.forecaster for e in board.entries})
        raise InputError(
            f"no scored predictions by {name!r} (forecasters: {', '.join(known) or 'none yet'})"
        )
    return chosen


def comparison(
    board: Board, a: str, b: str, *, seed: int = 0, bits: bool = False
) -> dict[str, Any]:
    """`score --compare A B`: paired differences over the questions both answered."""
    rows = compare(forecaster_entries(board, a), forecaster_entries(board, b), seed=seed)
    if bits:
        factor = 1.0 / math.log(2.0)
        for row in rows:
            if row["score"] == "log" and row["mean_diff"] is not None:
                row["mean_diff"] *= factor
                row["ci"] = [v * factor for v in row["ci"]]
    return {
        "a": a,
        "b": b,
        "ci_level": CI_LEVEL,
        "log_unit": "bits" if bits else "nats",
        "scores": rows,
    }


def score_report(
    store: Store,
    *,
    by: str | None = None,
    baseline: str | None = None,
    include_late: bool = False,
    bits: bool = False,
    seed: int = 0,
    experiment: str | None = None,
    compare_pair: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """What `predtrack score` prints: the summary, and a comparison when asked."""
    if by is not None and by not in GROUPINGS:
        raise InputError(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")
    board = collect(store, include_late=include_late, experiment=experiment)
    document = summarize(board, by=by, baseline=baseline, bits=bits, seed=seed)
    if compare_pair is not None:
        document["comparison"] = comparison(board, *compare_pair, seed=seed, bits=bits)
    return document


# --- CSV export of scored predictions ---

CSV_FIELDS = (
    "question_id",
    "question",
    "experiment",
    "kind",
    "title",
    "forecaster",
    "prediction_id",
    "made_at",
    "late",
    "forecast",
    "family",
    "outcome",
    "k",
    "n",
    "resolved_at",
    "brier",
    "log",
    "spherical",
    "crps",
    "log_density",
    "pit",
    "cover50",
    "cover90",
    "is50",
    "is90",
    "betabinom_log",
    "brier_cat",
    "log_cat",
    "rps",
)


def scored_rows_csv(store: Store, *, include_late: bool = False) -> Iterator[str]:
    """One CSV line per scored prediction (header first), for pandas or R."""
    from predtrack.store.types import iso_z

    board = collect(store, include_late=include_late)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="")

    def line(values: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_FIELDS)
    for e in sorted(board.entries, key=lambda e: (e.question_id, e.forecaster)):
        base = {
            "question_id": e.question_id,
            "question": e.label,
            "experiment": e.experiment,
            "kind": e.kind,
            "title": e.title,
            "forecaster": e.forecaster,
            "prediction_id": e.prediction_id,
            "made_at": iso_z(e.made_at) if e.made_at else "",
            "late": e.late,
            "forecast": e.forecast,
            "family": e.distribution.get("family"),
            "outcome": e.outcome,
            "k": e.k,
            "n": e.n,
            "resolved_at": iso_z(e.resolved_at),
        }
        yield line([_csv_value(base.get(name, e.scores.get(name))) for name in CSV_FIELDS])


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
