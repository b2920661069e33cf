"""Reading the files a rule names: every byte hashed as it is read, with the checks that keep reads safe.

- A file is opened only after `stat` says it is a regular file, and opened non-blocking,
  so a FIFO, a device or a directory fails its question with the reason instead of hanging.
- A path outside the folder the rule was registered from (absolute, `..`, or a symlink
  leading out) raises `OutsideFolder` unless the reader was made with `allow_outside`.
- Each file is hashed in the same pass that reads it; the rest of a partly read file is
  hashed when it is closed, so sha256 and size always describe the whole file. At the end
  of an evaluation `check_unchanged` re-stats every file read: one that changed while the
  rule was being evaluated is refused rather than recorded with a hash of something else.
- Text is read in bounded lines (`line_batches`): a line longer than the limit is an error
  for that question, never a reason to hold the whole file in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from predtrack.errors import InputError, PredtrackError, RuleError
from predtrack.rules.base import (
    Evidence,
    OutsideFolder,
    RulePending,
    StoreSource,
    schemes,
    source_class,
    source_name,
)

CHUNK = 1024 * 1024
JSON_MAX_BYTES = 256 * 1024 * 1024  # json.loads needs the whole text (and ~10x in objects)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")
_UNIVERSAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return (sha256 hex digest, size in bytes) of a file, read in 1 MiB chunks."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def manifest_digest(evidence: Sequence[Evidence]) -> str:
    """sha256 hex of the canonical manifest: JSON `[{"path", "sha256", "size"}]` sorted by path,
    keys sorted, no spaces, UTF-8."""
    manifest = [e.as_dict() for e in sorted(evidence, key=lambda e: e.path)]
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))


class ReadFile(io.RawIOBase):
    """An open regular file whose bytes are hashed exactly as they are read.

    Use it as a context manager: on a clean exit the rest of the file is hashed and its
    evidence recorded with the reader.
    """

    def __init__(self, reader: Reader, real: Path, shown: str, before: os.stat_result) -> None:
        super().__init__()
        self.reader, self.real, self.shown = reader, real, shown
        self.fh = open(real, "rb", buffering=0, opener=_nonblocking)  # noqa: SIM115
        self.st = os.fstat(self.fh.fileno())
        if not stat.S_ISREG(self.st.st_mode) or (self.st.st_dev, self.st.st_ino) != (
            before.st_dev,
            before.st_ino,
        ):
            self.fh.close()
            raise RuleError(f"{shown} was replaced while it was being opened ({real})")
        self.hash = hashlib.sha256()
        self.size = 0
        self.evidence: Evidence | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = self.fh.readinto(buf) or 0
        self.hash.update(memoryview(buf)[:n])
        self.size += n
        return n

    def read_chunk(self, size: int = CHUNK) -> bytes:
        data = self.fh.read(size) or b""
        self.hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read_chunk():
            pass

    def pread(self, size: int, offset: int) -> bytes:
        """Bytes already hashed, read again without moving (the last line of a log)."""
        return os.pread(self.fh.fileno(), size, offset)

    def finish(self) -> Evidence:
        """Hash the rest, check the file did not change while read, and record its evidence."""
        if self.evidence is not None:
            return self.evidence
        self.drain()
        now = os.fstat(self.fh.fileno())
        if (now.st_size, now.st_mtime_ns) != (self.st.st_size, self.st.st_mtime_ns) or (
            self.size != now.st_size
        ):
            raise RuleError(
                f"{self.shown} changed while it was being read ({self.size} bytes read, "
                f"now {now.st_size}); resolve again once the run has finished writing it"
            )
        self.evidence = Evidence(str(self.real), self.hash.hexdigest(), self.size, utc_from_ns(
            now.st_mtime_ns
        ))  # fmt: skip
        self.reader.record(self.evidence, self.shown, now)
        return self.evidence

    def close(self) -> None:
        self.fh.close()
        super().close()

    def __enter__(self) -> ReadFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                self.finish()
        finally:
            self.close()


class Reader:
    """Opens the files of one evaluation, keeps their evidence, and checks where they lie."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        *,
        allow_outside: bool = False,
        memo: MutableMapping[Any, Any] | None = None,
    ) -> None:
        # `memo` (one resolve run's cache) keeps resolved paths: many rules share a file
        self._memo = memo
        key = ("base", os.fspath(base_dir))
        known: tuple[Path, Path] | None = memo.get(key) if memo is not None else None
        if known is None:
            base = Path(os.path.abspath(base_dir))
            try:
                known = (base, Path(self._real(base, pathlib=True)))
            except (OSError, RuntimeError):
                known = (base, base)
            if memo is not None:
                memo[key] = known
        self.base, self.base_real = known
        self.allow_outside = allow_outside
        self._evidence: dict[str, Evidence] = {}
        self._sorted: tuple[tuple[Evidence, ...], str] | None = None  # (evidence, digest)
        self._stats: dict[str, tuple[str, tuple[int, int, int, int]]] = {}

    # ---------------------------------------------------------------- where a file lies

    def _kept(self, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
        """`make()`, kept in the memo under `key` (a resolve asks the same of a file once
        per rule that reads it); an exception is not kept."""
        if self._memo is None:
            return make()
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = make()
        return hit

    def _real(self, path: Path, *, pathlib: bool = False) -> str:
        """os.path.realpath (or Path.resolve, which raises on a loop), kept in the memo."""
        return self._kept(
            ("real", pathlib, str(path)),
            lambda: str(path.resolve()) if pathlib else os.path.realpath(path),
        )

    def joined(self, file: str) -> Path:
        """The rule's folder joined with a path as written in a rule (kept in the memo)."""
        return self._kept(("joined", str(self.base), file), lambda: self.base / file)

    def _real_path(self, path: Path) -> Path:
        """`_real` as a Path, kept in the memo (Path objects are immutable: shared safely)."""
        return self._kept(("real path", str(path)), lambda: Path(self._real(path)))

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to the rule's folder when inside it."""
        try:
            return Path(os.path.normpath(path)).relative_to(self.base).as_posix()
        except ValueError:
            return str(path)

    def inside(self, path: Path) -> bool:
        """Whether `path` lies in the rule's folder, as written and with symlinks resolved
        (kept in the memo, like the real paths it follows from)."""
        return self._kept(("inside", str(self.base), str(path)), lambda: self._inside(path))

    def _inside(self, path: Path) -> bool:
        if not _under(os.path.normpath(path), str(self.base)):
            return False
        try:
            return _under(self._real(path), str(self.base_real))
        except (OSError, RuntimeError):
            return True  # a loop: opening it fails with the reason

    def direct(self, path: Path) -> bool:
        """Inside the folder and reached without a symlink: its structure may be quoted."""
        lexical = Path(os.path.normpath(path))
        try:
            rel = lexical.relative_to(self.base)
            return Path(self._real(path, pathlib=True)) == self.base_real / rel
        except (ValueError, OSError, RuntimeError):
            return False

    def locate(self, path: Path, shown: str) -> tuple[Path, os.stat_result]:
        """The real path and stat of a regular file, or the reason it cannot be read."""
        try:
            real = self._real_path(path)
            if not self.allow_outside and not self.inside(path):
                raise OutsideFolder(
                    f"{shown} lies outside the folder the rule was registered from "
                    f"({self.base}); resolve with --allow-outside to read it"
                )
            st = os.stat(real)
        except ValueError:
            raise RuleError(f"the file name {shown!r} holds a NUL byte") from None
        except RuntimeError as e:  # Python 3.11 reports a symlink loop this way
            raise RuleError(f"cannot resolve the path of {shown}: {e}") from None
        except OSError as e:
            raise _unreadable(e, shown, path) from None
        if stat.S_ISDIR(st.st_mode):
            raise RuleError(f"{shown} is a directory, not a file ({real})")
        if not stat.S_ISREG(st.st_mode):
            raise RuleError(f"{shown} is not a regular file ({real})")
        return real, st

    # ---------------------------------------------------------------- reading

    def open(self, path: str | os.PathLike[str], shown: str | None = None) -> ReadFile:
        """Open a regular file for hashed reading (use `with`)."""
        p = self._absolute(path)
        shown = shown or self.shown(p)
        real, st = self.locate(p, shown)
        return self.open_located(real, st, shown)

    def open_located(self, real: Path, st: os.stat_result, shown: str) -> ReadFile:
        try:
            return ReadFile(self, real, shown, st)
        except OSError as e:
            raise _unreadable(e, shown, real) from None

    def read_bytes(
        self, path: str | os.PathLike[str], shown: str | None = None, limit: int = JSON_MAX_BYTES
    ) -> bytes:
        """The whole content of a file (hashed), refusing files over `limit` bytes."""
        p = self._absolute(path)
        shown = shown or self.shown(p)
        real, st = self.locate(p, shown)
        if st.st_size > limit:
            raise RuleError(
                f"{shown} is {st.st_size / 1e6:.0f} MB, over the {limit >> 20} MiB limit"
            )
        with self.open_located(real, st, shown) as f:
            parts, total = [], 0
            while chunk := f.read_chunk():
                parts.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise RuleError(f"{shown} grew over {limit >> 20} MiB while being read")
        return b"".join(parts)

    def hash_file(self, path: str | os.PathLike[str], shown: str | None = None) -> Evidence:
        """Hash a file another library reads (an SQLite store) into the evidence."""
        with self.open(path, shown) as f:
            return f.finish()

    def _absolute(self, path: str | os.PathLike[str]) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base / p

    # ---------------------------------------------------------------- evidence

    def record(self, evidence: Evidence, shown: str, st: os.stat_result | None) -> None:
        """Add a file to the evidence; with `st`, it is re-checked by `check_unchanged`."""
        self._evidence[evidence.path] = evidence
        self._sorted = None
        if st is not None:
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            self._stats[evidence.path] = (shown, key)

    def record_all(self, evidence: tuple[Evidence, ...], digest: str) -> None:
        """Add files read earlier (a cached glob), sorted, with the digest of their manifest."""
        if self._evidence:
            for e in evidence:
                self.record(e, e.path, None)
            return
        self._evidence = {e.path: e for e in evidence}
        self._sorted = (evidence, digest)

    def evidence(self) -> tuple[Evidence, ...]:
        """Every file read, sorted by path."""
        if self._sorted is not None:
            return self._sorted[0]
        return tuple(self._evidence[p] for p in sorted(self._evidence))

    def digest(self) -> str:
        """sha256 hex of the evidence manifest (see evaluate.evidence_digest)."""
        if self._sorted is not None:
            return self._sorted[1]
        evidence = self.evidence()
        self._sorted = (evidence, manifest_digest(evidence))
        return self._sorted[1]

    def check_unchanged(self) -> None:
        """Refuse the evaluation if a file changed after it was read."""
        for path, (shown, key) in self._stats.items():
            try:
                st = os.stat(path)
                now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                now = (0, 0, -1, 0)
            if now != key:
                raise RuleError(
                    f"{shown} changed while it was being read ({key[2]} bytes read, "
                    f"now {max(now[2], 0)}); resolve again once the run has finished writing it"
                )
        self._stats.clear()


def scheme_of(location: str) -> str | None:
    """The tracker scheme a location starts with (`mlflow:mlruns` gives `mlflow`), or None."""
    scheme, sep, rest = location.partition(":")
    return scheme if sep and rest and scheme in schemes() else None


def files_of(location: str, base_dir: str | os.PathLike[str]) -> tuple[Evidence, ...]:
    """Every file a rule on the tracker store `SCHEME:PATH` may read, hashed (what `link` records).

    PATH is relative to `base_dir` (or absolute). Raises InputError naming the location when
    the store does not exist, is not that tracker's layout, holds no files, or cannot be read.
    """
    scheme = scheme_of(location)
    if scheme is None:
        raise InputError(
            f"{location} does not start with a tracker scheme ({', '.join(schemes())})"
        )
    cls = source_class(source_name("", scheme) or "")
    reader = Reader(base_dir, allow_outside=True)
    path = reader.base / location.partition(":")[2]
    if not path.exists():
        raise InputError(f"cannot link {location}: {path} does not exist")
    try:
        cls.check_layout(path, frozenset())
        found = cls.files(path) if issubclass(cls, StoreSource) else [path]
        evidence = tuple(reader.hash_file(f) for f in found)
    except (PredtrackError, RulePending, OSError) as e:
        raise InputError(f"cannot link {location}: {e}") from None
    if not evidence:
        raise InputError(f"cannot link {location}: it holds no files a {scheme} rule reads")
    return evidence


def _unreadable(e: OSError, shown: str, path: Path) -> Exception:
    """Why a file cannot be opened: not there yet (pending), or the reason it fails."""
    if isinstance(e, FileNotFoundError):
        return RulePending(f"{shown} does not exist yet ({path})", (shown,))
    if isinstance(e, PermissionError):
        return RuleError(f"cannot read {shown}: permission denied ({path})")
    return RuleError(f"cannot read {shown}: {e.strerror or e} ({path})")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def line_batches(
    f: ReadFile, what: str, *, max_line: int, universal: bool = False, size: int = CHUNK
) -> Iterator[tuple[int, list[str]]]:
    """Decoded lines in batches of about `size` bytes: (number of the first line, lines).

    JSON lines split at LF only, without it; `universal` splits at CRLF, CR or LF and keeps
    the line ends (what the csv module expects). A UTF-8 BOM at the start is dropped. A
    line over `max_line` bytes raises RuleError before more of it is held in memory.
    """
    carry, line_no, first = b"", 1, True
    while True:
        data = f.read_chunk(size)
        if not data:
            break
        buf = carry + data if carry else data
        if first:
            first = False
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
        cut = buf.rfind(b"\n")
        if cut < 0 and universal:
            cut = buf.rfind(b"\r", 0, len(buf) - 1)
        if cut < 0:
            carry = buf
            if len(carry) > max_line:
                raise RuleError(
                    f"{what} line {line_no} is over {max_line >> 20} MiB; lines that long "
                    "are refused so that memory stays bounded"
                )
            continue
        head, carry = buf[: cut + 1], buf[cut + 1 :]
        lines = _split(head, what, line_no, universal)
        yield line_no, lines
        line_no += len(lines)
    if carry:
        yield line_no, _split(carry, what, line_no, universal)


def _split(data: bytes, what: str, line_no: int, universal: bool) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        at = line_no + data.count(b"\n", 0, e.start)
        raise RuleError(f"{what} is not valid UTF-8 (line {at}): {e.reason}") from None
    if universal:
        lines = _UNIVERSAL_LINE.findall(text)
        tail = text[sum(map(len, lines)) :] if not text.endswith(("\n", "\r")) else ""
        if tail:
            lines.append(tail)
        return lines
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
