"""`predtrack score`: which predictions count, and numbers that match the scoring core."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from predtrack import scoring
from predtrack.score.board import _collapse
from tests.conftest import Run, write

# DESIGN §8 field names, "the scores that apply" to each kind of group.
BINARY_FIELDS = {
    "group",
    "n",
    "brier",
    "log",
    "mcb",
    "dsc",
    "unc",
    "murphy_rel",
    "murphy_res",
    "murphy_unc",
    "ci",
}
CONTINUOUS_FIELDS = {"group", "n", "crps", "coverage_50", "coverage_90", "interval_score_90", "ci"}


def binary_store(run: Run, tmp_path: Path) -> tuple[list[float], list[float], list[float]]:
    """Six binary questions forecast by alice and bob, resolved by hand."""
    alice = [0.4, 0.3, 0.2, 0.1, 0.5, 0.9]  # the CORP vector of REFERENCE-VALUES
    bob = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    y = [0, 0, 0, 1, 1, 1]
    lines = ['experiment = "b"']
    for i in range(6):
        lines += [
            "[[question]]",
            f'key = "q{i}"',
            f'title = "Q{i}"',
            'kind = "binary"',
            f'forecasts = {{ alice = "{alice[i]}", bob = "{bob[i]}" }}',
        ]
    run("predict", "--file", str(write(tmp_path / "b.toml", "\n".join(lines) + "\n")))
    for i in range(6):
        run("resolve", f"q{i}", "--yes" if y[i] else "--no")
    return alice, bob, [float(v) for v in y]


def score_json(run: Run, *args: str) -> dict:
    return json.loads(run("score", "--json", *args).output)


def group(document: dict, name: str) -> dict:
    return next(g for g in document["groups"] if g["group"] == name)


def test_binary_scores_equal_the_reference_values(store_db: str, run: Run, tmp_path: Path) -> None:
    _alice, _, _y = binary_store(run, tmp_path)
    document = score_json(run, "--by", "forecaster")
    a = group(document, "alice")
    assert set(a) >= BINARY_FIELDS and "crps" not in a
    assert a["n"] == 6
    # REFERENCE-VALUES.md, "CORP, Brier" and "CORP, log" rows.
    assert a["brier"] == pytest.approx(0.226667, abs=1e-6)
    assert (a["mcb"], a["dsc"], a["unc"]) == pytest.approx((0.101667, 0.125, 0.25), abs=1e-6)
    assert a["log"] == pytest.approx(0.698623, abs=1e-6)
    assert (a["mcb_log"], a["dsc_log"], a["unc_log"]) == pytest.approx(
        (0.323733, 0.318257, 0.693147), abs=1e-6
    )
    # "Murphy, 2 bins" row uses 2 bins; with 10 bins each forecast is alone in its bin: REL = mean (p - y)^2.
    assert a["murphy_unc"] == pytest.approx(0.25)
    assert a["spiegelhalter_z"] == pytest.approx(0.688530, abs=1e-6)
    assert a["spiegelhalter_p"] == pytest.approx(0.491119, abs=1e-6)
    b = group(document, "bob")
    assert b["brier"] == pytest.approx(0.25) and b["log"] == pytest.approx(math.log(2))
    assert b["dsc"] == pytest.approx(0.0, abs=1e-12)
    assert a["ci"]["brier"][0] <= a["brier"] <= a["ci"]["brier"][1]


def test_bits_are_nats_over_ln2(store_db: str, run: Run, tmp_path: Path) -> None:
    binary_store(run, tmp_path)
    nats, bits = group(score_json(run), "all"), group(score_json(run, "--bits"), "all")
    assert bits["log"] == pytest.approx(nats["log"] / math.log(2))
    assert bits["brier"] == nats["brier"]


def test_team_is_the_mean_log_odds(store_db: str, run: Run, tmp_path: Path) -> None:
    alice, bob, y = binary_store(run, tmp_path)
    team = group(score_json(run, "--by", "forecaster"), "team")
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    p = [1 / (1 + math.exp(-(logit(a) + logit(b)) / 2)) for a, b in zip(alice, bob, strict=True)]
    assert team["brier"] == pytest.approx(float(np.mean(scoring.brier(p, y))))


def test_climatology_baseline_is_leave_one_out(store_db: str, run: Run, tmp_path: Path) -> None:
    _, _, y = binary_store(run, tmp_path)
    document = score_json(run, "--by", "forecaster", "--baseline", "climatology")
    # Laplace-smoothed leave-one-out base rate: (sum of the other outcomes + 1) / (5 + 2).
    rates = [(sum(y) - yi + 1) / 7 for yi in y]
    clim = group(document, "climatology")
    assert clim["brier"] == pytest.approx(float(np.mean(scoring.brier(rates, y))))
    alice = group(document, "alice")
    assert alice["skill"]["brier"] == pytest.approx(1 - alice["brier"] / clim["brier"])
    vs_bob = group(score_json(run, "--by", "forecaster", "--baseline", "bob"), "alice")
    assert vs_bob["skill"]["brier"] == pytest.approx(1 - 0.226667 / 0.25, abs=1e-5)
    assert "no scored predictions" in run("score", "--baseline", "zed", code=2).output


def test_compare_says_when_too_few_questions(store_db: str, run: Run, tmp_path: Path) -> None:
    binary_store(run, tmp_path)
    result = score_json(run, "--compare", "alice", "bob")["comparison"]
    brier = next(r for r in result["scores"] if r["score"] == "brier")
    assert brier["n"] == 6 and brier["mean_diff"] == pytest.approx(0.226667 - 0.25, abs=1e-6)
    assert not brier["meaningful"] and "fewer than 10" in brier["note"]
    assert "fewer than 10" in run("score", "--compare", "alice", "bob").output
    assert (
        "no scored predictions by 'zed'" in run("score", "--compare", "alice", "zed", code=2).output
    )


def test_only_the_latest_pre_registered_prediction_counts(store_db: str, run: Run) -> None:
    run("predict", "Q", "0.9", "--key", "q", "-e", "x")
    run("predict", "--question", "q", "0.8")  # an update: this one counts
    run("lock", "x")
    run("predict", "--question", "q", "0.1")  # late: not counted by default
    run("resolve", "q", "--no")
    counted = group(score_json(run), "all")
    assert counted["n"] == 1 and counted["brier"] == pytest.approx(0.64)
    assert counted["updates"] == 0  # 0.9 then 0.8 within 60 s: one prediction, not an update
    with_late = group(score_json(run, "--include-late"), "all")
    assert with_late["brier"] == pytest.approx(0.01)
    assert score_json(run)["counts"]["late"] == 1


def test_annulled_and_pending_questions_never_count(store_db: str, run: Run) -> None:
    for key in ("a", "b", "c"):
        run("predict", key.upper(), "0.7", "--key", key)
    run("resolve", "a", "--yes")
    run("resolve", "b", "--annul", "broken run")
    document = score_json(run)
    assert group(document, "all")["n"] == 1
    assert document["counts"] == {
        "registered": 3,
        "resolved": 1,
        "annulled": 1,
        "pending": 1,
        "late": 0,
    }


def test_replacements_within_60_seconds_are_one_prediction() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    p = [
        SimpleNamespace(made_at=start + timedelta(seconds=s), late=False, id=i)
        for i, s in enumerate([0, 30, 200, 250])
    ]
    kept = _collapse(p)
    assert [k.id for k in kept] == [1, 3]
    # A late replacement never merges into a pre-registered one.
    q = [
        SimpleNamespace(made_at=start, late=False, id=0),
        SimpleNamespace(made_at=start + timedelta(seconds=5), late=True, id=1),
    ]
    assert [k.id for k in _collapse(q)] == [0, 1]


def test_continuous_and_categorical_scores(store_db: str, run: Run) -> None:
    run("predict", "Flip", "normal(14, 2)", "--key", "flip")
    run("predict", "Frac", "beta(6,4)", "--key", "frac")
    run(
        "predict",
        "Quant",
        "quantiles(0.05:1, 0.1:2, 0.25:4, 0.5:5, 0.75:6, 0.9:8, 0.95:10)",
        "--key",
        "qs",
    )
    run("predict", "Which", "a:0.5, b:0.3, c:0.2", "--ordered", "--key", "which")
    run("resolve", "flip", "--value", "14")
    run("resolve", "frac", "--successes", "8", "--trials", "10")
    run("resolve", "qs", "--value", "7")
    run("resolve", "which", "--category", "b")
    document = score_json(run, "--by", "kind")
    quantity, fraction, categorical = (
        group(document, k) for k in ("quantity", "fraction", "categorical")
    )
    assert set(quantity) >= CONTINUOUS_FIELDS and "brier" not in quantity
    crps_normal = 2 * 0.233695  # N(14, 2) at its mean: sigma x CRPS(N(0,1), 0) (REFERENCE-VALUES)
    assert quantity["crps"] == pytest.approx((crps_normal + 1.014286) / 2, abs=1e-6)  # WIS row
    assert fraction["crps"] == pytest.approx(0.124002, abs=1e-6)  # Beta(6,4) at 0.8
    assert fraction["betabinom_log"] == pytest.approx(1.970990, abs=1e-6)  # 8 of 10 under Beta(6,4)
    assert categorical["brier_cat"] == pytest.approx(0.5**2 + 0.7**2 + 0.2**2)
    assert categorical["log_cat"] == pytest.approx(-math.log(0.3))
    assert categorical["rps"] == pytest.approx(0.5**2 + 0.2**2)
    assert quantity["coverage_90"] == 1.0 and quantity["coverage_50"] == 0.5


def test_edge_cases(store_db: str, run: Run) -> None:
    run("predict", "Certain", "1", "--key", "certain")
    run("predict", "Other", "0.3", "--key", "other", "--by", "bob")
    run("resolve", "certain", "--no")
    run("resolve", "other", "--no")
    document = score_json(run, "--by", "forecaster")
    alice = group(document, "alice")
    assert alice["n"] == 1 and alice["log"] == "inf" and alice["brier"] == 1.0
    assert alice["unc"] == 0.0  # all outcomes equal
    assert "log score is infinite" in run("score", "--by", "forecaster").output


def test_empty_store(store_db: str, run: Run) -> None:
    assert "Nothing to score yet" in run("score").output
    assert score_json(run)["groups"] == []


def test_scored_csv_export(store_db: str, run: Run, tmp_path: Path) -> None:
    import csv
    import io

    binary_store(run, tmp_path)
    rows = list(csv.DictReader(io.StringIO(run("export", "--format", "csv", "--scored").output)))
    assert len(rows) == 12
    first = rows[0]
    assert first["forecaster"] == "alice" and first["kind"] == "binary"
    assert float(first["brier"]) == pytest.approx(0.16)
    assert "--scored" in run("export", "--format", "csv", code=2).output
