"""The names users script against: kinds, families, statuses, reserved names and the score table.

Every layer (scoring service, terminal tables, report, CSV export) derives its columns from
`SCORES`, so adding a score is one function in `predtrack.scoring`, one `Score` entry here,
and its tests. Standard library only: this module is on every command's start-up path.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("binary", "fraction", "quantity", "categorical")
CONTINUOUS = ("fraction", "quantity")
STATUSES = ("pending", "resolved", "annulled")
GROUPINGS = ("forecaster", "experiment", "tag", "kind")

# Stored distribution families, and the kinds of question each can forecast.
FAMILIES = {
    "bernoulli": ("binary",),
    "categorical": ("categorical",),
    "normal": ("quantity",),
    "lognormal": ("quantity",),
    "beta": ("fraction",),
    "quantiles": ("fraction", "quantity"),
}

TEAM = "team"
BASELINES = ("climatology", "naive")
# Virtual forecasters of the scoring views: no real forecaster may take these names.
RESERVED = frozenset({TEAM, *BASELINES})

# What happens to a question whose runs failed: stay pending (default) or be annulled.
IF_RUN_FAILS = ("pending", "annul")


@dataclass(frozen=True)
class Score:
    """One score as every layer shows it.

    `entry` is the per-prediction key in an entry's scores (None for a score that exists only
    for a group, such as a decomposition term); a group's value is the mean of its entries'
    `entry` values unless the scoring service computes it otherwise.
    """

    key: str
    label: str
    kinds: tuple[str, ...]
    entry: str | None = None
    lower_is_better: bool | None = True  # None: neither (coverage has a target, 0.5 or 0.9)
    unit: bool = False  # carries the question's unit (not comparable across units)
    paired: bool = False  # compared question by question between forecasters
    log: bool = False  # a log score: converted by --bits
    ci: bool = False  # a bootstrap CI over questions in each group
    leaderboard: bool = False  # a column of the report's leaderboard
    terminal: str | None = None  # header in `predtrack score`, None: not shown there
    csv: bool = False  # a column of `export --format csv --scored` (named `entry`)
    group: bool = True  # a group's value is the mean of its entries' `entry` values
    detail: str = ""  # one line for the report's "How to read this"


_B, _C, _K = ("binary",), CONTINUOUS, ("categorical",)

SCORES: tuple[Score, ...] = (
    Score("brier", "Brier", _B, "brier", paired=True, ci=True, leaderboard=True,
          terminal="Brier", csv=True, detail="(p − y)², 0 is perfect, 0.25 is a coin flip"),
    Score("log", "log", _B, "log", paired=True, log=True, ci=True, leaderboard=True,
          terminal="log", csv=True, detail="−ln of the probability given to what happened"),
    Score("spherical", "spherical", _B, "spherical", lower_is_better=False, csv=True,
          detail="p_y / √(p² + (1 − p)²), higher is better"),
    Score("mcb", "MCB", _B, terminal="MCB", detail="CORP miscalibration of the Brier score"),
    Score("dsc", "DSC", _B, lower_is_better=False, terminal="DSC",
          detail="CORP discrimination of the Brier score"),
    Score("unc", "UNC", _B, lower_is_better=None, terminal="UNC",
          detail="CORP uncertainty of the outcomes"),
    Score("mcb_log", "MCB (log)", _B, log=True),
    Score("dsc_log", "DSC (log)", _B, lower_is_better=False, log=True),
    Score("unc_log", "UNC (log)", _B, lower_is_better=None, log=True),
    Score("murphy_rel", "REL", _B),
    Score("murphy_res", "RES", _B, lower_is_better=False),
    Score("murphy_unc", "UNC (Murphy)", _B, lower_is_better=None),
    Score("murphy_wbv", "WBV", _B, lower_is_better=None),
    Score("murphy_wbc", "WBC", _B, lower_is_better=None),
    Score("spiegelhalter_z", "Spiegelhalter z", _B, lower_is_better=None),
    Score("spiegelhalter_p", "Spiegelhalter p", _B, lower_is_better=None),
    Score("ece", "ECE", _B),
    Score("crps", "CRPS", _C, "crps", unit=True, paired=True, ci=True, leaderboard=True,
          terminal="CRPS", csv=True, detail="continuous ranked probability score, in the question's unit"),
    Score("crps_scaled", "CRPS/scale", _C, "crps_scaled", paired=True, ci=True,
          leaderboard=True, terminal="CRPS/scale", csv=True,
          detail="CRPS divided by a scale of the question fixed before the outcome: unit-free"),
    Score("log_density", "log density", _C, "log_density", log=True, csv=True,
          detail="−ln of the forecast density at the outcome"),
    Score("pit", "PIT", _C, "pit", lower_is_better=None, csv=True, group=False),
    Score("coverage_50", "cov50", _C, "cover50", lower_is_better=None, terminal="cov50",
          csv=True, detail="share of outcomes inside the central 50% interval (aim: 0.5)"),
    Score("coverage_90", "cov90", _C, "cover90", lower_is_better=None, terminal="cov90",
          csv=True, detail="share of outcomes inside the central 90% interval (aim: 0.9)"),
    Score("interval_score_50", "IS50", _C, "is50", unit=True, csv=True),
    Score("interval_score_90", "IS90", _C, "is90", unit=True, csv=True),
    Score("betabinom_log", "beta-binomial log", ("fraction",), "betabinom_log", log=True,
          csv=True, detail="−ln P(k | n) of a fraction resolved as k of n"),
    Score("brier_cat", "cat. Brier", _K, "brier_cat", paired=True, ci=True, leaderboard=True,
          terminal="cat.Brier", csv=True, detail="multi-class Brier score"),
    Score("log_cat", "cat. log", _K, "log_cat", log=True, leaderboard=True, csv=True),
    Score("rps", "RPS", _K, "rps", leaderboard=True, terminal="RPS", csv=True,
          detail="ranked probability score, for ordered categories"),
)  # fmt: skip

SCORE = {s.key: s for s in SCORES}
# The score per question that skill, head-to-head and the default comparison use, per kind.
HEADLINE = {"binary": "brier", "fraction": "crps", "quantity": "crps", "categorical": "brier_cat"}
LOG_KEYS = tuple(s.key for s in SCORES if s.log)
PAIRED = tuple(s for s in SCORES if s.paired)
MEANS = tuple(s for s in SCORES if s.entry is not None and s.group)
CSV_SCORES = tuple(s for s in SCORES if s.csv)


def scores_for(kind: str) -> tuple[Score, ...]:
    """The scores that apply to questions of one kind."""
    return tuple(s for s in SCORES if kind in s.kinds)
