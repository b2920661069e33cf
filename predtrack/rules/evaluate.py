"""Evaluating a rule on today's files: the outcome, every file read (evidence), and when the data existed.

"The data existed at" is the earliest time inside the records the rule used - a record's
`timestamp`, `time` or `_timestamp` field (ISO-8601, or epoch seconds), or the time a
tracker source gives its records and metric points - and, when no record used carries
one, the earliest modification time of the data files whose records were used.

Failed runs, for plain files (which record no status): with `final=True` (the runs were
declared complete, `resolve --final`), a rule still missing its records - a Hydra job
folder without its metric file while the sweep's other jobs have theirs, fewer than
`runs=N`, a glob matching nothing, a file that does not exist - counts as a failed run
(`RunFailed`) instead of staying pending.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules import aggregate, base, select
from predtrack.rules.access import Context
from predtrack.rules.base import Evidence, RulePending, RunFailed
from predtrack.rules.check import check_rule
from predtrack.rules.convert import Got, convert
from predtrack.rules.files import Reader, manifest_digest
from predtrack.rules.nodes import Aggregate, Crossing, Fraction, Rule, keys
from predtrack.rules.sources.runs import Records

__all__ = ["Evaluation", "ReadCache", "evaluate_rule", "evidence_digest"]


class ReadCache(dict[Any, Any]):
    """Files and globs already read in one resolve run, keyed by path and stat.

    A file read once is not read again while its inode, size and modification time are
    unchanged; a glob is expanded and its files read once per cache. Use one per resolve run.
    """


@dataclass(frozen=True)
class Evaluation:
    """The outcome a rule read, and exactly what it was read from."""

    value: bool | float | str
    k: int | None
    n: int | None
    detail: str
    evidence: tuple[Evidence, ...]  # every file read, sorted by path
    data_time: datetime  # aware UTC
    data_time_source: str  # "records" or "mtime"
    artifact: str  # the one file read, or the glob's (or store's) root
    sha256: str  # that file's sha256, or evidence_digest(evidence) when several

    @property
    def size(self) -> int:
        """The artifact's size (the total of the evidence when several files were read)."""
        return sum(e.size for e in self.evidence)

    @property
    def mtime(self) -> datetime:
        """The artifact's modification time (the latest of the evidence when several)."""
        return max(e.mtime for e in self.evidence)


def evidence_digest(evidence: Sequence[Evidence]) -> str:
    """sha256 hex of the canonical manifest: JSON `[{"path", "sha256", "size"}]` sorted by path,
    keys sorted, no spaces, UTF-8."""
    return manifest_digest(evidence)


def evaluate_rule(
    rule: Rule,
    base_dir: str | os.PathLike[str],
    kind: str,
    categories: Sequence[str] | None = None,
    bounds: tuple[float | None, float | None] | None = None,
    *,
    cache: MutableMapping[Any, Any] | None = None,
    final: bool = False,
    allow_outside: bool = False,
) -> Evaluation:
    """Read the rule's outcome from today's files.

    Raises RulePending (not yet: what is missing is named), RunFailed (the runs it selects
    failed, or with `final` are still missing their records), OutsideFolder (a file outside
    `base_dir`, unless `allow_outside`), RuleError (the rule fails on its data), and
    RuleSyntaxError (the rule cannot resolve this kind).
    """
    check_rule(rule, kind, categories)
    reader = Reader(base_dir, allow_outside=allow_outside, memo=cache)
    cls = base.source_class(rule.format)
    try:
        records = Records(cls, rule.file, reader, keys(rule.selector), cache)
        ctx = Context(cls, _shown(rule), records.glob, lambda run: _quotable(reader, run, records))
        got = _select(rule, ctx, records)
        reader.check_unchanged()
    except select.Missing as short:
        if final:
            raise RunFailed(_declared(short.reason), reader.evidence(), short.missing) from None
        if short.hard:
            raise RuleError(short.reason) from None
        raise RulePending(short.reason, short.missing) from None
    except select.Failed as failed:
        raise RunFailed(failed.reason, reader.evidence(), failed.missing) from None
    except RunFailed:
        raise
    except RulePending as pending:
        if final:
            raise RunFailed(_declared(pending.reason), reader.evidence(), pending.missing) from None
        raise
    value, k, n = convert(rule, got, kind, categories, bounds)
    evidence = reader.evidence()
    if not evidence:
        raise RuleError(f"{rule.file}: the rule read no file")
    moment, source = _data_time(got, evidence)
    one = len(evidence) == 1
    return Evaluation(
        value,
        k,
        n,
        got.detail,
        evidence,
        moment,
        source,
        records.artifact,
        evidence[0].sha256 if one else reader.digest(),
    )


def _select(rule: Rule, ctx: Context, records: Records) -> Got:
    sel = rule.selector
    if isinstance(sel, Crossing):
        return aggregate.crossing(ctx, records, sel)
    if isinstance(sel, Aggregate | Fraction):
        return aggregate.aggregate(ctx, records, sel)
    return select.one_record(ctx, rule, records)


def _shown(rule: Rule) -> str:
    return f"{rule.scheme}:{rule.file}" if rule.scheme else rule.file


def _quotable(reader: Reader, run: base.Run, records: Records) -> bool:
    """Messages may list a file's keys or columns only if it sits, unlinked, in the folder."""
    path = records.root if not records.glob else reader.base / run.where
    return reader.direct(Path(path))


def _declared(reason: str) -> str:
    return f"{reason}; the runs were declared complete, so this counts as a failed run"


def _data_time(got: Got, evidence: Sequence[Evidence]) -> tuple[datetime, str]:
    if got.times:
        return datetime.fromtimestamp(min(got.times), UTC), "records"
    if got.mtimes:
        return datetime.fromtimestamp(min(got.mtimes), UTC), "mtime"
    return min(e.mtime for e in evidence), "mtime"
