"""Group summaries, skill, paired comparisons and the `score --json` document.

Which scores a group carries comes from `predtrack.vocabulary.SCORES`; the decompositions and
calibration tests of binary forecasts are computed here from `predtrack.scoring`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np

from predtrack import scoring
from predtrack.errors import InputError
from predtrack.score.board import Board, Entry, collect
from predtrack.score.columns import Columns
from predtrack.scoring.compare import bootstrap_cis, kept_resamples
from predtrack.store.engine import Store
from predtrack.vocabulary import (
    BASELINES,
    CONTINUOUS,
    GROUPINGS,
    KINDS,
    LOG_KEYS,
    MEANS,
    PAIRED,
    TEAM,
)

CI_LEVEL = 0.9
MIN_SHARED = 10  # shared questions below which a comparison says "too few"


def _mean(values: Sequence[float] | np.ndarray) -> float | None:
    """The mean; None when empty or undefined (+inf and -inf log densities together)."""
    if not len(values):
        return None
    with np.errstate(invalid="ignore"):
        mean = float(np.mean(values))
    return None if math.isnan(mean) else mean


def _cis(samples: Sequence[np.ndarray], seed: int) -> list[list[float] | None]:
    """The bootstrap CI of each sample's mean (None for fewer than two values)."""
    found = [i for i, values in enumerate(samples) if len(values) >= 2]
    # The bootstrap costs resamples x questions: 2,000 resamples up to 1,000 questions, fewer
    # (never under 200) beyond, where the CI of a mean is narrow and stable anyway.
    counts = [int(min(2000, max(200, 2_000_000 // len(samples[i])))) for i in found]
    arrays = [np.asarray(samples[i], dtype=float) for i in found]
    cis = bootstrap_cis(arrays, level=CI_LEVEL, n_resamples=counts, seed=seed)
    out: list[list[float] | None] = [None] * len(samples)
    for i, (lo, hi) in zip(found, cis, strict=True):
        out[i] = [float(lo), float(hi)]
    return out


def _binary_terms(cols: Columns, bins: int) -> dict[str, Any]:
    """CORP and Murphy decompositions and calibration tests of a group's binary forecasts."""
    p, y = cols.scores("p"), cols.scores("y")
    corp_b, corp_l = scoring.corp_pair(p, y)
    murphy = scoring.murphy(p, y, bins=bins)
    z, pz = scoring.spiegelhalter(p, y)
    return {
        "log_infinite": int(np.isinf(cols.scores("log")).sum()),
        "mcb": corp_b.mcb,
        "dsc": corp_b.dsc,
        "unc": corp_b.unc,
        "mcb_log": corp_l.mcb,
        "dsc_log": corp_l.dsc,
        "unc_log": corp_l.unc,
        "murphy_rel": murphy.rel,
        "murphy_res": murphy.res,
        "murphy_unc": murphy.unc,
        "murphy_wbv": murphy.wbv,
        "murphy_wbc": murphy.wbc,
        "spiegelhalter_z": z,
        "spiegelhalter_p": pz,
        "ece": scoring.ece(p, y, bins=bins),
    }


def group_stats(entries: Sequence[Entry], *, seed: int = 0, bins: int = 10) -> dict[str, Any]:
    """All applicable scores for a set of entries (nats; `convert_bits` turns logs to bits)."""
    return _group_stats(Columns.of(entries), seed=seed, bins=bins)


def _group_stats(cols: Columns, *, seed: int, bins: int) -> dict[str, Any]:
    kinds = cols.kind_counts()
    out: dict[str, Any] = {"n": len(cols), "questions": int(np.unique(cols.qid).size)}
    for kind in KINDS:
        out[f"n_{kind}"] = kinds[kind]
    # Updates after the first prediction; a replacement within 60 s is not one (a typo fix).
    out["updates"] = int((cols.revisions - 1).sum())
    wanted: dict[str, np.ndarray] = {}
    for score in MEANS:
        values = cols.scores(str(score.entry))
        if values.size:
            out[score.key] = _mean(values)
            if score.ci:
                wanted[score.key] = values
    ci = dict(zip(wanted, _cis(list(wanted.values()), seed), strict=True))
    if kinds["binary"]:
        out.update(_binary_terms(cols, bins))
    counted = cols.scores("betabinom_log").size
    if counted:
        out["n_betabinom"] = counted
    out["ci"] = ci
    return out


def skill_scores(entries: Sequence[Entry], reference: Sequence[Entry]) -> dict[str, Any]:
    """1 − S/S_ref per score, over the questions both the group and the reference scored."""
    return _skill(Columns.of(entries), _lookups(Columns.of(reference)))


Lookups = dict[str, tuple[np.ndarray, np.ndarray]]


def _lookups(reference: Columns) -> Lookups:
    return {score.key: reference.score_lookup(score.key) for score in PAIRED}


def _skill(cols: Columns, refs: Lookups) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for score in PAIRED:
        key = score.key
        where = cols.at.get(key)
        ref_q, ref_v = refs[key]
        if where is None or not ref_q.size:
            continue
        # A group can hold several forecasters per question: average over entries, not questions.
        q = cols.qid[where]
        pos = np.minimum(np.searchsorted(ref_q, q), ref_q.size - 1)
        shared = ref_q[pos] == q
        mine = cols.values[key][shared]
        if mine.size:
            s, s_ref = float(np.mean(mine)), float(np.mean(ref_v[pos[shared]]))
            finite = math.isfinite(s) and math.isfinite(s_ref)
            out[key] = float(scoring.skill(s, s_ref)) if finite else None
            out[f"n_{key}"] = int(mine.size)
    return out


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


def _family(kinds: Sequence[str]) -> str:
    return "continuous" if set(kinds) <= set(CONTINUOUS) else kinds[0]


def compare(
    a: Sequence[Entry] | Columns,
    b: Sequence[Entry] | Columns,
    *,
    seed: int = 0,
    n_resamples: int = 2000,
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Paired differences A − B over shared questions, per score (negative: A did better).

    A and B are entries, or their columns (a caller comparing them many times keeps those)."""
    cols_a = a if isinstance(a, Columns) else Columns.of(a)
    cols_b = b if isinstance(b, Columns) else Columns.of(b)
    with kept_resamples():  # the scores of one kind share their questions
        found = [_compared(s, cols_a, cols_b, seed, n_resamples) for s in PAIRED
                 if keys is None or s.key in keys]  # fmt: skip
    return [row for row in found if row is not None]


def _compared(
    score: Any, cols_a: Columns, cols_b: Columns, seed: int, n_resamples: int
) -> dict[str, Any] | None:
    """`compare`'s row of one score (None when the two share no question scored by it)."""
    (qa, va), (qb, vb) = cols_a.score_lookup(score.key), cols_b.score_lookup(score.key)
    shared, ia, ib = np.intersect1d(qa, qb, assume_unique=True, return_indices=True)
    if not shared.size:
        return None
    x, z = va[ia], vb[ib]  # by question id, as both scored them
    row: dict[str, Any] = {"score": score.key, "family": _family(score.kinds), "n": len(shared)}
    if not (np.isfinite(x).all() and np.isfinite(z).all()):
        row.update(
            mean_diff=None,
            ci=None,
            p_value=None,
            meaningful=False,
            verdict="undefined",
            note="an infinite log score on a shared question: the difference is undefined",
        )
        return row
    result = scoring.paired_compare(x, z, level=CI_LEVEL, n_resamples=n_resamples, seed=seed)
    row.update(
        n=result.n,
        mean_diff=result.mean_diff,
        ci=[result.ci_lo, result.ci_hi],
        p_value=result.p_value,
        meaningful=result.meaningful,
        verdict=verdict([result.ci_lo, result.ci_hi], result.p_value, result.n, CI_LEVEL),
        note=None
        if result.meaningful
        else f"only {result.n} shared questions: fewer than {MIN_SHARED} make this comparison meaningless",
    )
    return row


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


def _check_by(by: str | None) -> None:
    if by is not None and by not in GROUPINGS:
        raise InputError(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")


def _group_rows(board: Board, by: str) -> dict[str, list[int]]:
    """The board's positions of each group's predictions, by group name."""
    rows: dict[str, list[int]] = defaultdict(list)
    if by == "tag":
        for i, tags in enumerate(board.field("tags")):
            for name in tags or ["(untagged)"]:
                rows[name].append(i)
    else:
        for i, name in enumerate(board.field(by)):
            rows[name].append(i)
    return rows


def _reference(board: Board, baseline: str | None) -> Columns | None:
    """The scores skill is measured against, as columns."""
    if baseline is None:
        return None
    if baseline in BASELINES:
        return board.baseline_columns(baseline)
    if baseline == TEAM and board.team:
        return board.columns_of(board.team)
    everything = board.columns
    if baseline != TEAM and baseline in everything.names:
        code = everything.names.index(baseline)
        return everything.take(np.flatnonzero(everything.forecaster == code))
    known = sorted(everything.names)
    raise InputError(
        f"--baseline {baseline!r}: no scored predictions by that forecaster "
        f"(use climatology, naive, team, or one of: {', '.join(known) or 'nobody yet'})"
    )


def continuous_units(entries: Iterable[Entry] | Board) -> list[str]:
    """The distinct units of scored fraction and quantity questions ("fraction" for fractions;
    a quantity without a unit is a unit of its own): CRPS averages only within one unit."""
    facts: Iterable[tuple[str, str | None, int]]
    if isinstance(entries, Board):
        fields = (entries.field(name) for name in ("kind", "unit", "question_id"))
        facts = zip(*fields, strict=True)
    else:
        facts = ((e.kind, e.unit, e.question_id) for e in entries)
    units = set()
    for kind, unit, qid in facts:
        if kind == "fraction":
            units.add("fraction")
        elif kind == "quantity":
            units.add(unit or f"#{qid}")
    return sorted(units)


def summarize(
    board: Board,
    *,
    by: str | None = None,
    baseline: str | None = None,
    bits: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """The `score --json` document: one group per forecaster/experiment/tag/kind, or `all`."""
    _check_by(by)
    reference_columns = _reference(board, baseline)
    # The board read once, in its own order; each group is a set of its rows, made into
    # columns of its own only when its turn comes (each is a copy of those rows).
    everything = board.columns
    groups: list[tuple[str, Callable[[], Columns]]] = []
    if by is None:
        if len(everything):
            groups.append(("all", lambda: everything))
    else:
        rows = _group_rows(board, by)
        groups += [(name, partial(everything.take, r)) for name, r in sorted(rows.items())]
    if by == "forecaster":
        if board.team:
            groups.append((TEAM, partial(board.columns_of, board.team)))
        if baseline in BASELINES and reference_columns is not None and len(reference_columns):
            built = reference_columns
            groups.append((str(baseline), lambda: built))
    refs = _lookups(reference_columns) if reference_columns is not None else None
    result = []
    with kept_resamples():  # groups of one size draw the same resamples
        for name, columns in groups:
            members = columns()
            stats = {"group": name, **_group_stats(members, seed=seed, bins=10)}
            if name == TEAM:
                stats["virtual"] = "median of the forecasters (mean log-odds for binary)"
            if refs is not None:
                stats["skill"] = _skill(members, refs)
            result.append(convert_bits(stats) if bits else stats)
    units = continuous_units(board)
    return {
        "groups": result,
        "by": by or "all",
        "baseline": baseline,
        "include_late": board.include_late,
        "log_unit": "bits" if bits else "nats",
        "ci_level": CI_LEVEL,
        "seed": seed,
        "counts": board.counts,
        "continuous_units": units,
        "sealed": board.sealed,
    }


def comparison(
    board: Board, a: str, b: str, *, seed: int = 0, bits: bool = False
) -> dict[str, Any]:
    """`score --compare A B`: paired differences over the questions both answered."""
    rows = compare(board.forecaster(a), board.forecaster(b), seed=seed)
    if bits:
        factor = 1.0 / math.log(2.0)
        for row in rows:
            if row["score"] in LOG_KEYS and row["mean_diff"] is not None:
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
    signed_only: bool = False,
) -> dict[str, Any]:
    """What `predtrack score` prints: the summary, and a comparison when asked."""
    _check_by(by)
    from predtrack.memory import without_gc

    board = collect(
        store, include_late=include_late, experiment=experiment, signed_only=signed_only
    )
    with without_gc(len(board) > 10_000):
        document = summarize(board, by=by, baseline=baseline, bits=bits, seed=seed)
    document["signed_only"] = signed_only
    if compare_pair is not None:
        document["comparison"] = comparison(board, *compare_pair, seed=seed, bits=bits)
    return document
