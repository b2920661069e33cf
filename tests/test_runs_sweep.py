"""sweep_points: the observed series a rule reads along its swept variable, with intervals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from predtrack.rules import parse_rule, sweep_points
from predtrack.rules.sweep import wilson

TABLE = "m,seed,err,ok\n" + "".join(
    f"{m},{s},{m / 100 + s / 1000},{'true' if s < m // 10 else 'false'}\n"
    for m in (10, 20, 30)
    for s in range(4)
)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "runs.csv").write_text(TABLE)
    return tmp_path


def test_wilson_reference_values() -> None:
    # Wilson 95% interval for 3 of 10, worked by hand: centre 0.3555, half-width 0.2477.
    low, high = wilson(3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1078, 0.6032)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0


def test_filtered_aggregate_sweeps_its_filter_field(study: Path) -> None:
    sweep = sweep_points(parse_rule("runs.csv#max(err)[m=20] < 0.5"), study)
    assert sweep is not None and (sweep.x, sweep.y, sweep.selected) == ("m", "err", 20.0)
    assert [p.x for p in sweep.points] == [10.0, 20.0, 30.0]
    p = sweep.points[1]
    ys = [0.2, 0.201, 0.202, 0.203]
    half = stats.t.ppf(0.975, 3) * stats.tstd(ys) / math.sqrt(4)
    assert (p.n, p.k) == (4, None)
    assert p.y == pytest.approx(0.2015)
    assert (p.lo, p.hi) == (pytest.approx(0.2015 - half), pytest.approx(0.2015 + half))


def test_fraction_and_yes_no_values_get_wilson(study: Path) -> None:
    sweep = sweep_points(parse_rule("runs.csv#fraction(ok)[m=30]"), study)
    assert sweep is not None
    assert [(p.x, p.k, p.n) for p in sweep.points] == [(10.0, 1, 4), (20.0, 2, 4), (30.0, 3, 4)]
    assert (sweep.points[0].lo, sweep.points[0].hi) == wilson(1, 4)
    cond = sweep_points(parse_rule("runs.csv#fraction(err < 0.201)[m=20]"), study)
    assert cond is not None and [p.k for p in cond.points] == [4, 1, 0]
    mean_ok = sweep_points(parse_rule("runs.csv#crossing(x=m, y=mean(ok), level=0.5)"), study)
    assert mean_ok is not None and mean_ok.level == 0.5 and mean_ok.points[1].k == 2


def test_no_sweep(study: Path) -> None:
    (study / "r.json").write_text('{"a": 1}')
    assert sweep_points(parse_rule("r.json#/a"), study) is None
    assert sweep_points(parse_rule("runs.csv#mean(err)"), study) is None  # no filter to sweep
    assert sweep_points(parse_rule("runs.csv#err[m=20, seed=1]"), study) is None  # two vary
    assert sweep_points(parse_rule("missing.csv#mean(err)[m=1]"), study) is None
    one = sweep_points(parse_rule("runs.csv#err[m=20, seed=1]".replace("seed=1", "seed<9")), study)
    assert one is not None and one.x == "m"
