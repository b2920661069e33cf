"""Comparing forecasters: bootstrap intervals, paired tests, skill, baselines.

Infinite scores (a log score of ``inf`` for a confident forecast that was
wrong) are allowed everywhere here and handled by one rule: statistics are
computed on the values as they are, so a mean that includes an ``inf`` is
``inf``; bootstrap limits are order statistics of the resampled statistics
(never interpolated, which would turn ``inf`` into NaN), so an infinite
score gives an infinite upper limit while the lower limit stays finite when
enough resamples leave it out.  In paired differences two equal scores
(including two infinite ones) differ by 0.  NaN is always refused.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from predtrack.errors import ScoringInputError
from predtrack.scoring._validate import (
    FloatArray,
    SeedLike,
    as_binary,
    as_float,
    check_level,
    check_resamples,
    nonempty_1d,
    same_shape,
)

__all__ = [
    "PairedResult",
    "bootstrap_ci",
    "climatology_loo",
    "paired_compare",
    "skill",
    "wilcoxon_p",
]

_CHUNK = 1 << 22
_GATHER = 1 << 17  # resampled values gathered at once (1 MB: within a core's cache)
# Resample indices depend only on (n, resamples, seed): a board's groups, scores and pairs
# of the same size draw the same ones. Inside `kept_resamples` they are kept (as int32, the
# same values) up to this many, and forgotten when it ends.
_KEEP = 1 << 24
_kept: dict[tuple[int, int, int], list[np.ndarray]] = {}
_keeping = 0
_kept_lock = threading.Lock()  # `bootstrap_cis` draws on several threads


@contextmanager
def kept_resamples() -> Iterator[None]:
    """Keep the resample indices drawn inside, for the later calls of the same size and seed
    (the same values a fresh draw gives); forgotten at the end of the outermost one."""
    global _keeping
    _keeping += 1
    try:
        yield
    finally:
        _keeping -= 1
        if not _keeping:
            _kept.clear()


def _index_blocks(n: int, n_resamples: int, seed: SeedLike) -> Iterator[np.ndarray]:
    """Blocks of resample indices, shape (rows, n), drawn as `default_rng(seed)` draws them."""
    key = (n, n_resamples, seed) if type(seed) is int and _keeping else None
    with _kept_lock:
        found = _kept.get(key) if key is not None else None
    if found is not None:
        yield from found
        return
    keep = key is not None and n * n_resamples <= _KEEP and n < 2**31
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK // n)
    # Below 2**31 numpy draws int32 indices from the same stream as int64 ones (the same
    # values, and the generator left in the same state), four times faster.
    dtype = np.int32 if n < 2**31 else np.int64
    blocks: list[np.ndarray] = []
    for start in range(0, n_resamples, rows):
        block = rng.integers(0, n, size=(min(n_resamples, start + rows) - start, n), dtype=dtype)
        if keep:
            block.flags.writeable = False  # shared by later calls
            blocks.append(block)
        yield block
    if keep and key is not None:
        with _kept_lock:
            while (
                _kept and sum(b.size for bs in _kept.values() for b in bs) + n * n_resamples > _KEEP
            ):
                del _kept[next(iter(_kept))]  # the oldest first
            _kept[key] = blocks


def _resampled_stats(
    values: FloatArray, stat: Callable[..., Any], n_resamples: int, seed: SeedLike
) -> FloatArray:
    out = np.empty(n_resamples)
    # Gathered a few resamples at a time into one buffer that stays in cache: each row's
    # statistic is computed alone, so the figures are those of one big gather, 1.8 times as fast.
    rows = max(1, _GATHER // values.size)
    buffer = np.empty((min(rows, n_resamples), values.size), dtype=values.dtype)
    # `take` turns int32 indices into a fresh intp array each call, and a fresh array of this
    # size is new memory the kernel maps in page by page: copied into one kept buffer instead,
    # the gather is six times as fast.
    wide = np.empty(buffer.shape, dtype=np.intp)
    start = 0
    for block in _index_blocks(values.size, n_resamples, seed):
        for first in range(0, block.shape[0], rows):
            idx = block[first : first + rows]
            if idx.dtype != np.intp:
                np.copyto(wide[: idx.shape[0]], idx)
                idx = wide[: idx.shape[0]]
            stop = start + idx.shape[0]
            sample = np.take(values, idx, out=buffer[: idx.shape[0]])
            with np.errstate(invalid="ignore", over="ignore"):
                try:
                    res = stat(sample, axis=1)
                except TypeError:
                    res = np.apply_along_axis(stat, 1, sample)
            out[start:stop] = np.asarray(res, dtype=np.float64).reshape(stop - start)
            start = stop
    return out


def bootstrap_ci(
    values: ArrayLike,
    *,
    level: float = 0.9,
    n_resamples: int = 2000,
    seed: SeedLike = None,
    stat: Callable[..., Any] = np.mean,
) -> tuple[float, float]:
    r"""Percentile bootstrap interval for a statistic of per-question scores.

    Questions are resampled with replacement ``n_resamples`` times; the
    interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the
    resampled statistic, taken as order statistics (``inverted_cdf``: no
    interpolation).  ``inf`` values are allowed (see the module docstring:
    an infinite score makes the upper limit of the mean ``inf``).

    Parameters
    ----------
    values : array_like, shape (n,)
        One score per question; NaN refused.
    level : float
        Coverage, default 0.9.
    n_resamples : int
        Number of bootstrap resamples, default 2000.
    seed : int, numpy Generator or None
        For reproducible intervals.
    stat : callable
        A reduction called as ``stat(sample, axis=1)`` on a 2-D block of
        resamples (numpy reductions such as ``np.mean`` and ``np.median``);
        functions without ``axis`` are applied row by row.

    Returns
    -------
    (lo, hi) : tuple of float

    References
    ----------
    Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
    Chapman & Hall, chapter 13 (percentile interval).
    """
    lv = check_level(level)
    reps = check_resamples(n_resamples)
    va = as_float(values, "values", allow_inf=True)
    nonempty_1d("values", va)
    boot = _resampled_stats(va, stat, reps, seed)
    lo, hi = np.quantile(boot, [(1.0 - lv) / 2.0, (1.0 + lv) / 2.0], method="inverted_cdf")
    return float(lo), float(hi)


def _threads() -> int:
    """Threads `bootstrap_cis` may use: this process's cores, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def bootstrap_cis(
    samples: Sequence[ArrayLike],
    *,
    level: float = 0.9,
    n_resamples: Sequence[int],
    seed: int | None = None,
) -> list[tuple[float, float]]:
    """:func:`bootstrap_ci` of the mean of each sample, the same intervals, on up to four
    threads (numpy's draws and gathers release the GIL). Samples of one size share their
    resamples, so each size is one thread's task: drawn once, and never twice at once."""
    if len(samples) != len(n_resamples):
        raise ScoringInputError(f"{len(samples)} samples but {len(n_resamples)} resample counts")
    arrays = [np.asarray(sample) for sample in samples]
    tasks: dict[tuple[int, int], list[int]] = {}
    for i, (array, reps) in enumerate(zip(arrays, n_resamples, strict=True)):
        tasks.setdefault((array.size, int(reps)), []).append(i)
    # The largest first, so the last to finish is a small one.
    order = sorted(tasks.values(), key=lambda t: -arrays[t[0]].size * int(n_resamples[t[0]]))
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(arrays)

    def run(task: list[int]) -> None:
        for i in task:
            out[i] = bootstrap_ci(arrays[i], level=level, n_resamples=n_resamples[i], seed=seed)

    workers = min(_threads(), len(order))
    with kept_resamples():
        if workers < 2:
            for task in order:
                run(task)
        else:
            # A pool of this call's own: no thread outlives it (a report forks its ledger
            # check only from a process with one thread).
            with ThreadPoolExecutor(workers, thread_name_prefix="predtrack-bootstrap") as pool:
                for done in [pool.submit(run, task) for task in order]:
                    done.result()
    return out


@dataclass(frozen=True)
class PairedResult:
    """Paired comparison of two forecasters over the questions both answered.

    Attributes
    ----------
    n : int
        Number of paired questions.
    mean_diff : float
        Mean of ``a - b`` (negative: ``a`` scores lower, i.e. better, for
        negatively oriented scores).
    ci_lo, ci_hi : float
        Bootstrap percentile interval of the mean difference.
    p_value : float
        Two-sided Wilcoxon signed-rank p-value (1.0 when every difference is 0).
    meaningful : bool
        ``n >= 10``: fewer paired questions are shown but not ranked.
    """

    n: int
    mean_diff: float
    ci_lo: float
    ci_hi: float
    p_value: float
    meaningful: bool


def paired_compare(
    a: ArrayLike,
    b: ArrayLike,
    *,
    level: float = 0.9,
    n_resamples: int = 2000,
    seed: SeedLike = None,
) -> PairedResult:
    r"""Paired difference of two forecasters' scores on the same questions.

    ``d_i = a_i - b_i`` (0 where the two scores are equal, including two
    infinite scores); reports the mean difference, its bootstrap percentile
    interval over questions (:func:`bootstrap_ci`) and the two-sided
    Wilcoxon signed-rank p-value (zero differences dropped, Wilcoxon's
    convention; exact for small samples without ties, normal approximation
    otherwise, as chosen by SciPy).  With no paired questions (n = 0) every
    statistic is NaN and ``meaningful`` is False.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Scores of the two forecasters, aligned by question; NaN refused.
    level, n_resamples, seed
        Bootstrap settings, as in :func:`bootstrap_ci`.

    Returns
    -------
    PairedResult

    References
    ----------
    Wilcoxon, F. (1945). Individual comparisons by ranking methods.
    Biometrics Bulletin 1(6), 80-83.
    Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
    """
    aa = as_float(a, "a", allow_inf=True)
    ba = as_float(b, "b", allow_inf=True)
    same_shape(("a", aa), ("b", ba))
    if aa.ndim != 1:
        raise ScoringInputError(f"a and b must be one-dimensional; got shape {aa.shape}")
    n = aa.size
    if n == 0:
        nan = float("nan")
        return PairedResult(0, nan, nan, nan, nan, False)
    with np.errstate(invalid="ignore"):
        d = np.where(aa == ba, 0.0, aa - ba)
        mean_diff = float(np.mean(d))
    lo, hi = bootstrap_ci(d, level=level, n_resamples=n_resamples, seed=seed)
    p_value = 1.0 if not np.any(d != 0.0) else wilcoxon_p(d)
    return PairedResult(
        n=n, mean_diff=mean_diff, ci_lo=lo, ci_hi=hi, p_value=p_value, meaningful=n >= 10
    )


def wilcoxon_p(d: FloatArray) -> float:
    r"""Two-sided Wilcoxon signed-rank p-value of paired differences, as
    ``scipy.stats.wilcoxon(d).pvalue`` gives it (SciPy 1.17, the same floats:
    a test compares them).

    Zero differences are dropped (Wilcoxon's convention); the nonzero ones
    are ranked by ``|d|`` with average ranks for ties.  SciPy's choice of
    method is kept: the normal approximation without continuity correction,

    .. math:: z = \frac{R^+ - m(m+1)/4}
                      {\sqrt{(m(m+1)(2m+1) - \sum_j (t_j^3 - t_j)/2) / 24}},
              \qquad p = 2\,\Phi(-|z|),

    with ``m`` the nonzero differences, ``R+`` the sum of the ranks of the
    positive ones and ``t_j`` the sizes of the groups of tied ``|d|``, for
    more than 50 differences or (with ties or zeros) more than 13; below
    that SciPy's exact or permutation distribution.  The approximation is
    computed here, in SciPy's order of operations (the same floats): it is
    what large comparisons use, and importing ``scipy.stats`` for it took
    0.4-0.7 s of a report.

    Parameters
    ----------
    d : ndarray, shape (n,)
        Paired differences, finite, not all zero.

    Returns
    -------
    float

    References
    ----------
    Wilcoxon, F. (1945). Individual comparisons by ranking methods.
    Biometrics Bulletin 1(6), 80-83.
    """
    from scipy import special

    n = d.size
    zero = d == 0.0
    # SciPy's exact distribution (no ties, no zeros) up to 50, its permutation test up to 13
    if n <= 13 or (n <= 50 and not zero.any() and np.unique(np.abs(d)).size == n):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            from scipy import stats

            return float(stats.wilcoxon(d).pvalue)
    dn = np.where(zero, np.nan, d)  # zeros last in the ranking, each its own group
    a = np.abs(dn)
    order = np.argsort(a, kind="stable")
    y = a[order]
    first = np.concatenate(([True], y[:-1] != y[1:]))
    starts = np.arange(n)[first]
    counts = np.diff(starts, append=np.asarray([n], dtype=starts.dtype))
    ranks = np.empty(n)
    average = np.arange(1, n + 1, dtype=np.float64)[first] + (counts.astype(np.float64) - 1) / 2
    ranks[order] = np.repeat(average, counts)
    ties = np.zeros(n)
    ties[first] = counts
    count = np.float64(n - np.count_nonzero(zero))
    r_plus = np.sum((dn > 0).astype(np.float64) * ranks)
    mean = count * (count + 1.0) * 0.25
    se = count * (count + 1.0) * (2.0 * count + 1.0)
    se = np.sqrt((se - np.sum(ties**3 - ties) / 2) / 24)
    z = (r_plus - mean) / se
    return float(2 * special.ndtr(-np.abs(z)))


def skill(score: ArrayLike, ref: ArrayLike) -> Any:
    r"""Skill score relative to a reference forecast.

    .. math:: \mathrm{SS} = 1 - \bar S / \bar S_\mathrm{ref}

    1 is perfect, 0 no better than the reference, negative worse.  NaN when
    ``ref`` is 0 (and when both are infinite); ``-inf`` when only ``score``
    is infinite.  Only meaningful for negatively oriented scores that are
    0 for a perfect forecast (Brier, log, CRPS).

    Parameters
    ----------
    score, ref : float or array_like
        Mean scores of the forecaster and of the reference; broadcast.

    Returns
    -------
    float or ndarray
        A float for scalar inputs.

    References
    ----------
    Murphy, A. H. (1973). Hedging and skill scores for probability forecasts.
    J. Appl. Meteor. 12, 215-223.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 2.
    """
    sa = as_float(score, "score", allow_inf=True)
    ra = as_float(ref, "ref", allow_inf=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(ra == 0.0, np.nan, 1.0 - sa / np.where(ra == 0.0, 1.0, ra))
    if out.ndim == 0:
        return float(out)
    return np.asarray(out, dtype=np.float64)


def climatology_loo(y: ArrayLike, *, pseudocount: float = 0.0) -> FloatArray:
    r"""Leave-one-out climatological base rate, the built-in binary baseline.

    .. math:: p_i = \frac{\sum_j y_j - y_i + c}{n - 1 + 2c}

    with pseudocount c = 0 by default (the plain leave-one-out frequency, so
    a question's own outcome never informs its baseline forecast).  With one
    question (n = 1) the baseline is 0.5.  Note that with c = 0 the baseline
    can be exactly 0 or 1 (e.g. the only event among n questions gets
    p = 0), whose log score is ``inf``; a small c (e.g. 0.5, Jeffreys)
    avoids that.

    Parameters
    ----------
    y : array_like, shape (n,)
        Binary outcomes.
    pseudocount : float
        Added to the event and non-event counts, >= 0.

    Returns
    -------
    ndarray, shape (n,)

    References
    ----------
    Murphy, A. H. (1988). Skill scores based on the mean square error and
    their relationships to the correlation coefficient. Monthly Weather
    Review 116, 2417-2424 (climatology as reference); leave-one-out to keep
    the reference out of sample.
    """
    ya = as_binary(y, "y")
    if ya.ndim != 1:
        raise ScoringInputError(f"y must be one-dimensional; got shape {ya.shape}")
    c = float(pseudocount)
    if not np.isfinite(c) or c < 0:
        raise ScoringInputError(f"pseudocount must be >= 0; got {pseudocount!r}")
    n = ya.size
    if n == 0:
        return np.empty(0)
    if n == 1:
        return np.full(1, 0.5)
    return np.asarray((ya.sum() - ya + c) / (n - 1 + 2.0 * c))
