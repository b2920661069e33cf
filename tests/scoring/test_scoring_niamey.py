"""CORP on real data: Niamey 2016 precipitation forecasts (Dimitriadis, Gneiting & Jordan 2021).

Published values: the `summary()` example of R's reliabilitydiag (version 0.1.4 reference page
"Decomposing scores into miscalibration, discrimination and uncertainty", run on
`precip_Niamey_2016`), printed to three significant figures.  We check them to their printed
precision and, to 1e-12, against an independent brute-force PAV written below.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from predtrack.scoring import brier, corp, log_score, murphy

pytestmark = pytest.mark.filterwarnings("error")

DATA = Path(__file__).parent / "data" / "precip_Niamey_2016.csv"
METHODS = ("Logistic", "EMOS", "ENS", "EPC")

# forecast: (mean_score, miscalibration, discrimination, uncertainty) as printed by reliabilitydiag
PUBLISHED = {
    "Logistic": ("0.206", "0.0171", "0.0555", "0.244"),
    "EMOS": ("0.232", "0.0183", "0.0305", "0.244"),
    "ENS": ("0.266", "0.0661", "0.0441", "0.244"),
    "EPC": ("0.234", "0.0223", "0.0323", "0.244"),
}


def _load() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([float(r["obs"]) for r in rows])
    return y, {m: np.array([float(r[m]) for r in rows]) for m in METHODS}


def _half_ulp_of_print(text: str) -> float:
    """Half a unit in the last printed digit: '0.0171' -> 5e-5."""
    decimals = len(text.split(".")[1])
    return 0.5 * 10.0**-decimals + 1e-12


def _brute_force_pav(x: list[float], y: list[float]) -> list[float]:
    """Textbook pool-adjacent-violators on pooled tied values (independent of scipy)."""
    pooled: dict[float, list[float]] = {}
    for xi, yi in zip(x, y, strict=True):
        pooled.setdefault(xi, [0.0, 0.0])
        pooled[xi][0] += yi
        pooled[xi][1] += 1.0
    keys = sorted(pooled)
    blocks: list[list[float]] = []  # [sum, weight, number of distinct values]
    for k in keys:
        blocks.append([pooled[k][0], pooled[k][1], 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w
            blocks[-1][2] += c
    fitted: dict[float, float] = {}
    i = 0
    for s, w, c in blocks:
        for _ in range(int(c)):
            fitted[keys[i]] = s / w
            i += 1
    return [fitted[xi] for xi in x]


def _brute_force_corp(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    rc = np.array(_brute_force_pav(list(p), list(y)))
    s = float(np.mean((p - y) ** 2))
    s_rc = float(np.mean((rc - y) ** 2))
    ybar = float(np.mean(y))
    unc = float(np.mean((ybar - y) ** 2))
    return s, s - s_rc, unc - s_rc, unc


@pytest.mark.parametrize("method", METHODS)
def test_niamey_corp_brier_matches_published(method: str) -> None:
    y, fc = _load()
    r = corp(fc[method], y)
    for got, printed in zip((r.score, r.mcb, r.dsc, r.unc), PUBLISHED[method], strict=True):
        assert abs(got - float(printed)) <= _half_ulp_of_print(printed), (method, got, printed)


@pytest.mark.parametrize("method", METHODS)
def test_niamey_corp_brier_matches_brute_force_pav(method: str) -> None:
    y, fc = _load()
    r = corp(fc[method], y)
    s, mcb, dsc, unc = _brute_force_corp(fc[method], y)
    assert (r.score, r.mcb, r.dsc, r.unc) == pytest.approx((s, mcb, dsc, unc), abs=1e-12)
    assert r.score == pytest.approx(float(np.mean(brier(fc[method], y))), abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_niamey_corp_is_order_independent(method: str) -> None:
    y, fc = _load()
    base = corp(fc[method], y)
    rng = np.random.default_rng(2016)
    for _ in range(5):
        perm = rng.permutation(y.size)
        r = corp(fc[method][perm], y[perm])
        assert (r.score, r.mcb, r.dsc, r.unc) == pytest.approx(
            (base.score, base.mcb, base.dsc, base.unc), abs=1e-15
        )
        np.testing.assert_array_equal(r.cep, base.cep)


def test_niamey_ens_ties_pooled() -> None:
    y, fc = _load()
    r = corp(fc["ENS"], y)
    assert r.x.size == 33  # README: 33 distinct values, multiples of 1/52
    assert int(r.count.sum()) == 92
    assert np.all(np.diff(r.cep) >= 0)


def test_niamey_ens_log_score_infinite_handled() -> None:
    y, fc = _load()
    p = fc["ENS"]
    wrong_certain = int(np.sum((p == 1.0) & (y == 0)))
    assert wrong_certain > 0
    s = log_score(p, y)
    assert int(np.sum(np.isinf(s))) == wrong_certain
    r = corp(p, y, score="log")
    assert r.score == math.inf and r.mcb == math.inf
    assert r.n_inf == wrong_certain
    assert math.isfinite(r.dsc) and r.dsc > 0
    assert r.unc == pytest.approx(
        -(np.mean(y) * np.log(np.mean(y)) + (1 - np.mean(y)) * np.log(1 - np.mean(y)))
    )


@pytest.mark.parametrize("method", ("Logistic", "EMOS", "EPC"))
def test_niamey_corp_log_identity(method: str) -> None:
    y, fc = _load()
    r = corp(fc[method], y, score="log")
    assert r.score == pytest.approx(float(np.mean(log_score(fc[method], y))), abs=1e-12)
    assert r.mcb - r.dsc + r.unc == pytest.approx(r.score, abs=1e-12)
    assert r.mcb >= 0 and r.dsc >= 0


def test_niamey_murphy_identity() -> None:
    y, fc = _load()
    for method in METHODS:
        m = murphy(fc[method], y)
        assert m.rel - m.res + m.unc + m.wbv - m.wbc == pytest.approx(m.brier, abs=1e-12)
        assert int(m.n.sum()) == 92
