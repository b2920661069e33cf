"""A list of entries as arrays, for group summaries: one pass over the entries, then numpy.

A board's entries are made question by question, so one forecaster's entries lie far apart in
memory: a pass over each forecaster's list costs about three times a pass over the board in
its own order. `summarize` reads the board once into `Columns` and takes each group's rows
from them; every value keeps its entry's order, so means and bootstrap intervals are the same
numbers a pass per group gives.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from predtrack.vocabulary import KINDS, MEANS, PAIRED

if TYPE_CHECKING:
    from predtrack.score.board import Entry

# The per-entry scores a group summary reads: the means, and the binary forecasts themselves.
_READ = frozenset({str(s.entry) for s in MEANS} | {s.key for s in PAIRED} | {"p", "y", "log"})
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Columns:
    """Entries as arrays: question ids, kinds (index into KINDS), revisions, and per score
    the positions of the entries that have it with their values, in the entries' order."""

    qid: np.ndarray
    kind: np.ndarray
    revisions: np.ndarray
    at: dict[str, np.ndarray]
    values: dict[str, np.ndarray]

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> Columns:
        """Read entries in one pass (into C arrays: a million entries make no Python numbers)."""
        # positions as C ints: 4 bytes each, a million entries holding some 7 million scores
        qid, kind, revisions = array("q"), array("b"), array("q")
        at = {key: array("i") for key in _READ}
        values = {key: array("d") for key in _READ}
        other = len(KINDS)
        for i, e in enumerate(entries):
            qid.append(e.question_id)
            kind.append(_KIND_CODE.get(e.kind, other))
            revisions.append(e.revisions)
            for key, value in e.scores.items():
                if key in _READ:
                    at[key].append(i)
                    values[key].append(value)
        return cls(
            np.frombuffer(qid, dtype=np.int64),
            np.frombuffer(kind, dtype=np.int8),
            np.frombuffer(revisions, dtype=np.int64),
            {k: np.frombuffer(v, dtype=np.intc) for k, v in at.items() if v},
            {k: np.frombuffer(values[k], dtype=np.float64) for k, v in at.items() if v},
        )

    def __len__(self) -> int:
        return int(self.qid.size)

    def take(self, rows: Sequence[int] | np.ndarray) -> Columns:
        """The entries at these positions (ascending), as columns of their own."""
        idx = np.asarray(rows, dtype=np.int64)
        if idx.size == len(self) and (idx.size == 0 or idx[-1] == idx.size - 1):
            return self  # every entry, in order
        new = np.full(len(self), -1, dtype=np.int64)
        new[idx] = np.arange(idx.size)
        at, values = {}, {}
        for key, where in self.at.items():
            moved = new[where]
            kept = moved >= 0
            if kept.any():
                at[key], values[key] = moved[kept], self.values[key][kept]
        return Columns(self.qid[idx], self.kind[idx], self.revisions[idx], at, values)

    def scores(self, key: str) -> np.ndarray:
        """The values of one score, in the entries' order (empty when none has it)."""
        return self.values.get(key, np.empty(0))

    def kind_counts(self) -> dict[str, int]:
        """Entries per kind."""
        counts = np.bincount(self.kind, minlength=len(KINDS) + 1)
        return {kind: int(counts[code]) for kind, code in _KIND_CODE.items()}

    def score_lookup(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted question ids, their scores) of one score; of two entries on one question,
        the later counts (as a dict built in order would keep it)."""
        where = self.at.get(key)
        if where is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        q, v = self.qid[where], self.values[key]
        order = np.argsort(q, kind="stable")
        q, v = q[order], v[order]
        last = np.append(q[1:] != q[:-1], True)
        return q[last], v[last]
