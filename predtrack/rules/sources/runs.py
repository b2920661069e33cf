"""Which files a rule reads, and the runs their records belong to: one file, a glob, or a store.

Globs: `*` and `?` match within one path segment, `**` any number of folders (symlinked
folders are not followed by `**`, so a link loop cannot make a glob endless). Wildcards
do not match names starting with `.`. Brackets are literal. Matches are read in natural
path order (`run2` before `run10`).

Run fields: a file inside a Hydra job folder - the nearest folder, between the file and
the glob's root, holding `.hydra/overrides.yaml` - carries that job's overrides as fields
(`m=32` gives `m`; `model.lr=0.1` gives `model.lr`; `+`/`++` prefixes dropped, `~key`
deletions ignored), plus `run`: the job folder relative to the glob's root (`.` for the
root itself), or the file's own folder when it is in no job folder. Default Hydra paths
(`multirun/DATE/TIME/N/`) work: `multirun/*/*/*/metrics.json`. Every overrides file
consulted is part of the evidence.

Missing runs: a job folder that the glob's folders match but that holds no matching data
file is reported by name (a crashed or unfinished job).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules.base import Chunk, Evidence, OutsideFolder, RulePending, Run, Source, Target
from predtrack.rules.base import natural_key as _natural
from predtrack.rules.files import Reader
from predtrack.rules.grammar import NUM_RE

OVERRIDES = Path(".hydra") / "overrides.yaml"
CACHE_ENTRY_BYTES = 32 * 1024 * 1024  # files (or globs) larger than this are not kept
CACHE_TOTAL_BYTES = 256 * 1024 * 1024
_WILD = re.compile(r"[*?]")
_INT = re.compile(r"[+-]?[0-9]{1,18}")


def typed(value: str) -> Any:
    """An override's value as Hydra reads it: an int, a float, a boolean, null, or text."""
    if _INT.fullmatch(value):
        return int(value)
    if NUM_RE.fullmatch(value):
        return float(value)
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    return None if low == "null" else value


def parse_overrides(text: str, what: str) -> dict[str, Any]:
    """The `key=value` items of a Hydra overrides.yaml (a YAML list of strings), typed."""
    text = text.lstrip("\ufeff")
    if text.strip() in ("", "[]"):
        return {}
    items: list[list[str]] = []
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if line.startswith("- ") or line == "-":
            items.append([line[2:]])
        elif items and (line.startswith((" ", "\t")) or not line.strip()):
            items[-1].append(line.strip())
        elif line.strip() and not line.lstrip().startswith("#"):
            raise RuleError(f"{what} line {n} is not an item of a YAML list of overrides")
    out: dict[str, Any] = {}
    for parts in items:
        while parts and parts[-1] == "":
            parts.pop()
        item = _fold(parts, what)
        key, eq, value = item.partition("=")
        key = key.strip()
        if key.startswith("~"):
            continue
        key = key.lstrip("+")
        if not eq or not key:
            raise RuleError(f"{what}: override {item!r} is not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            out[key] = value[1:-1]  # quoted: text
        else:
            out[key] = typed(value)
    return out


def _fold(parts: list[str], what: str) -> str:
    """One YAML scalar from its lines: line breaks fold to spaces, empty lines to newlines."""
    text = parts[0].strip()
    for p in parts[1:]:
        text += "\n" if p == "" else ("" if text.endswith("\n") else " ") + p
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise RuleError(f"{what}: unterminated quoted override {text[:40]!r}")
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        try:
            return str(json.loads(text.replace("\\\n", "")))
        except ValueError:
            raise RuleError(f"{what}: cannot read the quoted override {text[:40]!r}") from None
    hash_at = text.find(" #")
    return (text[:hash_at] if hash_at >= 0 else text).strip()


def _pattern(part: str) -> re.Pattern[str]:
    return re.compile("".join(
        "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in part
    ), re.S)  # fmt: skip


def _scandir(folder: Path, shown: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        return []
    except PermissionError:
        raise RuleError(f"cannot list {shown}: permission denied ({folder})") from None
    except OSError as e:
        raise RuleError(f"cannot list {shown}: {e.strerror or e} ({folder})") from None


def expand(root: Path, parts: list[str], *, files: bool, shown: str) -> list[Path]:
    """Paths under `root` matching the pattern segments `parts` (files or folders)."""
    found: list[Path] = []

    def walk(folder: Path, i: int) -> None:
        if i == len(parts):
            found.append(folder)
            return
        part, last = parts[i], i == len(parts) - 1
        if part == "**":
            walk(folder, i + 1)
            for e in _scandir(folder, shown):
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                    walk(Path(e.path), i)
            return
        if not _WILD.search(part):
            child = folder / part
            if last:
                try:
                    mode = os.lstat(child).st_mode
                except (OSError, ValueError):
                    return
                is_dir = stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and child.is_dir())
                if is_dir != files:
                    found.append(child)
            elif child.is_dir():
                walk(child, i + 1)
            return
        rx = _pattern(part)
        for e in _scandir(folder, shown):
            if (e.name.startswith(".") and not part.startswith(".")) or not rx.fullmatch(e.name):
                continue
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if last and is_dir != files:
                found.append(Path(e.path))
            elif not last and is_dir:
                walk(Path(e.path), i + 1)

    walk(root, 0)
    return found


class Records:
    """The records a rule reads, with their evidence, from the cache when it has them."""

    def __init__(
        self,
        cls: type[Source],
        file: str,
        reader: Reader,
        names: frozenset[str],
        cache: MutableMapping[Any, Any] | None,
    ) -> None:
        self.cls, self.file, self.reader, self.names, self.cache = cls, file, reader, names, cache
        if "\x00" in file:
            raise RuleError(f"the file name {file!r} holds a NUL byte")
        self.glob = bool(_WILD.search(file))
        path = reader.joined(file)
        parts = list(Path(os.path.normpath(path)).parts) if self.glob else []
        split = next((i for i, p in enumerate(parts) if _WILD.search(p)), len(parts))
        self.root = Path(*parts[:split]) if self.glob else path
        self.parts = parts[split:]
        if not reader.allow_outside and not reader.inside(self.root):
            raise OutsideFolder(
                f"{file} lies outside the folder the rule was registered from ({reader.base}); "
                "resolve with --allow-outside to read it"
            )
        self.files = 0  # data files read
        self._jobs: dict[Path, Path | None] = {}
        self._fields: dict[Path, dict[str, Any]] = {}

    @property
    def artifact(self) -> str:
        """The one file read, or the glob's (or store's) root, absolute with symlinks resolved."""
        ev = self.reader.evidence()
        if len(ev) == 1:
            return ev[0].path
        try:
            return str(self.root.resolve())
        except (OSError, RuntimeError):
            return str(self.root)

    def shown(self, path: Path) -> str:
        return self.reader.shown(path)

    # ---------------------------------------------------------------- chunks

    def chunks(self) -> Iterator[Chunk]:
        """Every record, streamed: one file, each match of a glob, or a store's runs."""
        if not self.glob:
            yield from self._file_chunks(self.root, self.file, self._run(self.root, self.file))
            return
        key = ("glob", str(self.reader.base), self.file, self.cls.name, self._names_key())
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            chunks, evidence, digest, self.files = cached
            self.reader.record_all(evidence, digest)
            yield from chunks
            return
        kept: list[Chunk] | None = [] if self.cache is not None else None
        paths = expand(self.root, self.parts, files=True, shown=self.file)
        if not paths:
            raise RulePending(f"no file matches {self.file} yet", (self.file,))
        paths.sort(key=lambda p: _natural(self.shown(p)))
        size = 0
        for path in paths:
            shown = self.shown(path)
            run = self._run(path, shown)
            for chunk in self._source(path, shown, run).chunks():
                if kept is not None:
                    kept.append(chunk)
                yield chunk
            self.files += 1
            size += os.stat(path).st_size if kept is not None else 0
            if kept is not None and size > CACHE_ENTRY_BYTES:
                kept = None
        if kept is not None:
            self._keep(key, (kept, self.reader.evidence(), self.reader.digest(), self.files), size)

    def last(self) -> Chunk:
        """The last record of the single file (sources that read it alone)."""
        real, st = self.reader.locate(self.root, self.file)
        key = self._file_key("last", real, st)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            chunk, ev = cached
            self.reader.record(ev, self.file, None)  # matched its stat just now; nothing read
            self.files = 1
            return chunk
        chunk = self._source(self.root, self.file, self._run(self.root, self.file)).last()
        self.files = 1
        ev = self.reader.evidence()[-1] if self.reader.evidence() else None
        if ev is not None and st.st_size <= CACHE_ENTRY_BYTES:
            self._keep(key, (chunk, ev), st.st_size)
        return chunk

    def _file_chunks(self, path: Path, shown: str, run: Run) -> Iterator[Chunk]:
        if self.cls.folder:
            yield from self._store_chunks(path, shown, run)
            return
        real, st = self.reader.locate(path, shown)
        key = self._file_key("all", real, st)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            chunks, ev = cached
            self.reader.record(ev, shown, None)  # matched its stat just now; nothing read
            self.files = 1
            yield from chunks
            return
        source = self._source(path, shown, run)
        if self.cache is None or st.st_size > CACHE_ENTRY_BYTES:
            yield from source.chunks()
        else:
            chunks = list(source.chunks())
            yield from chunks
            ev = next((e for e in self.reader.evidence() if e.path == str(real)), None)
            if ev is not None:
                self._keep(key, (chunks, ev), st.st_size)
        self.files = 1

    def _store_chunks(self, path: Path, shown: str, run: Run) -> Iterator[Chunk]:
        """A tracker store's records; listed and read once per cache, like a glob."""
        if not self.reader.allow_outside and not self.reader.inside(path):
            raise OutsideFolder(
                f"{shown} lies outside the folder the rule was registered from "
                f"({self.reader.base}); resolve with --allow-outside to read it"
            )
        key = ("store", os.path.abspath(path), self.cls.name, self._names_key())
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            chunks, evidence, digest = cached
            self.reader.record_all(evidence, digest)
            yield from chunks
            return
        source = self._source(path, shown, run)
        if self.cache is None:
            yield from source.chunks()
            return
        listed = list(source.chunks())
        yield from listed
        evidence = self.reader.evidence()
        size = sum(e.size for e in evidence)
        if size <= CACHE_ENTRY_BYTES:
            self._keep(key, (listed, evidence, self.reader.digest()), size)

    def _source(self, path: Path, shown: str, run: Run) -> Source:
        return self.cls(Target(path, shown, run, self.names), self.reader)

    def _names_key(self) -> frozenset[str]:
        return self.names if self.cls.uses_names else frozenset()

    def _file_key(self, mode: str, real: Path, st: os.stat_result) -> tuple[Any, ...]:
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        return ("file", str(real), self.cls.name, mode, self._names_key(), *sig)

    def _keep(self, key: tuple[Any, ...], value: Any, size: int) -> None:
        if self.cache is None:
            return
        total = self.cache.get(("bytes",), 0)
        if total + size <= CACHE_TOTAL_BYTES:
            self.cache[key] = value
            self.cache[("bytes",)] = total + size

    # ---------------------------------------------------------------- runs

    def _run(self, path: Path, shown: str) -> Run:
        if not self.glob:
            return Run(name=".", where=shown)
        job = self._job_folder(path.parent)
        folder = job if job is not None else path.parent
        name = os.path.relpath(folder, self.root).replace(os.sep, "/")
        fields: dict[str, Any] = dict(self._overrides(job)) if job is not None else {}
        fields["run"] = name
        return Run(name=name, where=shown, fields=fields, order=_natural(shown))

    def _job_folder(self, folder: Path) -> Path | None:
        """The nearest folder from `folder` up to the glob's root holding Hydra overrides."""
        seen: list[Path] = []
        found: Path | None = None
        d = folder
        while True:
            if d in self._jobs:
                found = self._jobs[d]
                break
            seen.append(d)
            if (d / OVERRIDES).is_file():
                found = d
                break
            if d == self.root or self.root not in d.parents:
                break
            d = d.parent
        for s in seen:
            self._jobs[s] = found
        return found

    def _overrides(self, job: Path) -> dict[str, Any]:
        if job not in self._fields:
            path = job / OVERRIDES
            shown = self.shown(path)
            text = self.reader.read_bytes(path, shown, limit=1024 * 1024)
            try:
                decoded = text.decode("utf-8")
            except UnicodeDecodeError:
                raise RuleError(f"{shown} is not valid UTF-8") from None
            self._fields[job] = parse_overrides(decoded, shown)
        return self._fields[job]

    def missing_folders(self) -> list[tuple[str, dict[str, Any]]]:
        """Hydra job folders the glob reaches that hold no matching data file yet."""
        if not self.glob or self.cls.folder:
            return []
        folder_parts = self.parts[:-1]
        while folder_parts and not _WILD.search(folder_parts[-1]):
            folder_parts = folder_parts[:-1]
        have = {self._job_folder(p.parent) for p in expand(
            self.root, self.parts, files=True, shown=self.file
        )}  # fmt: skip
        out = []
        for folder in expand(self.root, folder_parts, files=False, shown=self.file):
            if folder in have or not (folder / OVERRIDES).is_file():
                continue
            name = os.path.relpath(folder, self.root).replace(os.sep, "/")
            out.append((self.shown(folder) if name != "." else self.file, self._overrides(folder)))
        out.sort(key=lambda item: _natural(item[0]))
        return out


def evidence_of(records: Records) -> tuple[Evidence, ...]:
    return records.reader.evidence()
