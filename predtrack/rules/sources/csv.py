"""CSV and TSV tables: one record per non-blank data row, named by the header; streamed.

Cells are stripped of surrounding white space and read as text (numbers and booleans are
parsed where a selector needs them). Rows are read in bounded memory: a row over
`ROW_MAX_CHARS` characters (however many physical lines it spans) is refused with its
line number, so a one-line 300 MB file costs a few MB, not its size several times over.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from predtrack.errors import RuleError
from predtrack.rules import files
from predtrack.rules.base import Chunk, Source

ROW_MAX_CHARS = 4 * 1024 * 1024
_BATCH = 1024
_READ = 128 * 1024


class _Fed:
    """Characters handed to the csv reader since the last row it returned."""

    n = 0


def _lines(f: files.ReadFile, shown: str, fed: _Fed) -> Iterator[str]:
    for _, lines in files.line_batches(
        f, shown, max_line=ROW_MAX_CHARS, universal=True, size=_READ
    ):
        for line in lines:
            fed.n += len(line)
            if fed.n > ROW_MAX_CHARS:
                raise RuleError(
                    f"{shown} has a row over {ROW_MAX_CHARS >> 20} MiB; rows that long are "
                    "refused so that memory stays bounded"
                )
            yield line


class CsvSource(Source):
    """A comma-separated table: one record per data row."""

    name = "csv"
    values = "name"
    delimiter = ","

    def chunks(self) -> Iterator[Chunk]:
        t = self.target
        real, st = self.reader.locate(t.path, t.shown)
        t.run.mtime = st.st_mtime_ns / 1e9
        with self.reader.open_located(real, st, t.shown) as f:
            fed = _Fed()
            reader = csv.reader(_lines(f, t.shown, fed), delimiter=self.delimiter)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            try:
                for row in reader:
                    fed.n = 0
                    cells = [c.strip() for c in row]
                    if not any(cells):
                        continue
                    if header is None:
                        header = cells
                        continue
                    rows.append(cells)
                    lines.append(reader.line_num)
                    if len(rows) >= _BATCH:
                        yield Chunk(t.run, rows, lines, header, text=True)
                        rows, lines = [], []
            except csv.Error as e:
                raise RuleError(f"{t.shown} line {reader.line_num}: {e}") from None
            if header is None:
                raise RuleError(f"{t.shown} is empty (no header row)")
            yield Chunk(t.run, rows, lines, header, text=True)

    @classmethod
    def fields(cls, path: Path) -> frozenset[str] | None:
        """The header's column names (read from the first 1 MiB)."""
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None  # a FIFO would block; evaluation reports it
            with open(path, encoding="utf-8-sig", newline="", errors="replace") as fh:
                head = fh.read(files.CHUNK)
        except (OSError, ValueError):
            return None
        for row in csv.reader(head.splitlines(), delimiter=cls.delimiter):
            cells = [c.strip() for c in row]
            if any(cells):
                return frozenset(cells)
        return None


class TsvSource(CsvSource):
    """A tab-separated table."""

    name = "tsv"
    delimiter = "\t"
