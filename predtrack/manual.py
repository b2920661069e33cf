"""Manual outcomes: what `resolve QUESTION --value/--yes/--category/--successes` may say."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from predtrack.errors import InputError
from predtrack.store.tables import Question

INT64_MAX = 2**63 - 1


@dataclass
class ManualOutcome:
    """A manual resolution, annulment or correction as the user gave it."""

    value: float | None = None
    yes: bool | None = None
    category: str | None = None
    successes: int | None = None
    trials: int | None = None
    annul: str | None = None
    correct: str | None = None
    rerun: bool = False

    def has_value(self) -> bool:
        """Whether an outcome (not an annulment) was given."""
        return any(
            v is not None
            for v in (self.value, self.yes, self.category, self.successes, self.trials)
        )


def manual_value(question: Question, given: ManualOutcome) -> tuple[Any, int | None, int | None]:
    """Check a manual outcome against the question's kind; (value, k, n)."""
    kind = question.kind
    supplied = [
        name
        for name, value in (
            ("--value", given.value),
            ("--yes/--no", given.yes),
            ("--category", given.category),
            (
                "--successes/--trials",
                given.successes if given.successes is not None else given.trials,
            ),
        )
        if value is not None
    ]
    if len(supplied) != 1:
        raise InputError(
            "give exactly one outcome: --value X, --yes/--no, --category NAME, "
            "--successes K --trials N, or --annul REASON"
        )
    if kind == "binary":
        if given.yes is None:
            raise InputError(f"{supplied[0]} does not resolve a binary question: use --yes or --no")
        return given.yes, None, None
    if kind == "categorical":
        if given.category is None:
            raise InputError(
                f"{supplied[0]} does not resolve a categorical question: use --category NAME"
            )
        categories = question.categories or []
        if given.category not in categories:
            raise InputError(
                f"unknown category {given.category!r} (expected one of: {', '.join(categories)})"
            )
        return given.category, None, None
    if given.successes is not None or given.trials is not None:
        if kind != "fraction":
            raise InputError("--successes/--trials resolve fraction questions only")
        k, n = given.successes, given.trials
        if k is None or n is None:
            raise InputError("give both --successes K and --trials N")
        if n > INT64_MAX or k > INT64_MAX:
            raise InputError(f"--successes {k} --trials {n}: counts above 2^63 - 1 are not stored")
        if n <= 0 or not 0 <= k <= n:
            raise InputError(
                f"--successes {k} --trials {n}: need 0 <= successes <= trials and trials > 0"
            )
        return k / n, k, n
    if given.value is None:
        raise InputError(f"{supplied[0]} does not resolve a {kind} question: use --value X")
    value = float(given.value)
    if not math.isfinite(value):
        raise InputError(f"--value {given.value} is not a finite number")
    if kind == "fraction" and not 0.0 <= value <= 1.0:
        raise InputError(f"--value {value:g} is outside [0, 1] for a fraction")
    bounds = question.bounds
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise InputError(
            f"--value {value:g} is outside the question's bounds [{bounds[0]:g}, {bounds[1]:g}]"
        )
    return value, None, None
