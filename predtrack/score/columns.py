"""A list of entries as arrays, for group summaries and comparisons.

`score_entries` computes every score as arrays and keeps them here beside the entries' own
dicts, so summaries and comparisons never walk a million entries per group. (A board's
entries are made question by question: one forecaster's entries lie far apart in memory, and
a pass over each forecaster's list took 3.5 times as long as one in the board's order.)
Every score keeps its entries' order, so means and bootstrap intervals are the numbers a pass
over the entries gives. `Columns.of` reads any list of entries in one pass.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from predtrack.vocabulary import KINDS, MEANS, PAIRED

if TYPE_CHECKING:
    from predtrack.score.board import Entry

# The per-entry scores a group summary reads: the means, and the binary forecasts themselves.
READ = frozenset({str(s.entry) for s in MEANS} | {s.key for s in PAIRED} | {"p", "y", "log"})
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Columns:
    """Entries as arrays: question ids, kinds (index into KINDS), revisions, forecasters
    (index into `names`), and per score the positions of the entries that have it (ascending)
    with their values."""

    qid: np.ndarray
    kind: np.ndarray
    revisions: np.ndarray
    forecaster: np.ndarray
    names: tuple[str, ...]
    at: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    # score_lookup's answers, kept: comparisons ask for the same ones many times
    _lookups: dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def frame(
        cls,
        question_id: Sequence[int],
        kind: Sequence[str],
        revisions: Sequence[int],
        forecaster: Sequence[str],
    ) -> Columns:
        """Columns of these question ids, kinds, revisions and forecasters, with no scores yet
        (`add` puts them in)."""
        codes: dict[str, int] = {}
        return cls(
            np.array(question_id, dtype=np.int64),
            np.array([_KIND_CODE.get(k, len(KINDS)) for k in kind], dtype=np.int8),
            np.array(revisions, dtype=np.int64),
            np.array([codes.setdefault(f, len(codes)) for f in forecaster], dtype=np.int32),
            tuple(codes),
            {},
            {},
        )

    @classmethod
    def of(cls, entries: Sequence[Entry]) -> Columns:
        """Read entries and their scores' dicts in one pass."""
        cols = cls.frame(
            [e.question_id for e in entries],
            [e.kind for e in entries],
            [e.revisions for e in entries],
            [e.forecaster for e in entries],
        )
        # positions as C ints: a million entries hold some 7 million scores
        at = {key: array("i") for key in READ}
        values = {key: array("d") for key in READ}
        for i, e in enumerate(entries):
            for key, value in e.scores.items():
                if key in READ:
                    at[key].append(i)
                    values[key].append(value)
        for key, where in at.items():
            if where:
                cols.at[key] = np.frombuffer(where, dtype=np.intc)
                cols.values[key] = np.frombuffer(values[key], dtype=np.float64)
        return cols

    def add(self, key: str, where: np.ndarray, values: np.ndarray) -> None:
        """One score of the entries at `where` (merged with what it holds, kept in order).
        Scores added at the same ascending C-int positions share that one array."""
        if key not in READ or not where.size:
            return
        self._lookups.clear()
        values = np.asarray(values, dtype=np.float64)
        if key not in self.at and where.dtype == np.intc and bool(np.all(where[1:] > where[:-1])):
            self.at[key], self.values[key] = where, values
            return
        if key in self.at:
            where = np.concatenate((self.at[key], where))
            values = np.concatenate((self.values[key], values))
        order = np.argsort(where, kind="stable")
        self.at[key] = where[order].astype(np.intc)
        self.values[key] = values[order]

    def __len__(self) -> int:
        return int(self.qid.size)

    def take(self, rows: Sequence[int] | np.ndarray, keys: Sequence[str] | None = None) -> Columns:
        """The entries at these positions (ascending), as columns of their own (with only
        the scores `keys` when given)."""
        idx = np.asarray(rows, dtype=np.int64)
        if keys is None and idx.size == len(self) and (idx.size == 0 or idx[-1] == idx.size - 1):
            return self  # every entry, in order
        new = np.full(len(self), -1, dtype=np.int64)
        new[idx] = np.arange(idx.size)
        at, values = {}, {}
        for key, where in self.at.items():
            if keys is not None and key not in keys:
                continue
            moved = new[where]
            kept = moved >= 0
            if kept.any():
                at[key], values[key] = moved[kept].astype(np.intc), self.values[key][kept]
        return Columns(
            self.qid[idx],
            self.kind[idx],
            self.revisions[idx],
            self.forecaster[idx],
            self.names,
            at,
            values,
        )

    def scores(self, key: str) -> np.ndarray:
        """The values of one score, in the entries' order (empty when none has it)."""
        return self.values.get(key, np.empty(0))

    def kind_counts(self) -> dict[str, int]:
        """Entries per kind."""
        counts = np.bincount(self.kind, minlength=len(KINDS) + 1)
        return {kind: int(counts[code]) for kind, code in _KIND_CODE.items()}

    def score_lookup(
        self, key: str, forecaster: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sorted question ids, their scores) of one score, of every entry or one forecaster's;
        of two entries on one question the later counts (as a dict built in order keeps it)."""
        kept = self._lookups.get((key, forecaster))
        if kept is None:
            kept = self._lookups[(key, forecaster)] = self._lookup(key, forecaster)
        return kept

    def _lookup(self, key: str, forecaster: str | None) -> tuple[np.ndarray, np.ndarray]:
        where = self.at.get(key)
        if where is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        v = self.values[key]
        if forecaster is not None:
            code = self.names.index(forecaster) if forecaster in self.names else -1
            mine = self.forecaster[where] == code
            where, v = where[mine], v[mine]
        q = self.qid[where]
        if not q.size:
            return q, v
        order = np.argsort(q, kind="stable")
        q, v = q[order], v[order]
        last = np.append(q[1:] != q[:-1], True)
        return q[last], v[last]
