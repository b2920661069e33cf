"""Plain baseline of `predtrack score --json`: the headline numbers, read and scored plainly.

Usage: python plain/score.py DB

Reads the store with the driver (`sqlite3`, or `psycopg` for a URL), keeps per forecaster and
question the latest prediction that is not late on questions whose current resolution is
`resolved`, and computes with numpy/scipy the mean Brier and log scores of the binary
forecasts with their CORP decomposition (one isotonic fit), the categorical Brier and log
scores, the mean CRPS of the fraction and quantity forecasts (closed forms for normal,
lognormal and beta, twice the mean pinball loss for quantile sets), and a 90% percentile
bootstrap interval of each mean (as many resamples as predtrack draws). Prints them as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from ledger import connect
from scipy.optimize import isotonic_regression
from scipy.special import betainc, betaln, erf, ndtr, xlog1py, xlogy


def crps_normal(mu: np.ndarray, sigma: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = (x - mu) / sigma
    return sigma * (
        z * erf(z / np.sqrt(2.0)) + 2.0 * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        - 1.0 / np.sqrt(np.pi)
    )  # fmt: skip


def crps_lognormal(mu: np.ndarray, sigma: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = (np.log(x) - mu) / sigma
    mean = np.exp(mu + sigma * sigma / 2)
    return x * (2 * ndtr(z) - 1) - 2 * mean * (ndtr(z - sigma) + ndtr(sigma / np.sqrt(2)) - 1)


def crps_beta(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    f, f1 = betainc(a, b, x), betainc(a + 1, b, x)
    gini = 2 * np.exp(betaln(2 * a, 2 * b) - 2 * betaln(a, b)) / (a + b)
    return x * (2 * f - 1) + a / (a + b) * (1 - 2 * f1) - gini


def crps_of(dists: list[dict[str, Any]], x: np.ndarray) -> np.ndarray:
    """CRPS of mixed continuous forecasts, one family at a time."""
    out = np.empty(len(dists))
    families = np.array([d["family"] for d in dists])
    for family, keys, fn in (
        ("normal", ("mu", "sigma"), crps_normal),
        ("lognormal", ("mu", "sigma"), crps_lognormal),
        ("beta", ("alpha", "beta"), crps_beta),
    ):
        idx = np.flatnonzero(families == family)
        if idx.size:
            a, b = (np.array([dists[i][k] for i in idx], dtype=float) for k in keys)
            out[idx] = fn(a, b, x[idx])
    idx = np.flatnonzero(families == "quantiles")
    for size in sorted({len(dists[i]["levels"]) for i in idx}):
        group = [i for i in idx if len(dists[i]["levels"]) == size]
        tau = np.array([dists[i]["levels"] for i in group])
        q = np.array([dists[i]["values"] for i in group])
        xs = x[group][:, None]
        out[group] = 2 * np.mean(((xs < q) - tau) * (q - xs), axis=1)
    return out


def mean_ci(values: np.ndarray, rng: np.random.Generator) -> tuple[float, list[float]]:
    resamples = int(min(2000, max(200, 2_000_000 // len(values))))
    means = np.empty(resamples)
    step = max(1, 4_000_000 // len(values))
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        means[start:stop] = values[rng.integers(0, len(values), (stop - start, len(values)))].mean(
            axis=1
        )
    return float(values.mean()), [float(np.quantile(means, 0.05)), float(np.quantile(means, 0.95))]


def main() -> None:
    conn, _ = connect(sys.argv[1])
    kinds = {i: (k, c) for i, k, c in conn.execute("SELECT id, kind, categories FROM questions")}
    current: dict[int, tuple[Any, ...]] = {}
    for qid, status, outcome in conn.execute(
        "SELECT question_id, status, outcome FROM resolutions ORDER BY id"
    ):
        current[qid] = (status, outcome)
    outcomes = {q: json.loads(o) for q, (s, o) in current.items() if s == "resolved"}
    latest: dict[tuple[int, str], tuple[str, int, str]] = {}
    for pid, qid, forecaster, made_at, late, dist in conn.execute(
        "SELECT id, question_id, forecaster, made_at, late, distribution FROM predictions"
    ):
        if qid in outcomes and not late:
            key = (qid, forecaster)
            if key not in latest or (made_at, pid) > latest[key][:2]:
                latest[key] = (made_at, pid, dist)
    binary_p, binary_y, cat_scores, cont, cont_x = [], [], [], [], []
    for (qid, _), (_, _, text) in latest.items():
        dist, outcome, kind = json.loads(text), outcomes[qid], kinds[qid][0]
        if kind == "binary":
            binary_p.append(dist["p"])
            binary_y.append(1.0 if outcome else 0.0)
        elif kind == "categorical":
            probs = np.array(dist["probs"])
            hit = dist["categories"].index(outcome)
            onehot = np.zeros(len(probs))
            onehot[hit] = 1.0
            cat_scores.append((float(np.sum((probs - onehot) ** 2)), float(-np.log(probs[hit]))))
        else:
            cont.append(dist)
            cont_x.append(float(outcome))
    rng = np.random.default_rng(0)
    result: dict[str, Any] = {"n": len(latest), "ci": {}}
    p, y = np.array(binary_p), np.array(binary_y)
    brier = (p - y) ** 2
    with np.errstate(divide="ignore"):
        log = -np.log(np.where(y == 1, p, 1 - p))
    _, inv, cnt = np.unique(p, return_inverse=True, return_counts=True)
    rc = isotonic_regression(np.bincount(inv, weights=y) / cnt, weights=cnt).x[inv]
    ybar = float(y.mean())
    brc = float(np.mean((rc - y) ** 2))
    result.update(
        mcb=float(brier.mean()) - brc,
        dsc=ybar * (1 - ybar) - brc,
        unc=ybar * (1 - ybar),
        mcb_log=float(log.mean()) - float(np.mean(-(xlogy(y, rc) + xlog1py(1 - y, -rc)))),
    )
    cats = np.array(cat_scores)
    for name, values in (
        ("brier", brier),
        ("log", log),
        ("brier_cat", cats[:, 0]),
        ("log_cat", cats[:, 1]),
        ("crps", crps_of(cont, np.array(cont_x))),
    ):
        result[name], result["ci"][name] = mean_ci(values, rng)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
