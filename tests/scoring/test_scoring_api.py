"""The package's public surface: names, signatures, docstrings, and a light import.

The signatures below are those the package exported before its modules were split by
concept (plus the names added since: ``corp_pair``, ``crps_scale``, ``crps_scales``,
``spec_quantiles``); other modules call them, so a change here is a change of interface.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import predtrack.scoring as scoring

SIGNATURES = [
    "BandResult(x: 'FloatArray', lower: 'FloatArray', upper: 'FloatArray', level: 'float' = 0.9, n_resamples: 'int' = 1000, pooled: 'bool' = False) -> None",
    "Beta(alpha: 'ArrayLike', beta: 'ArrayLike') -> 'None'",
    "CorpResult(score: 'float', mcb: 'float', dsc: 'float', unc: 'float', x: 'FloatArray', count: 'IntArray', events: 'FloatArray', cep: 'FloatArray', n: 'int', n_inf: 'int', score_name: 'str') -> None",
    "Distribution()",
    "Lognormal(mu: 'ArrayLike', sigma: 'ArrayLike') -> 'None'",
    "MurphyResult(brier: 'float', rel: 'float', res: 'float', unc: 'float', wbv: 'float', wbc: 'float', edges: 'FloatArray', n: 'IntArray', mean_forecast: 'FloatArray', obs_freq: 'FloatArray') -> None",
    "Normal(mu: 'ArrayLike', sigma: 'ArrayLike') -> 'None'",
    "PairedResult(n: 'int', mean_diff: 'float', ci_lo: 'float', ci_hi: 'float', p_value: 'float', meaningful: 'bool') -> None",
    "QuantileSet(levels: 'ArrayLike', values: 'ArrayLike', bounds: 'Any' = None) -> 'None'",
    "betabinom_log_score(a: 'ArrayLike', b: 'ArrayLike', k: 'ArrayLike', n: 'ArrayLike') -> 'FloatArray'",
    "bin_edges(bins: 'int' = 10) -> 'FloatArray'",
    "bin_index(p: 'ArrayLike', bins: 'int' = 10) -> 'IntArray'",
    "binom_log_score(p: 'ArrayLike', k: 'ArrayLike', n: 'ArrayLike') -> 'FloatArray'",
    "binomial_quantile(q: 'float', n: 'int', p: 'float') -> 'int'",
    "bootstrap_ci(values: 'ArrayLike', *, level: 'float' = 0.9, n_resamples: 'int' = 2000, seed: 'SeedLike' = None, stat: 'Callable[..., Any]' = <function mean>) -> 'tuple[float, float]'",
    "brier(p: 'ArrayLike', y: 'ArrayLike') -> 'FloatArray'",
    "brier_multi(probs: 'ArrayLike', idx: 'ArrayLike') -> 'FloatArray'",
    "climatology_loo(y: 'ArrayLike', *, pseudocount: 'float' = 0.0) -> 'FloatArray'",
    "corp(p: 'ArrayLike', y: 'ArrayLike', *, score: 'str' = 'brier') -> 'CorpResult'",
    "corp_band(p: 'ArrayLike', y: 'ArrayLike', *, level: 'float' = 0.9, n_resamples: 'int' = 1000, seed: 'SeedLike' = None, max_points: 'int' = 1000) -> 'BandResult'",
    "corp_pair(p: 'ArrayLike', y: 'ArrayLike') -> 'tuple[CorpResult, CorpResult]'",
    "crps_beta(a: 'ArrayLike', b: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "crps_lognormal(mu: 'ArrayLike', sigma: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "crps_normal(mu: 'ArrayLike', sigma: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "crps_quantiles(levels: 'ArrayLike', values: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "crps_scale(specs: 'Sequence[Mapping[str, Any]]', bounds: 'BoundsLike' = None) -> 'float'",
    "crps_scales(groups: 'Sequence[Sequence[Mapping[str, Any]]]', bounds: 'Sequence[BoundsLike]') -> 'FloatArray'",
    "ece(p: 'ArrayLike', y: 'ArrayLike', bins: 'int' = 10) -> 'float'",
    "from_spec(spec: 'Mapping[str, Any]', bounds: 'BoundsLike' = None) -> 'Distribution'",
    "interval_score(lo: 'ArrayLike', hi: 'ArrayLike', x: 'ArrayLike', alpha: 'ArrayLike') -> 'FloatArray'",
    "log_multi(probs: 'ArrayLike', idx: 'ArrayLike') -> 'FloatArray'",
    "log_score(p: 'ArrayLike', y: 'ArrayLike', *, base: 'float | None' = None) -> 'FloatArray'",
    "log_score_beta(a: 'ArrayLike', b: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "log_score_lognormal(mu: 'ArrayLike', sigma: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "log_score_normal(mu: 'ArrayLike', sigma: 'ArrayLike', x: 'ArrayLike') -> 'FloatArray'",
    "log_score_quantiles(levels: 'ArrayLike', values: 'ArrayLike', x: 'ArrayLike', bounds: 'Any' = None) -> 'FloatArray'",
    "murphy(p: 'ArrayLike', y: 'ArrayLike', bins: 'int' = 10) -> 'MurphyResult'",
    "paired_compare(a: 'ArrayLike', b: 'ArrayLike', *, level: 'float' = 0.9, n_resamples: 'int' = 2000, seed: 'SeedLike' = None) -> 'PairedResult'",
    "pinball(q: 'ArrayLike', y: 'ArrayLike', tau: 'ArrayLike') -> 'FloatArray'",
    "pit(dist: 'Distribution | Mapping[str, Any]', x: 'ArrayLike', bounds: 'BoundsLike' = None) -> 'FloatArray'",
    "quantile_cdf(levels: 'ArrayLike', values: 'ArrayLike', x: 'ArrayLike', bounds: 'Any' = None) -> 'FloatArray'",
    "quantile_pdf(levels: 'ArrayLike', values: 'ArrayLike', x: 'ArrayLike', bounds: 'Any' = None) -> 'FloatArray'",
    "quantile_ppf(levels: 'ArrayLike', values: 'ArrayLike', q: 'ArrayLike', bounds: 'Any' = None) -> 'FloatArray'",
    "rps(probs: 'ArrayLike', idx: 'ArrayLike', *, normalize: 'bool' = False) -> 'FloatArray'",
    "rps_counts_betabinom(a: 'ArrayLike', b: 'ArrayLike', k: 'ArrayLike', n: 'ArrayLike') -> 'FloatArray'",
    "rps_counts_binom(p: 'ArrayLike', k: 'ArrayLike', n: 'ArrayLike') -> 'FloatArray'",
    "score_continuous(specs: 'Sequence[Mapping[str, Any]]', x: 'ArrayLike', bounds: 'Sequence[BoundsLike] | None' = None) -> 'dict[str, FloatArray]'",
    "skill(score: 'ArrayLike', ref: 'ArrayLike') -> 'Any'",
    "spec_quantiles(specs: 'Sequence[Mapping[str, Any]]', bounds: 'Sequence[BoundsLike]', levels: 'ArrayLike') -> 'FloatArray'",
    "spherical(p: 'ArrayLike', y: 'ArrayLike') -> 'FloatArray'",
    "spiegelhalter(p: 'ArrayLike', y: 'ArrayLike') -> 'tuple[float, float]'",
    "team_binary(p: 'ArrayLike | Sequence[ArrayLike]', *, clip: 'float' = 1e-09) -> 'Any'",
    "team_categorical(probs: 'ArrayLike') -> 'FloatArray'",
    "team_quantiles(specs: 'Sequence[Mapping[str, Any]]', levels: 'Sequence[float]' = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95), bounds: 'BoundsLike' = None) -> 'dict[str, Any]'",
    "team_quantiles_many(groups: 'Sequence[Sequence[Mapping[str, Any]]]', bounds: 'Sequence[BoundsLike]', levels: 'Sequence[float]' = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)) -> 'list[dict[str, Any]]'",
    "wilcoxon_p(d: 'FloatArray') -> 'float'",
    "wilson_interval(k: 'ArrayLike', n: 'ArrayLike', level: 'float' = 0.9) -> 'tuple[FloatArray, FloatArray]'",
]

# helpers that are not scores and so cite no source
NOT_SCORES = {
    "bin_edges",
    "bin_index",
    "from_spec",
    "quantile_pdf",
    "quantile_ppf",
    "spec_quantiles",
}


def _signature(name: str) -> str:
    text = f"{name}{inspect.signature(getattr(scoring, name))}"
    return re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"<function \1>", text)


def test_public_names_and_signatures() -> None:
    assert sorted(scoring.__all__) == [s.split("(")[0] for s in SIGNATURES]
    assert [_signature(n) for n in sorted(scoring.__all__)] == SIGNATURES


def test_every_function_has_a_numpy_docstring() -> None:
    for name in scoring.__all__:
        obj = getattr(scoring, name)
        doc = inspect.getdoc(obj) or ""
        assert doc, name
        if inspect.isclass(obj):
            continue
        assert "Parameters\n----------" in doc and "Returns\n-------" in doc, name
        if name not in NOT_SCORES:
            assert "References\n----------" in doc, name


def test_import_loads_no_scipy() -> None:
    code = (
        "import sys, predtrack.scoring; "
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_modules_say_what_lives_there_and_stay_small() -> None:
    folder = Path(scoring.__file__).parent
    for path in sorted(folder.glob("*.py")):
        text = path.read_text()
        assert text.startswith('"""') or text.startswith('r"""'), path.name
        first = text.split("\n", 1)[0].strip('r"')
        assert len(first) > 20, path.name
        assert text.count("\n") <= 600, path.name
