"""Speed of predtrack's scoring core against its peers and a plain numpy/scipy pipeline (DESIGN §9).

Run: python benchmarks/bench_scoring.py [--n N] [--repeat R] [--json]

Figures (each the best of R timed runs after a warm-up, all measured in this run):
- binary: Brier + log score + Murphy (10 bins) + CORP (Brier) + CORP (log) on N = 1,000,000
  random forecasts; target <= 1.0 s and faster than model-diagnostics' `decompose` (Brier and
  log loss) on the same arrays.  A plain numpy/scipy pipeline computing the same numbers without
  validation is the machine's baseline.
- CRPS of N normal forecasts; target within 1.2x of scoringrules' `crps_normal` (or of a plain
  numpy formula when scoringrules is not installed).
- extras (no design target, brief: "well under 1 s"): the CORP consistency band for 100,000
  forecasts and `score_continuous` on 100,000 mixed distribution specs.
The peers come from the `bench` extra (`pip install predtrack[bench]`); without them the rows
say so and the targets fall back to the plain pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
from scipy.optimize import isotonic_regression
from scipy.special import erf, xlog1py, xlogy

import predtrack.scoring as ps


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up (imports, caches, first-touch of memory)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


# ------------------------------------------------------------------ binary pipelines


def predtrack_binary(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    b = float(np.mean(ps.brier(p, y)))
    lg = float(np.mean(ps.log_score(p, y)))
    m = ps.murphy(p, y, bins=10)
    cb = ps.corp(p, y, score="brier")
    cl = ps.corp(p, y, score="log")
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


# ------------------------------------------------------------------------------ CRPS


def plain_crps_normal(mu: np.ndarray, sigma: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = (x - mu) / sigma
    return sigma * (
        z * erf(z / np.sqrt(2.0))
        + 2.0 * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        - 1.0 / np.sqrt(np.pi)
    )


def mixed_specs(n: int, rng: np.random.Generator) -> tuple[list[dict[str, Any]], np.ndarray]:
    specs: list[dict[str, Any]] = []
    xs = np.empty(n)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
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
                {"family": "quantiles", "levels": levels, "values": [base, 12.5, 14, 16, 20]}
            )
            xs[i] = 15.0
    return specs, xs


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="forecasts (default 1e6)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    opts = parser.parse_args()
    n, repeat = opts.n, opts.repeat
    rng = np.random.default_rng(20240601)

    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(np.float64)

    t_ours, ours = best_of(lambda: predtrack_binary(p, y), repeat)
    t_plain, plain = best_of(lambda: plain_binary(p, y), repeat)
    md_probe = model_diagnostics_binary(p[:1000], y[:1000])
    if md_probe is not None:
        t_md, md = best_of(lambda: model_diagnostics_binary(p, y), max(1, repeat // 2))
    else:
        t_md, md = None, None
    agree = all(abs(ours[k] - plain[k]) <= 1e-9 for k in plain)
    if md is not None:
        agree = agree and all(abs(ours[k] - md[k]) <= 1e-9 for k in md)

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
    crps_agree = bool(np.allclose(c_ours, c_plain, rtol=0, atol=1e-12))
    if c_sr is not None:
        crps_agree = crps_agree and bool(np.allclose(c_ours, c_sr, rtol=0, atol=1e-12))

    m = 100_000
    pb = rng.uniform(size=m)
    yb = rng.uniform(size=m) < pb
    t_band, _ = best_of(lambda: ps.corp_band(pb, yb, n_resamples=1000, seed=1), repeat)
    pb2 = np.round(pb, 2)
    t_band2, _ = best_of(lambda: ps.corp_band(pb2, yb, n_resamples=1000, seed=1), repeat)
    specs, xs = mixed_specs(m, rng)
    t_batch, _ = best_of(lambda: ps.score_continuous(specs, xs), repeat)

    binary_ref = t_md if t_md is not None else None
    rows: list[dict[str, Any]] = [
        {
            "figure": f"binary {n:,}: predtrack Brier+log+Murphy+CORP(Brier,log)",
            "seconds": t_ours,
            "target": "<= 1.0 s and < model-diagnostics"
            if binary_ref is not None
            else "<= 1.0 s (model-diagnostics not installed)",
            "ok": t_ours <= 1.0 and (binary_ref is None or t_ours < binary_ref),
        },
        {
            "figure": f"binary {n:,}: plain numpy/scipy pipeline (baseline)",
            "seconds": t_plain,
            "target": "",
            "ok": None,
        },
        {
            "figure": f"binary {n:,}: model-diagnostics decompose (Brier + log)",
            "seconds": t_md,
            "target": "" if t_md is not None else "not installed",
            "ok": None,
        },
        {
            "figure": "binary: results agree (predtrack vs plain vs model-diagnostics, 1e-9)",
            "seconds": None,
            "target": "yes",
            "ok": agree,
        },
        {
            "figure": f"CRPS normal {n:,}: predtrack",
            "seconds": t_crps,
            "target": "<= 1.2 x scoringrules"
            if t_sr is not None
            else "<= 1.2 x plain numpy (scoringrules not installed)",
            "ok": t_crps <= 1.2 * (t_sr if t_sr is not None else t_crps_plain),
        },
        {
            "figure": f"CRPS normal {n:,}: scoringrules.crps_normal",
            "seconds": t_sr,
            "target": "" if t_sr is not None else "not installed",
            "ok": None,
        },
        {
            "figure": f"CRPS normal {n:,}: plain numpy formula (baseline)",
            "seconds": t_crps_plain,
            "target": "",
            "ok": None,
        },
        {
            "figure": "CRPS: results agree (1e-12)",
            "seconds": None,
            "target": "yes",
            "ok": crps_agree,
        },
        {
            "figure": f"corp_band {m:,} distinct forecasts, 1000 resamples",
            "seconds": t_band,
            "target": "< 1.0 s",
            "ok": t_band < 1.0,
        },
        {
            "figure": f"corp_band {m:,} forecasts on a 0.01 grid, 1000 resamples",
            "seconds": t_band2,
            "target": "< 1.0 s",
            "ok": t_band2 < 1.0,
        },
        {
            "figure": f"score_continuous {m:,} mixed specs (incl. parsing)",
            "seconds": t_batch,
            "target": "< 1.0 s",
            "ok": t_batch < 1.0,
        },
    ]
    ratios = {
        "predtrack_over_model_diagnostics": (t_ours / t_md) if t_md else None,
        "predtrack_over_plain_binary": t_ours / t_plain,
        "predtrack_over_scoringrules_crps": (t_crps / t_sr) if t_sr else None,
    }
    machine = {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "repeat": repeat,
    }
    if opts.json:
        print(json.dumps({"machine": machine, "rows": rows, "ratios": ratios}, indent=2))
        sys.exit(0 if all(r["ok"] is not False for r in rows) else 1)

    print(
        f"best of {repeat} runs after warm-up; {machine['cores']} cores, Python "
        f"{machine['python']}, numpy {machine['numpy']}, scipy {machine['scipy']}"
    )
    print(f"{'figure':66} {'measured':>10}  {'target':34} ok")
    for r in rows:
        sec = "" if r["seconds"] is None else f"{r['seconds']:.4f} s"
        ok = "" if r["ok"] is None else ("pass" if r["ok"] else "FAIL")
        print(f"{r['figure']:66} {sec:>10}  {r['target']:34} {ok}")
    print(
        "ratios: predtrack/model-diagnostics "
        + (f"{ratios['predtrack_over_model_diagnostics']:.2f}" if t_md else "n/a")
        + f", predtrack/plain {ratios['predtrack_over_plain_binary']:.2f}"
        + ", CRPS predtrack/scoringrules "
        + (f"{ratios['predtrack_over_scoringrules_crps']:.2f}" if t_sr else "n/a")
    )
    sys.exit(0 if all(r["ok"] is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
