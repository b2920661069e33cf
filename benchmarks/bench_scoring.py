"""Speed of predtrack's scoring core against plain numpy/scipy code and its peers, in one run.

Run: python benchmarks/bench_scoring.py [--n N] [--repeat R] [--json]

Every row prints predtrack's time, the baseline measured in the same run and the ratio
(predtrack / baseline); each time is the best of R timed runs after a warm-up.
- binary: Brier + log score + Murphy (10 bins) + CORP (Brier and log, one PAV fit) on
  N = 1,000,000 random forecasts; targets <= 1.5x a plain numpy/scipy pipeline computing the
  same numbers without validation, and faster than model-diagnostics' `decompose`.
- CRPS of N normal forecasts; target <= 1.1x scoringrules' `crps_normal`.
- import: `import predtrack.scoring` in a fresh process against `import numpy`; it must not
  load SciPy (the functions import it when called).
- extras without a target: CORP from one fit against two `corp` calls, the CORP consistency
  band, `score_continuous` on mixed specs and `crps_scales`, each against plain code.
The peers come from the `bench` extra (`pip install -e '.[bench]'`); without them their rows
say "not installed" and their targets are not checked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
from scipy.optimize import isotonic_regression
from scipy.special import betainc, erf, ndtr, ndtri, xlog1py, xlogy

import predtrack.scoring as ps

Row = dict[str, Any]


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up (imports, caches, first-touch of memory)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def row(
    figure: str,
    ours: float | None,
    baseline: str,
    base: float | None,
    target: tuple[str, float] | None = None,
) -> Row:
    """One figure: predtrack's seconds, the baseline's, their ratio and whether it meets target.

    ``target`` is ``("<=", 1.5)`` or ``("<", 1.0)``: the bound on the ratio.
    """
    ratio = ours / base if ours is not None and base else None
    ok = None
    if target is not None and ratio is not None:
        ok = ratio <= target[1] if target[0] == "<=" else ratio < target[1]
    return {
        "figure": figure,
        "seconds": ours,
        "baseline": baseline,
        "baseline_seconds": base,
        "ratio": ratio,
        "target": None if target is None else f"{target[0]} {target[1]}",
        "ok": ok,
    }


# ------------------------------------------------------------------ binary pipelines


def predtrack_binary(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    b = float(np.mean(ps.brier(p, y)))
    lg = float(np.mean(ps.log_score(p, y)))
    m = ps.murphy(p, y, bins=10)
    cb, cl = ps.corp_pair(p, y)
    return {
        "brier": b,
        "log": lg,
        "murphy_rel": m.rel,
        "mcb_brier": cb.mcb,
        "dsc_brier": cb.dsc,
        "mcb_log": cl.mcb,
        "dsc_log": cl.dsc,
    }


def plain_binary(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The same numbers, written the obvious way with numpy/scipy and no input checks."""
    b = float(np.mean((p - y) ** 2))
    with np.errstate(divide="ignore"):
        lg = float(np.mean(-np.log(np.where(y == 1, p, 1 - p))))
    k = 10
    idx = np.searchsorted(np.arange(1, k) / k, p, side="right")
    n = np.bincount(idx, minlength=k)
    nz = n > 0
    fbar = np.bincount(idx, weights=p, minlength=k)[nz] / n[nz]
    obar = np.bincount(idx, weights=y, minlength=k)[nz] / n[nz]
    rel = float(np.sum(n[nz] * (fbar - obar) ** 2) / p.size)
    _, inv, cnt = np.unique(p, return_inverse=True, return_counts=True)
    ev = np.bincount(inv, weights=y)
    rc = isotonic_regression(ev / cnt, weights=cnt).x[inv]
    ybar = float(np.mean(y))
    brc = float(np.mean((rc - y) ** 2))
    lrc = float(np.mean(-(xlogy(y, rc) + xlog1py(1 - y, -rc))))
    unc_b = ybar * (1 - ybar)
    unc_l = float(-(xlogy(ybar, ybar) + xlog1py(1 - ybar, -ybar)))
    return {
        "brier": b,
        "log": lg,
        "murphy_rel": rel,
        "mcb_brier": b - brc,
        "dsc_brier": unc_b - brc,
        "mcb_log": lg - lrc,
        "dsc_log": unc_l - lrc,
    }


def model_diagnostics_binary(p: np.ndarray, y: np.ndarray) -> dict[str, float] | None:
    try:
        from model_diagnostics.scoring import LogLoss, SquaredError, decompose
    except ImportError:
        return None
    db = decompose(y_obs=y, y_pred=p, scoring_function=SquaredError())
    dl = decompose(y_obs=y, y_pred=p, scoring_function=LogLoss())
    return {
        "mcb_brier": float(db["miscalibration"][0]),
        "dsc_brier": float(db["discrimination"][0]),
        "mcb_log": float(dl["miscalibration"][0]),
        "dsc_log": float(dl["discrimination"][0]),
    }


def plain_band(p: np.ndarray, reps: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """The CORP consistency band without a cap on distinct values: resample, refit, quantiles."""
    x, cnt = np.unique(p, return_counts=True)
    draws = rng.binomial(cnt, x, size=(reps, x.size)) / cnt
    cep = np.array([isotonic_regression(d, weights=cnt).x for d in draws])
    return np.quantile(cep, 0.05, axis=0), np.quantile(cep, 0.95, axis=0)


# ------------------------------------------------------------------------ distributions


def plain_crps_normal(mu: np.ndarray, sigma: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = (x - mu) / sigma
    return sigma * (
        z * erf(z / np.sqrt(2.0))
        + 2.0 * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        - 1.0 / np.sqrt(np.pi)
    )


LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def mixed_specs(n: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    specs: list[dict[str, Any]] = []
    xs = np.empty(n)
    for i in range(n):
        kind = i % 4
        if kind == 0:
            specs.append({"family": "normal", "mu": 14.0 + i % 7, "sigma": 2.0})
            xs[i] = 15.0
        elif kind == 1:
            specs.append({"family": "lognormal", "mu": 2.6, "sigma": 0.2 + (i % 5) / 50})
            xs[i] = 13.0
        elif kind == 2:
            specs.append({"family": "beta", "alpha": 2.0 + i % 9, "beta": 4.0})
            xs[i] = 0.4
        else:
            base = 10.0 + i % 3
            specs.append(
                {"family": "quantiles", "levels": LEVELS, "values": [base, 12.5, 14, 16, 20]}
            )
            xs[i] = 15.0
    return specs, xs


def plain_continuous(specs: list[dict[str, Any]], xs: np.ndarray) -> dict[str, np.ndarray]:
    """CRPS and PIT of the mixed specs, grouped by family with list comprehensions, no checks."""
    crps = np.empty(len(specs))
    pit = np.empty(len(specs))
    fam = np.array([s["family"] for s in specs])
    for name, keys in (("normal", "mu sigma"), ("lognormal", "mu sigma"), ("beta", "alpha beta")):
        idx = np.flatnonzero(fam == name)
        a, b = (np.array([specs[i][k] for i in idx], dtype=float) for k in keys.split())
        x = xs[idx]
        if name == "normal":
            crps[idx] = plain_crps_normal(a, b, x)
            pit[idx] = ndtr((x - a) / b)
        elif name == "lognormal":
            z = (np.log(x) - a) / b
            mean = np.exp(a + b * b / 2)
            crps[idx] = x * (2 * ndtr(z) - 1) - 2 * mean * (ndtr(z - b) + ndtr(b / np.sqrt(2)) - 1)
            pit[idx] = ndtr(z)
        else:
            lb = scipy.special.betaln
            f, f1 = betainc(a, b, x), betainc(a + 1, b, x)
            gini = 2 * np.exp(lb(2 * a, 2 * b) - 2 * lb(a, b)) / (a + b)
            crps[idx] = x * (2 * f - 1) + a / (a + b) * (1 - 2 * f1) - gini
            pit[idx] = f
    idx = np.flatnonzero(fam == "quantiles")
    q = np.array([specs[i]["values"] for i in idx], dtype=float)
    tau = np.array(LEVELS)
    x = xs[idx][:, None]
    crps[idx] = 2 * np.mean(((x < q) - tau) * (q - x), axis=1)
    pit[idx] = [np.interp(v, row, tau) for v, row in zip(xs[idx], q, strict=True)]
    return {"crps": crps, "pit": pit}


def question_groups(
    n_questions: int, per: int, rng: np.random.Generator
) -> list[list[dict[str, Any]]]:
    groups = []
    for _ in range(n_questions):
        mus = rng.normal(size=per)
        sds = rng.uniform(0.5, 3.0, size=per)
        groups.append(
            [
                {"family": "normal", "mu": float(m), "sigma": float(s)}
                for m, s in zip(mus, sds, strict=True)
            ]
        )
    return groups


def plain_scales(groups: list[list[dict[str, Any]]]) -> np.ndarray:
    """Median 90% width per question, one question at a time."""
    z = float(ndtri(0.95) - ndtri(0.05))
    return np.array([np.median([s["sigma"] * z for s in g]) for g in groups])


# ------------------------------------------------------------------------------ import


def import_seconds(module: str, repeat: int) -> float:
    """Median wall time of `python -c "import <module>"` in a fresh process."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def scipy_loaded_by_import() -> bool:
    code = "import sys, predtrack.scoring; print(any(m.startswith('scipy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip() == "True"


# ---------------------------------------------------------------------------- main


def measure(n: int, repeat: int) -> tuple[list[Row], list[Row]]:
    """The timed rows and the agreement checks."""
    rng = np.random.default_rng(20240601)
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(np.float64)
    rows: list[Row] = []
    checks: list[Row] = []

    t_ours, ours = best_of(lambda: predtrack_binary(p, y), repeat)
    t_plain, plain = best_of(lambda: plain_binary(p, y), repeat)
    md_probe = model_diagnostics_binary(p[:1000], y[:1000])
    t_md, md = (None, None)
    if md_probe is not None:
        t_md, md = best_of(lambda: model_diagnostics_binary(p, y), max(1, repeat // 2))
    what = f"binary {n:,}: Brier+log+Murphy+CORP(Brier,log)"
    rows.append(row(what, t_ours, "plain numpy/scipy", t_plain, ("<=", 1.5)))
    peer = "model-diagnostics" if md else "model-diagnostics (not installed)"
    rows.append(row(what, t_ours, peer, t_md, ("<", 1.0)))
    agree = all(abs(ours[k] - plain[k]) <= 1e-9 for k in plain)
    if md is not None:
        agree = agree and all(abs(ours[k] - md[k]) <= 1e-9 for k in md)
    checks.append({"figure": "binary: predtrack = plain = model-diagnostics (1e-9)", "ok": agree})

    t_pair, _ = best_of(lambda: ps.corp_pair(p, y), repeat)
    t_two, _ = best_of(lambda: (ps.corp(p, y, score="brier"), ps.corp(p, y, score="log")), repeat)
    rows.append(row(f"CORP Brier+log {n:,}: corp_pair", t_pair, "two corp() calls", t_two))

    mu = rng.normal(size=n)
    sigma = rng.uniform(0.5, 2.0, size=n)
    x = rng.normal(size=n)
    t_crps, c_ours = best_of(lambda: ps.crps_normal(mu, sigma, x), repeat)
    t_crps_plain, c_plain = best_of(lambda: plain_crps_normal(mu, sigma, x), repeat)
    try:
        import scoringrules as sr

        t_sr, c_sr = best_of(lambda: sr.crps_normal(x, mu, sigma), repeat)
    except ImportError:
        t_sr, c_sr = None, None
    what = f"CRPS normal {n:,}"
    peer = "scoringrules" if t_sr else "scoringrules (not installed)"
    rows.append(row(what, t_crps, peer, t_sr, ("<=", 1.1)))
    rows.append(row(what, t_crps, "plain numpy formula", t_crps_plain))
    crps_agree = bool(np.allclose(c_ours, c_plain, rtol=0, atol=1e-12))
    if c_sr is not None:
        crps_agree = crps_agree and bool(np.allclose(c_ours, c_sr, rtol=0, atol=1e-12))
    checks.append({"figure": "CRPS: predtrack = plain = scoringrules (1e-12)", "ok": crps_agree})

    m = 100_000
    pb = rng.uniform(size=m)
    yb = rng.uniform(size=m) < pb
    pb2 = np.round(pb, 2)
    t_band, _ = best_of(lambda: ps.corp_band(pb2, yb, n_resamples=1000, seed=1), repeat)
    t_band_plain, _ = best_of(lambda: plain_band(pb2, 1000, np.random.default_rng(1)), repeat)
    rows.append(row(f"corp_band {m:,} on a 0.01 grid, 1000 draws", t_band, "plain", t_band_plain))
    t_band, _ = best_of(lambda: ps.corp_band(pb, yb, n_resamples=1000, seed=1), repeat)
    t_band_plain, _ = best_of(lambda: plain_band(pb, 1000, np.random.default_rng(1)), 1)
    rows.append(
        row(f"corp_band {m:,} distinct, 1000 draws", t_band, "plain, uncapped", t_band_plain)
    )

    specs, xs = mixed_specs(m)
    t_batch, batch = best_of(lambda: ps.score_continuous(specs, xs), repeat)
    t_batch_plain, batch_plain = best_of(lambda: plain_continuous(specs, xs), repeat)
    rows.append(
        row(f"score_continuous {m:,} mixed specs", t_batch, "plain CRPS+PIT", t_batch_plain)
    )
    checks.append(
        {
            "figure": "score_continuous: CRPS and PIT = plain (1e-9)",
            "ok": bool(
                np.allclose(batch["crps"], batch_plain["crps"], rtol=0, atol=1e-9)
                and np.allclose(batch["pit"], batch_plain["pit"], rtol=0, atol=1e-9)
            ),
        }
    )

    groups = question_groups(10_000, 10, rng)
    bounds = [None] * len(groups)
    t_scale, s_ours = best_of(lambda: ps.crps_scales(groups, bounds), repeat)
    t_scale_plain, s_plain = best_of(lambda: plain_scales(groups), repeat)
    rows.append(row("crps_scales 10,000 questions x 10", t_scale, "plain loop", t_scale_plain))
    checks.append(
        {
            "figure": "crps_scales = plain (1e-9 relative)",
            "ok": bool(np.allclose(s_ours, s_plain, rtol=1e-9, atol=0)),
        }
    )

    reps = max(5, repeat)
    t_imp = import_seconds("predtrack.scoring", reps)
    t_np = import_seconds("numpy", reps)
    rows.append(row("import predtrack.scoring (fresh process)", t_imp, "import numpy", t_np))
    checks.append(
        {"figure": "import predtrack.scoring loads no SciPy", "ok": not scipy_loaded_by_import()}
    )
    return rows, checks


def fmt(v: Any, spec: str) -> str:
    if v is None:
        return "—"
    return v if isinstance(v, str) else format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="forecasts (default 1e6)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    opts = parser.parse_args()
    rows, checks = measure(opts.n, opts.repeat)
    machine = {
        "cores": os.cpu_count(),
        "load": os.getloadavg()[0],
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "repeat": opts.repeat,
    }
    failed = any(r["ok"] is False for r in rows + checks)
    if opts.json:
        print(json.dumps({"machine": machine, "rows": rows, "checks": checks}, indent=2))
        sys.exit(1 if failed else 0)
    print(
        f"best of {opts.repeat} runs after warm-up; {machine['cores']} cores, load "
        f"{machine['load']:.2f}, Python {machine['python']}, numpy {machine['numpy']}, "
        f"scipy {machine['scipy']}"
    )
    print(f"{'figure':48} {'predtrack':>10}  {'baseline':34} {'base s':>8} {'ratio':>6} target ok")
    for r in rows:
        ok = "" if r["ok"] is None else ("pass" if r["ok"] else "FAIL")
        target = r["target"] or ""
        print(
            f"{r['figure']:48} {fmt(r['seconds'], '.4f'):>10}  {r['baseline']:34} "
            f"{fmt(r['baseline_seconds'], '.4f'):>8} {fmt(r['ratio'], '.2f'):>6} {target:6} {ok}"
        )
    for c in checks:
        print(f"check: {c['figure']:70} {'pass' if c['ok'] else 'FAIL'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
