"""Categorical scores: reference values (hand and scoringrules.rps_score, run once)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from predtrack.errors import ScoringInputError
from predtrack.scoring import brier_multi, log_multi, rps

pytestmark = pytest.mark.filterwarnings("error")

TOL = 1e-6
P3 = [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]]


def test_brier_multi_reference() -> None:
    # hand: 0.04 + 0.25 + 0.09; 0.01 + 0.81 + 0.64; perfect forecast
    np.testing.assert_allclose(brier_multi(P3, [1, 1, 0]), [0.38, 1.46, 0.0], atol=TOL)
    # hand: certain and wrong = 2, the maximum
    assert brier_multi([1.0, 0.0, 0.0], 2) == pytest.approx(2.0)
    # two categories: multi-class Brier is twice the binary Brier (hand)
    assert brier_multi([0.3, 0.7], 1) == pytest.approx(2 * 0.3**2)


def test_log_multi_reference() -> None:
    np.testing.assert_allclose(
        log_multi(P3, [1, 2, 0]), [-math.log(0.5), -math.log(0.8), 0.0], atol=TOL
    )
    assert log_multi([1.0, 0.0, 0.0], 1) == math.inf


def test_rps_reference() -> None:
    # scoringrules.rps_score(obs=[3, 1], fct=P3[:2]) = [0.53, 1.45], unnormalised, run once
    np.testing.assert_allclose(rps(P3[:2], [2, 0]), [0.53, 1.45], atol=TOL)
    # hand: cum (0.2, 0.7) vs observed category 1 -> (0, 1): 0.04 + 0.09 = 0.13
    assert rps(P3[0], 1) == pytest.approx(0.13, abs=TOL)
    # normalised by K - 1 = 2 (Murphy 1971)
    assert rps(P3[0], 1, normalize=True) == pytest.approx(0.065, abs=TOL)
    # certain and wrong by K - 1 categories: maximum K - 1
    assert rps([1.0, 0.0, 0.0, 0.0], 3) == pytest.approx(3.0)


def test_rps_is_sensitive_to_distance() -> None:
    near = rps([0.0, 1.0, 0.0, 0.0], 0)
    far = rps([0.0, 0.0, 0.0, 1.0], 0)
    assert near < far
    assert brier_multi([0.0, 1.0, 0.0, 0.0], 0) == brier_multi([0.0, 0.0, 0.0, 1.0], 0)


@pytest.mark.parametrize("f", [brier_multi, log_multi, rps])
def test_categorical_validation(f: Callable[..., Any]) -> None:
    with pytest.raises(ScoringInputError, match="sum to 1"):
        f([[0.5, 0.4, 0.2]], [0])
    with pytest.raises(ScoringInputError, match="category index"):
        f([[0.5, 0.5]], [2])
    with pytest.raises(ScoringInputError, match="NaN"):
        f([[0.5, float("nan")]], [0])
    with pytest.raises(ScoringInputError, match="idx has shape"):
        f([[0.5, 0.5], [0.5, 0.5]], [0])
    with pytest.raises(ScoringInputError, match="at least 2"):
        f([[1.0]], [0])
    # within the 1e-6 tolerance of the sum
    assert np.isfinite(f([[0.3333333, 0.3333333, 0.3333334]], [1])).all()
