"""Text tables, local times and JSON for the terminal; no heavy imports."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, ClassVar

from predtrack.store.types import iso_z
from predtrack.validate import display

# A progress callback of long work: (done, total), drawn as a bar on a terminal.
Progress = Callable[[int, int], None]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as plain data: results and lists of them turned into dicts, paths into text."""
    # The common types first: a failed hasattr costs an exception.
    if type(value) in _SCALARS:
        return value
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


class Result:
    """A service's result: `as_dict()` is what `--json` prints, its fields as plain data
    (`JSON` renames the fields whose published name differs)."""

    JSON: ClassVar[dict[str, str]] = {}

    def as_dict(self) -> dict[str, Any]:
        return {self.JSON.get(k, k): plain(v) for k, v in vars(self).items()}

    def json_dict(self) -> dict[str, Any]:
        """What `--json` prints; like `as_dict()`, but a long list may stay a lazy sequence."""
        return self.as_dict()


def local_time(value: datetime | None) -> str:
    """A stored UTC time shown in local time with its offset (DESIGN §8)."""
    if value is None:
        return ""
    return value.astimezone().isoformat(sep=" ", timespec="seconds")


def to_json(value: Any) -> str:
    """One JSON document: times as UTC `...Z`, non-finite numbers as strings ("inf")."""
    return "".join(json_chunks(value))


def json_chunks(value: Any, pad: str = "") -> Iterator[str]:
    """`to_json`'s text in pieces, a thousand items of a list each: a bulk write of a million
    predictions is printed without one string, or one list of dicts, holding them all.

    Dicts are walked key by key and list items are encoded whole, then indented to their
    depth, which gives exactly `json.dumps(value, indent=2)` (strings never hold a raw newline
    in JSON). A result is taken as its `json_dict()`, whose lists may be lazy sequences."""
    if hasattr(value, "json_dict"):
        value = value.json_dict()
    elif hasattr(value, "as_dict"):
        value = value.as_dict()
    inner = pad + "  "
    if isinstance(value, dict) and value:
        sep = "{\n"
        for key, item in value.items():
            yield f"{sep}{inner}{_json_key(key)}: "
            yield from json_chunks(item, inner)
            sep = ",\n"
        yield f"\n{pad}}}"
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value):
        # A thousand items per call of json's encoder: its set-up per call (and the reference
        # cycles its closures leave to the collector) made one call per item 1.2-1.6x as slow.
        sep = "[\n"
        items = iter(value)
        while batch := [plain(item) for item in islice(items, 1000)]:
            yield sep + pad + _encode(batch)[2:-2].replace("\n", "\n" + pad)
            sep = ",\n"
        yield f"\n{pad}]"
    else:
        yield _encode(value).replace("\n", "\n" + pad)


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return iso_z(obj)
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Sequence) and not isinstance(obj, str | bytes):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_STRICT = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False, default=_default)
_LAX = json.JSONEncoder(indent=2, ensure_ascii=False, default=lambda o: _finite(_default(o)))


def _encode(value: Any) -> str:
    try:
        return _STRICT.encode(value)
    except ValueError:  # a non-finite number: walk the value once to spell it as text
        return _LAX.encode(_finite(value))


def _json_key(key: Any) -> str:
    # json's own spelling of a key (a number or a boolean becomes a string)
    return _LAX.encode({key: 0})[4:-5]


def _finite(value: Any) -> Any:
    # Strict JSON has no Infinity/NaN; scripts get "inf"/"-inf" and null instead.
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _finite(value.item())
        except (TypeError, ValueError):
            return value
    return value


def fmt_number(value: Any, digits: int = 4) -> str:
    """A number for a table cell: `inf` for infinity, blank for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float):
            if math.isnan(value):
                return ""
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            return f"{value:.{digits}g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"
        return str(value)
    return str(value)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Sequence[int] = ()
) -> str:
    """An aligned plain-text table; numbers in the `right` columns are right-aligned."""
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else display(str(c).replace("\n", " ")) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def truncate(text: str | None, width: int) -> str:
    """Shorten text to `width` characters with an ellipsis."""
    if not text:
        return ""
    text = " ".join(display(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def write_lines(lines: Iterable[str], output: Any = None) -> None:
    """Write lines to stdout, or to a file with `write_file` (`-o`)."""
    import sys

    if output is None or str(output) == "-":
        write = sys.stdout.write
        for line in lines:
            write(line + "\n")
        sys.stdout.flush()
        return
    write_file(output, (line + "\n" for line in lines))


def write_file(output: Any, chunks: Iterable[str | bytes], *, option: str = "-o") -> None:
    """Write a file whole or not at all: into a temporary file beside it, renamed into place,
    so a failure (a full disk, a size limit) leaves nothing behind and the old file intact. An
    existing device or FIFO (`/dev/stdout`) is written in place, never replaced. Failures are
    one InputError naming the option."""
    import os
    import stat
    import tempfile
    from pathlib import Path

    from predtrack.errors import InputError

    path = Path(output)
    shown = f"{option} {str(path)!r}"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{shown}: the folder {str(folder)!r} does not exist")
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(f"{shown} is a directory; give a file name")
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with path.open("wb") as stream:
                _write_chunks(stream, chunks)
            return
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise InputError(f"{shown}: cannot write there ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            _write_chunks(stream, chunks)
            stream.flush()
            os.fsync(stream.fileno())
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"{shown}: cannot write there ({error.strerror or error})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_chunks(stream: Any, chunks: Iterable[str | bytes]) -> None:
    for chunk in chunks:
        stream.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)


def shown_path(path: Any) -> str:
    """A path for people: relative to the current folder when it lies inside it."""
    from pathlib import Path

    text = str(path)
    if "://" in text:
        return text
    try:
        relative = Path(text).absolute().relative_to(Path.cwd())
    except ValueError:
        return text
    return relative.as_posix() or "."
