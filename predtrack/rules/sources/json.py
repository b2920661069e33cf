"""A `.json` file: one record, the whole document, addressed by JSON pointers.

A document is read whole (json needs all of it), so files over `files.JSON_MAX_BYTES` are
refused before they are opened. A key given twice in one object is refused, naming it:
readers disagree on which value wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules import files
from predtrack.rules.base import Chunk, Source


class DuplicateKey(ValueError):
    """A JSON object holds the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook that refuses a duplicate key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def parse_json(data: bytes | str, what: str) -> Any:
    """Parse one JSON text, refusing duplicate keys; RuleError naming `what` if it fails."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=strict_object)
    except UnicodeDecodeError as e:
        raise RuleError(f"{what} is not valid UTF-8 (byte offset {e.start}): {e.reason}") from None
    except DuplicateKey as e:
        raise RuleError(
            f"{what} holds the key {e.key!r} twice in one object; JSON readers disagree on "
            "which value wins, so the file is refused"
        ) from None
    except json.JSONDecodeError as e:
        raise RuleError(
            f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except (ValueError, RecursionError) as e:  # e.g. an integer with over 4300 digits
        raise RuleError(f"{what} cannot be read as JSON: {e}") from None


class JsonSource(Source):
    """A JSON document: one record."""

    name = "json"
    values = "pointer"
    one_record = True

    def chunks(self) -> Iterator[Chunk]:
        t, limit = self.target, files.JSON_MAX_BYTES
        real, st = self.reader.locate(t.path, t.shown)
        if st.st_size > limit:
            raise RuleError(
                f"{t.shown} is {st.st_size / 1e6:.0f} MB; JSON is read whole, so files over "
                f"{limit >> 20} MiB are refused: use JSON lines or CSV"
            )
        t.run.mtime = st.st_mtime_ns / 1e9
        with self.reader.open_located(real, st, t.shown) as f:
            parts, total = [], 0
            while chunk := f.read_chunk():
                parts.append(chunk)
                total += len(chunk)
                if total > limit:  # the file grew after the size check
                    raise RuleError(f"{t.shown} grew over {limit >> 20} MiB while being read")
        yield Chunk(t.run, [parse_json(b"".join(parts), t.shown)], [0])
