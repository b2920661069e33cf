"""A JSON-lines log (`.jsonl`, `.ndjson`): one record per non-blank line, streamed.

Lines are parsed a batch at a time as one JSON array, which is about three times faster
than a `json.loads` per line. That is exact only when every line is one complete value,
so a batch takes the fast path only if each of its lines has no backslash, an even number
of quotes (its strings close on the line) and as many closing as opening brackets of each
kind (its structure closes on the line), and the array then holds one value per line;
any other batch is parsed line by line. A key given twice in one object is refused: the
line-by-line parse checks every key, the fast path the keys the rule reads, and the time
fields its first line has (a batch where one of them appears twice on a line goes line
by line).

A VALUE alone reads the last line: the file is hashed to the end and that line is read
backwards from the hashed size, so a long log is never parsed whole for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from itertools import repeat
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules import files
from predtrack.rules.base import TIME_FIELDS, Chunk, Source
from predtrack.rules.sources.json import parse_json

_TIME_KEYS = frozenset(json.dumps(k) for k in TIME_FIELDS)
_ODD = (1).__and__
_SEVERAL = (1).__lt__


def _fast(lines: list[str], joined: str, keys: list[str]) -> list[Any] | None:
    """The batch's values, if the fast path applies (see the module docstring), else None."""
    if "\\" in joined:
        return None
    count = str.count
    if any(map(_ODD, map(count, lines, repeat('"')))):
        return None
    for a, b in ("{}", "[]"):
        if (a in joined or b in joined) and list(map(count, lines, repeat(a))) != list(
            map(count, lines, repeat(b))
        ):
            return None
    try:
        values = json.loads("[" + joined + "]")
    except (ValueError, RecursionError):
        return None
    if len(values) != len(lines):
        return None
    first = values[0] if values and type(values[0]) is dict else {}
    for key in keys:
        if key in _TIME_KEYS and json.loads(key) not in first:
            continue  # a time field the first record lacks: not checked on this path
        if key in joined and any(map(_SEVERAL, map(count, lines, repeat(key)))):
            return None
    return values


class JsonlSource(Source):
    """A JSON-lines file: one record per line."""

    name = "jsonl"
    values = "pointer"
    last_by_default = True
    skip_missing = True
    uses_names = True  # the fast path checks the keys the rule reads for duplicates

    def chunks(self) -> Iterator[Chunk]:
        t = self.target
        real, st = self.reader.locate(t.path, t.shown)
        t.run.mtime = st.st_mtime_ns / 1e9
        keys = [json.dumps(k, ensure_ascii=False) for k in sorted(t.names | set(TIME_FIELDS))]
        with self.reader.open_located(real, st, t.shown) as f:
            for first, lines in files.line_batches(f, t.shown, max_line=files.JSON_MAX_BYTES):
                values = _fast(lines, ",".join(lines), keys)
                if values is not None:
                    yield Chunk(t.run, values, range(first, first + len(lines)))
                    continue
                records, positions = [], []
                for i, line in enumerate(lines):
                    if line.strip():
                        records.append(parse_json(line, f"{t.shown} line {first + i}"))
                        positions.append(first + i)
                if records:
                    yield Chunk(t.run, records, positions)

    def last(self) -> Chunk:
        """The last non-empty line, read backwards within the hashed bytes."""
        t = self.target
        real, st = self.reader.locate(t.path, t.shown)
        t.run.mtime = st.st_mtime_ns / 1e9
        what = f"the last line of {t.shown}"
        with self.reader.open_located(real, st, t.shown) as f:
            lines = 0
            while chunk := f.read_chunk():  # hash everything first
                lines += chunk.count(b"\n")
            fd, pos, parts, total, found = f.fh.fileno(), f.size, [], 0, False
            while pos > 0:
                start = max(0, pos - 64 * 1024)
                chunk = os.pread(fd, pos - start, start)
                pos = start
                if not found:
                    stripped = chunk.rstrip(b" \t\r\n")
                    lines -= chunk.count(b"\n", len(stripped))
                    chunk, found = stripped, bool(stripped)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    parts.append(chunk[nl + 1 :])
                    break
                parts.append(chunk)
                total += len(chunk)
                if total > files.JSON_MAX_BYTES:
                    raise RuleError(f"the last line of {t.shown} is over 256 MiB")
            line = b"".join(reversed(parts)).strip()
            if not line:
                raise RuleError(f"{t.shown} has no lines yet")
            value = parse_json(line, what)
        return Chunk(t.run, [value], [lines + 1])
