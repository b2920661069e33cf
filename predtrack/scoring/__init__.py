"""predtrack's scoring core: pure numpy/scipy, arrays in, numbers out.

No database, no CLI, no printing.  Invalid inputs raise
:class:`predtrack.errors.ScoringInputError` with a one-line message.  Every
score is negatively oriented (lower is better) except :func:`spherical` and
:func:`skill`.  Importing the package loads numpy only; SciPy is imported by
the functions that need it.

Modules, one concept each:

* binary forecasts: :mod:`.binary` (Brier, log, spherical), :mod:`.binned`
  (the binning rule, Murphy, ECE), :mod:`.reliability` (CORP and its band),
  :mod:`.calibration` (Spiegelhalter's z, Wilson intervals, binomial quantiles);
* distributions: :mod:`.families` (closed-form CRPS and log scores of normal,
  lognormal, beta), :mod:`.quantiles` (pinball, interval score, quantile
  sets), :mod:`.counts` (k of n: beta-binomial, binomial),
  :mod:`.distributions` (distribution objects and stored specs),
  :mod:`.batch` (:func:`score_continuous`), :mod:`.scale` (the per-question
  CRPS scale for unit-free comparisons);
* :mod:`.categorical`, :mod:`.compare` (bootstrap, paired tests, skill,
  baselines) and :mod:`.aggregate` (team forecasts).
"""

from predtrack.scoring.aggregate import (
    team_binary,
    team_categorical,
    team_quantiles,
    team_quantiles_many,
)
from predtrack.scoring.batch import score_continuous
from predtrack.scoring.binary import brier, log_score, spherical
from predtrack.scoring.binned import MurphyResult, bin_edges, bin_index, ece, murphy
from predtrack.scoring.calibration import binomial_quantile, spiegelhalter, wilson_interval
from predtrack.scoring.categorical import brier_multi, log_multi, rps
from predtrack.scoring.compare import (
    PairedResult,
    bootstrap_ci,
    climatology_loo,
    paired_compare,
    skill,
    wilcoxon_p,
)
from predtrack.scoring.counts import (
    betabinom_log_score,
    binom_log_score,
    rps_counts_betabinom,
    rps_counts_binom,
)
from predtrack.scoring.distributions import (
    Beta,
    Distribution,
    Lognormal,
    Normal,
    QuantileSet,
    from_spec,
    pit,
    spec_quantiles,
)
from predtrack.scoring.families import (
    crps_beta,
    crps_lognormal,
    crps_normal,
    log_score_beta,
    log_score_lognormal,
    log_score_normal,
)
from predtrack.scoring.quantiles import (
    crps_quantiles,
    interval_score,
    log_score_quantiles,
    pinball,
    quantile_cdf,
    quantile_pdf,
    quantile_ppf,
)
from predtrack.scoring.reliability import BandResult, CorpResult, corp, corp_band, corp_pair
from predtrack.scoring.scale import crps_scale, crps_scales

__all__ = [
    "BandResult",
    "Beta",
    "CorpResult",
    "Distribution",
    "Lognormal",
    "MurphyResult",
    "Normal",
    "PairedResult",
    "QuantileSet",
    "betabinom_log_score",
    "bin_edges",
    "bin_index",
    "binom_log_score",
    "binomial_quantile",
    "bootstrap_ci",
    "brier",
    "brier_multi",
    "climatology_loo",
    "corp",
    "corp_band",
    "corp_pair",
    "crps_beta",
    "crps_lognormal",
    "crps_normal",
    "crps_quantiles",
    "crps_scale",
    "crps_scales",
    "ece",
    "from_spec",
    "interval_score",
    "log_multi",
    "log_score",
    "log_score_beta",
    "log_score_lognormal",
    "log_score_normal",
    "log_score_quantiles",
    "murphy",
    "paired_compare",
    "pinball",
    "pit",
    "quantile_cdf",
    "quantile_pdf",
    "quantile_ppf",
    "rps",
    "rps_counts_betabinom",
    "rps_counts_binom",
    "score_continuous",
    "skill",
    "spec_quantiles",
    "spherical",
    "spiegelhalter",
    "team_binary",
    "team_categorical",
    "team_quantiles",
    "team_quantiles_many",
    "wilcoxon_p",
    "wilson_interval",
]
