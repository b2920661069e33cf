"""Resolution rules: parse `FILE#SELECTOR[ OP NUMBER]` and evaluate it on a result file.

`parse_rule` and `check_rule_for_kind` run on the `predtrack predict` hot path, so this
module imports only the standard library; numpy and scipy are imported inside the
logistic fit, the one place that needs them.

Conventions (see DESIGN §4):

- The rule is split at its first `#`: a file name cannot contain `#`, a selector can.
  Surrounding whitespace of the rule, the file and the selector is ignored.
- A trailing `OP NUMBER` (OP one of `> < >= <= == !=`, NUMBER a finite decimal) is always
  the comparison, so a JSON key ending in e.g. `>1` cannot be addressed as the last key.
- Counts `K/of/N` split at the LAST segment named `of` that has segments on both sides:
  the k pointer may pass through a key named "of", the n pointer may not.
- A file is hashed in the same single pass that reads it (JSON lines: hashed to the end,
  then the last line is read backwards from the hashed size), so sha256/size describe
  exactly the bytes the value came from; a file whose size or mtime changes while it is
  being read is refused rather than recorded with a hash of something else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import operator
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import GeneratorType
from typing import Any, Literal

from predtrack.errors import RuleError, RuleSyntaxError

__all__ = [
    "Column",
    "Comparison",
    "Counts",
    "Crossing",
    "Evaluation",
    "Filter",
    "Pointer",
    "Rule",
    "RulePending",
    "Selector",
    "check_rule_for_kind",
    "evaluate_rule",
    "parse_rule",
    "sha256_file",
]

JSON_MAX_BYTES = 256 * 1024 * 1024  # json.loads needs the whole text (and ~10x in objects)
CHUNK = 1024 * 1024
KINDS = ("binary", "fraction", "quantity", "categorical")
FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq,
    "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}  # fmt: skip
# ASCII digits only: str regexes and float() would also accept other scripts' digits.
_NUM = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUM_RE = re.compile(_NUM)
_CMP_RE = re.compile(r"(>=|<=|==|!=|>|<)\s*(" + _NUM + r")\s*\Z")
_BAD_CMP_RE = re.compile(r"\s[<>=!]")
_INDEX_RE = re.compile(r"0|[1-9][0-9]*")
_COLUMN_RE = re.compile(r"(?P<name>[^\[\]()]+?)\s*(?:\[(?P<filters>[^\[\]]*)\])?", re.S)
_CROSSING_RE = re.compile(r"crossing\s*\((?P<args>[^()]*)\)\s*(?:\[(?P<filters>[^\[\]]*)\])?", re.S)


# ---------------------------------------------------------------- rule objects


@dataclass(frozen=True)
class Pointer:
    """An RFC 6901 JSON pointer, kept as its unescaped reference tokens."""

    tokens: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in self.tokens)


@dataclass(frozen=True)
class Counts:
    """A fraction k/n read from two pointers, written `K/of/N`."""

    k: Pointer
    n: Pointer

    def __str__(self) -> str:
        return f"{self.k}/of{self.n}"


@dataclass(frozen=True)
class Filter:
    """A CSV row filter `column=value`."""

    column: str
    value: str

    def __str__(self) -> str:
        return f"{self.column}={self.value}"


@dataclass(frozen=True)
class Column:
    """One CSV/TSV cell: a column of the single row that matches all filters."""

    name: str
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        return self.name + _fmt_filters(self.filters)


@dataclass(frozen=True)
class Crossing:
    """The first x at which y crosses `level` in a CSV/TSV sweep."""

    x: str
    y: str
    level: float
    fit: Literal["linear", "logistic"] = "linear"
    filters: tuple[Filter, ...] = ()

    def __str__(self) -> str:
        fit = ", fit=logistic" if self.fit == "logistic" else ""
        args = f"x={self.x}, y={self.y}, level={_fmt(self.level)}{fit}"
        return f"crossing({args})" + _fmt_filters(self.filters)


@dataclass(frozen=True)
class Comparison:
    """A suffix `OP NUMBER` that turns a number into yes/no."""

    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.op} {_fmt(self.threshold)}"


Selector = Pointer | Counts | Column | Crossing


@dataclass(frozen=True)
class Rule:
    """A parsed rule; `str(rule)` is its canonical text, which parses back to an equal Rule."""

    file: str
    selector: Selector
    comparison: Comparison | None = None
    text: str = field(default="", compare=False)  # as the user wrote it

    @property
    def format(self) -> str:
        """The file format from the extension: json, jsonl, csv or tsv."""
        return FORMATS[os.path.splitext(self.file)[1].lower()]

    def __str__(self) -> str:
        cmp = f" {self.comparison}" if self.comparison else ""
        return f"{self.file}#{self.selector}{cmp}"


@dataclass(frozen=True)
class Evaluation:
    """The outcome a rule read from its artifact, and which bytes it was read from."""

    value: bool | float | str
    k: int | None
    n: int | None
    artifact: str
    sha256: str
    size: int
    mtime: datetime
    detail: str


class RulePending(Exception):
    """The rule's file does not exist yet: the question stays pending (not an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- parsing


class _Bad(Exception):
    """A syntax problem, re-raised by parse_rule with the rule shown."""


def parse_rule(text: str) -> Rule:
    """Parse `FILE#SELECTOR[ OP NUMBER]`; raise RuleSyntaxError naming the problem."""
    try:
        return _parse(text)
    except _Bad as e:
        raise RuleSyntaxError(f"invalid rule {_short(text, 200)}: {e}") from None


def _parse(text: str) -> Rule:
    if not isinstance(text, str):
        raise _Bad("a rule must be text")
    file, hash_mark, sel = text.strip().partition("#")
    file, sel = file.strip(), sel.strip()
    if not hash_mark:
        raise _Bad("missing '#' between the file and the selector (FILE#SELECTOR)")
    if not file:
        raise _Bad("empty file part before '#'")
    ext = os.path.splitext(file)[1].lower()
    if ext not in FORMATS:
        raise _Bad(f"unknown file type {ext or file!r} (expected one of: {', '.join(FORMATS)})")
    fmt = FORMATS[ext]
    comparison = None
    m = _CMP_RE.search(sel)
    if m:
        threshold = float(m.group(2))
        if not math.isfinite(threshold):
            raise _Bad(f"comparison number {m.group(2)} is not finite")
        comparison = Comparison(m.group(1), threshold)
        sel = sel[: m.start()].rstrip()
    if sel == "" or sel.startswith("/"):
        selector: Selector = _parse_pointer_or_counts(sel)
        if fmt not in ("json", "jsonl"):
            raise _Bad(
                f"a JSON pointer needs a .json/.jsonl file, not {file}; for CSV name a column"
            )
    else:
        selector = _parse_csv_selector(sel)
        if fmt not in ("csv", "tsv"):
            what = "crossing(...)" if isinstance(selector, Crossing) else "a column selector"
            raise _Bad(
                f"{what} works on CSV/TSV files only, not {file}; for JSON use a pointer '/...'"
            )
    return Rule(file, selector, comparison, text)


def _parse_pointer_or_counts(sel: str) -> Pointer | Counts:
    if _BAD_CMP_RE.search(sel):
        raise _Bad(_bad_cmp_message(sel))
    pointer = _parse_pointer(sel)
    toks = pointer.tokens
    # The last "of" with segments on both sides splits; a raw segment is "of" iff its
    # unescaped token is, since "of" contains no "~".
    for i in range(len(toks) - 2, 0, -1):
        if toks[i] == "of":
            return Counts(Pointer(toks[:i]), Pointer(toks[i + 1 :]))
    return pointer


def _parse_pointer(text: str) -> Pointer:
    if text == "":
        return Pointer(())
    if not text.startswith("/"):
        raise _Bad(f"JSON pointer {text!r} must start with '/'")
    tokens = []
    for raw in text[1:].split("/"):
        if re.search(r"~(?![01])", raw):
            raise _Bad(f"bad '~' escape in JSON pointer {text!r} (only ~0 and ~1 are allowed)")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return Pointer(tuple(tokens))


def _parse_csv_selector(sel: str) -> Column | Crossing:
    m = _CROSSING_RE.fullmatch(sel)
    if m:
        return _parse_crossing(m.group("args"), m.group("filters"))
    m = _COLUMN_RE.fullmatch(sel)
    if m:
        name = m.group("name").strip()
        if _BAD_CMP_RE.search(name):
            raise _Bad(_bad_cmp_message(name))
        return Column(name, _parse_filters(m.group("filters")))
    if not _balanced(sel):
        raise _Bad(f"unbalanced brackets in selector {sel!r}")
    tail = re.split(r"[\])]", sel)[-1].strip()
    if tail[:1] in ("<", ">", "=", "!"):
        raise _Bad(_bad_cmp_message(tail))
    if sel.startswith("crossing"):
        raise _Bad(
            "bad crossing selector: expected "
            "crossing(x=COLUMN, y=COLUMN, level=NUMBER[, fit=linear|logistic])[COL=VALUE, ...]"
        )
    raise _Bad(
        f"unknown selector form {sel!r}: expected a JSON pointer '/a/b', a column "
        "'name[col=value]', counts '/k/of/n' or 'crossing(x=..., y=..., level=...)'"
    )


def _parse_crossing(args: str, filters: str | None) -> Crossing:
    given: dict[str, str] = {}
    for item in args.split(","):
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not key or not value:
            raise _Bad(f"crossing argument {item.strip()!r} is not KEY=VALUE")
        if key not in ("x", "y", "level", "fit"):
            raise _Bad(f"unknown crossing argument {key!r} (expected x, y, level, fit)")
        if key in given:
            raise _Bad(f"crossing argument {key!r} given twice")
        given[key] = value
    missing = [k for k in ("x", "y", "level") if k not in given]
    if missing:
        raise _Bad(f"crossing(...) is missing {', '.join(missing)}")
    if not _NUM_RE.fullmatch(given["level"]) or not math.isfinite(float(given["level"])):
        raise _Bad(f"crossing level {given['level']!r} is not a finite number")
    fit = given.get("fit", "linear")
    if fit not in ("linear", "logistic"):
        raise _Bad(f"crossing fit {fit!r} is not 'linear' or 'logistic'")
    if given["x"] == given["y"]:
        raise _Bad("crossing x and y must be different columns")
    return Crossing(
        given["x"],
        given["y"],
        float(given["level"]),
        "logistic" if fit == "logistic" else "linear",
        _parse_filters(filters),
    )


def _parse_filters(text: str | None) -> tuple[Filter, ...]:
    if text is None:
        return ()
    out: list[Filter] = []
    for item in text.split(","):
        column, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not column or not value:
            raise _Bad(f"filter {item.strip()!r} is not COLUMN=VALUE")
        if value.startswith("="):
            raise _Bad(f"filter {item.strip()!r}: use a single '=' in filters")
        if any(f.column == column for f in out):
            raise _Bad(f"filter column {column!r} given twice")
        out.append(Filter(column, value))
    return tuple(out)


def _balanced(text: str) -> bool:
    stack: list[str] = []
    pairs = {"]": "[", ")": "("}
    for ch in text:
        if ch in "[(":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack


def _bad_cmp_message(text: str) -> str:
    return (
        f"invalid comparison in {text!r}: expected OP NUMBER at the end, "
        "with OP one of > < >= <= == != and a finite decimal NUMBER"
    )


# ---------------------------------------------------------------- kind check


def check_rule_for_kind(rule: Rule, kind: str, categories: Sequence[str] | None = None) -> None:
    """Raise RuleSyntaxError unless `rule` can resolve a question of this kind."""
    if kind not in KINDS:
        raise RuleSyntaxError(
            f"unknown question kind {kind!r} (expected one of: {', '.join(KINDS)})"
        )
    sel, cmp = rule.selector, rule.comparison
    why = None
    if cmp and kind != "binary":
        why = f"a comparison ({cmp}) gives yes/no, which only resolves binary questions"
    elif isinstance(sel, Counts) and not (kind == "fraction" or cmp):
        why = (
            "counts K/of/N give a fraction (fraction questions, or binary with a comparison); "
            "a pointer with a middle segment named 'of' is read as counts"
        )
    elif isinstance(sel, Crossing) and not (kind == "quantity" or cmp):
        why = "crossing(...) gives a number (quantity questions, or binary with a comparison)"
    if why:
        raise RuleSyntaxError(
            f"rule {_short(str(rule), 200)} cannot resolve a {kind} question: {why}"
        )


# ---------------------------------------------------------------- evaluation


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return (sha256 hex digest, size in bytes) of a file, read in 1 MiB chunks."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


@dataclass
class _Got:
    """A raw value found by a selector, before conversion to the question's kind."""

    value: Any
    where: str
    detail: str
    from_text: bool = False  # a CSV cell: a string to be parsed, not a JSON value
    k: int | None = None
    n: int | None = None


ReadCache = dict[tuple[Any, ...], tuple[Any, str, int, datetime]]
CACHE_MAX_BYTES = 32 * 1024 * 1024


def evaluate_rule(
    rule: Rule,
    base_dir: str | os.PathLike[str],
    kind: str,
    categories: Sequence[str] | None = None,
    bounds: tuple[float | None, float | None] | None = None,
    *,
    cache: ReadCache | None = None,
) -> Evaluation:
    """Read the rule's outcome from its file; RulePending if absent, RuleError if it fails.

    With a `cache` (one per resolve run), a file read once is not read again while its
    inode, size and modification time are unchanged: 10,000 questions on one results file
    parse it once.
    """
    check_rule_for_kind(rule, kind, categories)
    # resolve() pins the real file behind symlinks, so a later `verify` re-hashes what was read.
    try:
        path = (Path(base_dir) / rule.file).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise RuleError(f"cannot resolve the path of {rule.file}: {e}") from None
    key = _cache_key(rule, path) if cache is not None else None
    if cache is not None and key is not None and key in cache:
        content, sha, size, mtime = cache[key]
        got = _select(rule, content)
    else:
        src = _Source(rule, path)
        keep = cache is not None and key is not None and src.st.st_size <= CACHE_MAX_BYTES
        try:
            content = _content(rule, src)
            if keep and isinstance(content, GeneratorType):
                content = list(content)  # CSV rows, kept for the next question on this file
            got = _select(rule, content)
            sha, size, mtime = src.finish()
        finally:
            src.fh.close()
        if keep and cache is not None and key is not None:
            cache[key] = (content, sha, size, mtime)
    value, k, n = _convert(rule, got, kind, categories, bounds)
    return Evaluation(value, k, n, str(path), sha, size, mtime, got.detail)


def _cache_key(rule: Rule, path: Path) -> tuple[Any, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # The last line of a JSON-lines file and the whole document differ: key by format too.
    return (str(path), rule.format, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Source(io.RawIOBase):
    """An open result file whose bytes are hashed exactly as they are read."""

    def __init__(self, rule: Rule, path: Path) -> None:
        super().__init__()
        self.name_ = rule.file
        try:
            st = os.stat(path)
            if stat.S_ISDIR(st.st_mode):
                raise RuleError(f"{rule.file} is a directory, not a file ({path})")
            if not stat.S_ISREG(st.st_mode):
                raise RuleError(f"{rule.file} is not a regular file ({path})")
            if rule.format == "json" and st.st_size > JSON_MAX_BYTES:
                raise RuleError(
                    f"{rule.file} is {st.st_size / 1e6:.0f} MB; JSON is read whole, so files "
                    "over 256 MiB are refused: use JSON lines or CSV"
                )
            self.fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by evaluate_rule
        except FileNotFoundError:
            raise RulePending(f"{rule.file} does not exist yet ({path})") from None
        except PermissionError:
            raise RuleError(f"cannot read {rule.file}: permission denied ({path})") from None
        except OSError as e:
            raise RuleError(f"cannot read {rule.file}: {e.strerror or e} ({path})") from None
        self.st = os.fstat(self.fh.fileno())
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = self.fh.readinto(buf) or 0
        self.hash.update(memoryview(buf)[:n])
        self.size += n
        return n

    def read_chunk(self) -> bytes:
        data = self.fh.read(CHUNK) or b""
        self.hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read_chunk():
            pass

    def text(self) -> io.TextIOWrapper:
        # utf-8-sig drops a BOM; newline="" is what the csv module requires.
        return io.TextIOWrapper(io.BufferedReader(self, CHUNK), encoding="utf-8-sig", newline="")

    def finish(self) -> tuple[str, int, datetime]:
        self.drain()
        now = os.fstat(self.fh.fileno())
        if (now.st_size, now.st_mtime_ns) != (self.st.st_size, self.st.st_mtime_ns) or (
            self.size != now.st_size
        ):
            raise RuleError(
                f"{self.name_} changed while it was being read ({self.size} bytes read, "
                f"now {now.st_size}); resolve again once the run has finished writing it"
            )
        mtime = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=now.st_mtime_ns // 1000)
        return self.hash.hexdigest(), self.size, mtime


def _content(rule: Rule, src: _Source) -> Any:
    """What the selector reads: a JSON document, or an iterator of CSV/TSV rows."""
    if isinstance(rule.selector, Pointer | Counts):
        return _load_json(src) if rule.format == "json" else _last_json_line(src)
    return _rows(src, rule)


def _select(rule: Rule, content: Any) -> _Got:
    sel, file = rule.selector, rule.file
    if isinstance(sel, Pointer | Counts):
        doc = content
        where = "" if rule.format == "json" else f"the last line of {file}: "
        if isinstance(sel, Pointer):
            value, at = _walk(doc, sel, file), str(sel) or "the document root"
            return _Got(value, at, f"{where}{at} = {_short(value)}")
        k = _count(_walk(doc, sel.k, file), sel.k, file)
        n = _count(_walk(doc, sel.n, file), sel.n, file)
        if n == 0:
            raise RuleError(f"count n at {sel.n} is 0 in {file}; a fraction needs n > 0")
        if k > n:
            raise RuleError(f"count k={k} at {sel.k} exceeds n={n} at {sel.n} in {file}")
        return _Got(k / n, str(sel), f"{where}{sel.k} = {k} of {sel.n} = {n}", k=k, n=n)
    if isinstance(sel, Column):
        return _select_column(rule, sel, iter(content))
    return _select_crossing(rule, sel, iter(content))


def _load_json(src: _Source) -> Any:
    parts, total = [], 0
    while chunk := src.read_chunk():
        parts.append(chunk)
        total += len(chunk)
        if total > JSON_MAX_BYTES:  # the file grew after the size check
            raise RuleError(f"{src.name_} grew over 256 MiB while being read")
    return _parse_json(b"".join(parts), src.name_, src.name_)


def _parse_json(data: bytes, file: str, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise RuleError(f"{what} is not valid UTF-8 (byte offset {e.start}): {e.reason}") from None
    except json.JSONDecodeError as e:
        raise RuleError(
            f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except (ValueError, RecursionError) as e:  # e.g. an integer with over 4300 digits
        raise RuleError(f"{what} cannot be read as JSON: {e}") from None


def _last_json_line(src: _Source) -> Any:
    """Parse the last non-empty line, reading backwards so a long log is never loaded whole."""
    src.drain()  # hash everything first; the line is then read within the hashed bytes
    fd, pos, parts, total, found = src.fh.fileno(), src.size, [], 0, False
    while pos > 0:
        start = max(0, pos - 64 * 1024)
        chunk = os.pread(fd, pos - start, start)
        pos = start
        if not found:
            chunk = chunk.rstrip(b" \t\r\n")
            found = bool(chunk)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            parts.append(chunk[nl + 1 :])
            break
        parts.append(chunk)
        total += len(chunk)
        if total > JSON_MAX_BYTES:
            raise RuleError(f"the last line of {src.name_} is over 256 MiB")
    line = b"".join(reversed(parts)).strip()
    if not line:
        raise RuleError(f"{src.name_} has no lines yet")
    return _parse_json(line, src.name_, f"the last line of {src.name_}")


def _walk(doc: Any, ptr: Pointer, file: str) -> Any:
    cur = doc
    for i, tok in enumerate(ptr.tokens):
        at = str(Pointer(ptr.tokens[:i])) or "the document root"
        if isinstance(cur, dict):
            if tok not in cur:
                keys = ", ".join(_short(k, 30) for k in list(cur)[:10])
                more = ", ..." if len(cur) > 10 else ""
                raise RuleError(f"no key {tok!r} at {at} in {file} (keys there: {keys}{more})")
            cur = cur[tok]
        elif isinstance(cur, list):
            if tok == "-":
                raise RuleError(f"'-' at {at} in {file} names the element after the last one")
            if not _INDEX_RE.fullmatch(tok):
                raise RuleError(f"{tok!r} is not an array index at {at} in {file}")
            if len(tok) > 18 or int(tok) >= len(cur):
                raise RuleError(
                    f"index {tok} is out of range at {at} in {file} (array of {len(cur)})"
                )
            cur = cur[int(tok)]
        else:
            raise RuleError(f"cannot look up {tok!r} at {at} in {file}: it is {_short(cur)}")
    return cur


def _count(value: Any, ptr: Pointer, file: str) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and math.isfinite(value) and value >= 0 and float(value).is_integer():
        return int(value)
    raise RuleError(f"count at {ptr} is {_short(value)}, not a non-negative integer, in {file}")


def _rows(src: _Source, rule: Rule) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, stripped cells) of each non-blank CSV/TSV row, header first."""
    reader = csv.reader(src.text(), delimiter="\t" if rule.format == "tsv" else ",")
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                yield reader.line_num, cells
    except UnicodeDecodeError as e:
        raise RuleError(
            f"{rule.file} is not valid UTF-8 (after line {reader.line_num}): {e.reason}"
        ) from None
    except csv.Error as e:
        raise RuleError(f"{rule.file} line {reader.line_num}: {e}") from None


def _header(rows: Iterator[tuple[int, list[str]]], file: str) -> list[str]:
    first = next(rows, None)
    if first is None:
        raise RuleError(f"{file} is empty (no header row)")
    return first[1]


def _col(header: list[str], name: str, file: str) -> int:
    n = header.count(name)
    if n == 0:
        cols = ", ".join(header[:30]) + (", ..." if len(header) > 30 else "")
        raise RuleError(f"no column {name!r} in {file} (columns: {cols})")
    if n > 1:
        raise RuleError(f"column {name!r} appears {n} times in the header of {file}")
    return header.index(name)


def _number_or_none(text: str) -> float | None:
    return float(text) if _NUM_RE.fullmatch(text) else None


def _row_filter(
    header: list[str], filters: tuple[Filter, ...], file: str
) -> Callable[[list[str]], bool]:
    # A filter compares numerically when both sides are numbers (25 == 25.0), else exactly.
    tests = [(_col(header, f.column, file), f.value, _number_or_none(f.value)) for f in filters]

    def keep(row: list[str]) -> bool:
        for i, want, want_num in tests:
            cell = row[i] if i < len(row) else ""
            num = _number_or_none(cell) if want_num is not None else None
            if not (cell == want if num is None else num == want_num):
                return False
        return True

    return keep


def _cell(row: list[str], i: int, name: str, line: int, file: str) -> str:
    if i >= len(row):
        raise RuleError(
            f"{file} line {line} has {len(row)} fields; column {name!r} is field {i + 1}"
        )
    return row[i]


def _select_column(rule: Rule, sel: Column, rows: Iterator[tuple[int, list[str]]]) -> _Got:
    file = rule.file
    header = _header(rows, file)
    col, keep = _col(header, sel.name, file), _row_filter(header, sel.filters, file)
    count, lines, hit = 0, list[str](), None
    for line, row in rows:
        if keep(row):
            count += 1
            if len(lines) < 5:
                lines.append(str(line))
            hit = hit or (line, row)
    desc = ", ".join(map(str, sel.filters))
    if not sel.filters and count != 1:
        raise RuleError(
            f"{file} has {count} data rows; a column without a filter needs exactly one "
            f"(pick a row with {sel.name}[COLUMN=VALUE])"
        )
    if count == 0:
        raise RuleError(f"no row matches {desc} in {file}")
    if count > 1:
        more = ", ..." if count > 5 else ""
        raise RuleError(
            f"{count} rows match {desc} in {file} (lines {', '.join(lines)}{more}); "
            "exactly one must match"
        )
    assert hit is not None
    line, row = hit
    value = _cell(row, col, sel.name, line, file)
    return _Got(value, f"{sel.name} (line {line})", f"{sel} = {value!r} at line {line}", True)


def _select_crossing(rule: Rule, sel: Crossing, rows: Iterator[tuple[int, list[str]]]) -> _Got:
    file = rule.file
    header = _header(rows, file)
    xi, yi = _col(header, sel.x, file), _col(header, sel.y, file)
    keep = _row_filter(header, sel.filters, file)
    seen: dict[float, int] = {}  # two floats per row: a sweep, not a log
    points: list[tuple[float, float]] = []
    for line, row in rows:
        if not keep(row):
            continue
        x = _finite(
            _Got(_cell(row, xi, sel.x, line, file), f"{sel.x} (line {line})", "", True), file
        )
        y = _finite(
            _Got(_cell(row, yi, sel.y, line, file), f"{sel.y} (line {line})", "", True), file
        )
        if x in seen:
            raise RuleError(
                f"duplicate {sel.x}={_fmt(x)} at lines {seen[x]} and {line} in {file}; "
                "crossing needs one row per x (add a filter)"
            )
        seen[x] = line
        points.append((x, y))
    if len(points) < 2:
        raise RuleError(f"crossing needs at least 2 rows, {file} has {len(points)} that match")
    points.sort()
    if sel.fit == "logistic":
        value, detail = _logistic_crossing(points, sel, file)
    else:
        value, detail = _linear_crossing(points, sel, file)
    return _Got(value, str(sel), detail)


def _linear_crossing(pts: list[tuple[float, float]], sel: Crossing, file: str) -> tuple[float, str]:
    level = sel.level
    for i, (x, y) in enumerate(pts):
        if y == level:
            return x, f"{sel.y} equals {_fmt(level)} at {sel.x}={_fmt(x)}"
        if i + 1 < len(pts):
            x2, y2 = pts[i + 1]
            if (y < level < y2) or (y > level > y2):
                xc = x + (level - y) * (x2 - x) / (y2 - y)
                return xc, (
                    f"crossed {_fmt(level)} between {sel.x}={_fmt(x)} ({_fmt(y)}) "
                    f"and {_fmt(x2)} ({_fmt(y2)})"
                )
    ys = [y for _, y in pts]
    side = "above" if min(ys) > level else "below"
    raise RuleError(
        f"y never crosses {_fmt(level)}: {sel.y} stays {side} it (from {_fmt(min(ys))} to "
        f"{_fmt(max(ys))}) over {sel.x} {_fmt(pts[0][0])}..{_fmt(pts[-1][0])} in {file}"
    )


def _logistic_crossing(
    pts: list[tuple[float, float]], sel: Crossing, file: str
) -> tuple[float, str]:
    """Least-squares logistic fit; 2 parameters when y lies in [0,1], else 4 (free asymptotes)."""
    import numpy as np
    from scipy.optimize import least_squares
    from scipy.special import expit

    x, y = np.array(pts, dtype=float).T
    four = bool(y.min() < 0 or y.max() > 1)
    if len(x) < (5 if four else 3):
        raise RuleError(
            f"a logistic fit needs at least {5 if four else 3} rows, {file} has {len(x)}"
        )
    # Fit on standardised x so one set of starting points suits any scale of x.
    mu, sd = float(x.mean()), float(x.std())
    u = (x - mu) / sd
    lo0, hi0 = float(y.min()), float(y.max())

    def curve(p: Any) -> Any:
        core = expit(p[1] * (u - p[0]))
        return p[2] + (p[3] - p[2]) * core if four else core

    sign = 1.0 if float(np.cov(u, y)[0, 1]) >= 0 else -1.0
    best = None
    # Several starting midpoints: a noisy sweep has local minima near spurious dips.
    for m0 in np.quantile(u, [0.2, 0.35, 0.5, 0.65, 0.8]):
        for s0 in (1.0, 4.0):
            p0 = [m0, sign * s0, lo0, hi0] if four else [m0, sign * s0]
            try:
                res = least_squares(lambda p: curve(p) - y, p0)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                continue
            if (
                res.status > 0
                and np.all(np.isfinite(res.x))
                and (best is None or res.cost < best.cost)
            ):
                best = res
    if best is None:
        raise RuleError(f"the logistic fit of {sel.y} against {sel.x} failed in {file}")
    m, s = float(best.x[0]), float(best.x[1])
    lo, hi = (float(best.x[2]), float(best.x[3])) if four else (0.0, 1.0)
    if lo > hi:  # the same curve with the asymptotes named the right way round
        lo, hi, s = hi, lo, -s
    x0, slope = mu + m * sd, s / sd
    frac = (sel.level - lo) / (hi - lo) if hi != lo else math.nan
    fitted = f"midpoint x0={_fmt_g(x0)}, slope={_fmt_g(slope)}"
    if four:
        fitted += f", lower={_fmt_g(lo)}, upper={_fmt_g(hi)}"
    if not (0 < frac < 1) or slope == 0:
        raise RuleError(
            f"the fitted logistic curve ({fitted}) never reaches {_fmt(sel.level)} in {file}"
        )
    xc = x0 + math.log(frac / (1 - frac)) / slope
    if not (x[0] <= xc <= x[-1]):
        raise RuleError(
            f"the fitted logistic curve ({fitted}) crosses {_fmt(sel.level)} at "
            f"{sel.x}={_fmt_g(xc)}, outside the data range {_fmt(x[0])}..{_fmt(x[-1])} in {file}"
        )
    return xc, f"logistic fit to {len(x)} rows: {fitted}; crosses {_fmt(sel.level)} at {_fmt_g(xc)}"


# ---------------------------------------------------------------- conversion by kind


def _finite(got: _Got, file: str) -> float:
    """The value as a finite float, or a RuleError naming where it came from and what it is."""
    v = got.value
    if got.from_text:
        low = v.lower().lstrip("+-")
        if _NUM_RE.fullmatch(v) and math.isfinite(float(v)):
            return float(v)
        what = (
            "NaN" if low == "nan"
            else "infinite" if low in ("inf", "infinity") or _NUM_RE.fullmatch(v)
            else "empty" if v == ""
            else f"{_short(v)}, not a number"
        )  # fmt: skip
    elif isinstance(v, bool) or not isinstance(v, int | float):
        kind = {
            type(None): "",
            bool: "a boolean ",
            str: "a string ",
            dict: "an object ",
            list: "an array ",
        }
        what = f"{kind.get(type(v), '')}{_short(v)}, not a number"
    else:
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if math.isfinite(f):
            return f
        what = "NaN" if math.isnan(f) else "infinite"
    raise RuleError(f"value at {got.where} is {what} in {file}")


def _convert(
    rule: Rule,
    got: _Got,
    kind: str,
    categories: Sequence[str] | None,
    bounds: tuple[float | None, float | None] | None,
) -> tuple[bool | float | str, int | None, int | None]:
    file, v = rule.file, got.value
    if rule.comparison:
        num, cmp = _finite(got, file), rule.comparison
        result = _OPS[cmp.op](num, cmp.threshold)
        got.detail += f"; {_fmt(num)} {cmp} is {'true' if result else 'false'}"
        return result, None, None
    if kind == "binary":
        if got.from_text:
            low = v.lower()
            if low in ("true", "yes") or (_number_or_none(v) == 1):
                return True, None, None
            if low in ("false", "no") or (_number_or_none(v) == 0):
                return False, None, None
        elif isinstance(v, bool):
            return v, None, None
        elif isinstance(v, int | float) and v in (0, 1):
            return bool(v), None, None
        raise RuleError(
            f"value at {got.where} is {_short(v)}, not a yes/no (true/false, 0/1) in {file}"
        )
    if kind == "categorical":
        if not isinstance(v, str):
            raise RuleError(f"value at {got.where} is {_short(v)}, not a category name in {file}")
        if not categories:
            raise RuleError(f"the question declares no categories to match {v!r} against")
        if v not in categories:
            raise RuleError(
                f"unknown category {v!r} (expected one of: {', '.join(categories)}) "
                f"at {got.where} in {file}"
            )
        return v, None, None
    num = _finite(got, file)
    if kind == "fraction":
        if not 0 <= num <= 1:
            raise RuleError(f"value at {got.where} is {_fmt(num)}, outside [0, 1], in {file}")
        return num, got.k, got.n
    lo, hi = bounds or (None, None)
    if (lo is not None and num < lo) or (hi is not None and num > hi):
        shown = f"[{'-inf' if lo is None else _fmt(lo)}, {'inf' if hi is None else _fmt(hi)}]"
        raise RuleError(
            f"value {_fmt(num)} is outside the question's bounds {shown} ({got.where} in {file})"
        )
    return num, None, None


# ---------------------------------------------------------------- formatting


def _fmt(v: float) -> str:
    """A number as short as it round-trips: 25.0 -> '25', 0.1 -> '0.1'."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _fmt_g(v: float) -> str:
    return f"{v:.4g}"


def _fmt_filters(filters: tuple[Filter, ...]) -> str:
    return f"[{', '.join(map(str, filters))}]" if filters else ""


def _short(value: Any, limit: int = 60) -> str:
    """A JSON-ish rendering of a value, truncated for error messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_rule(
    rule: Rule, kind: str, categories: Sequence[str] | None = None, *, base_dir: Any = None
) -> None:
    """Raise RuleSyntaxError unless `rule` can resolve a question of this kind."""
    check_rule_for_kind(rule, kind, categories)
