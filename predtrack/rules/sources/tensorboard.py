"""TensorBoard runs as records: every scalar of every event file, never subsampled, CRC-checked.

TensorBoard's own `EventFileLoader` is not used to read: it stops silently at a record
whose CRC is wrong (it treats it as a truncated tail still being written), so a corrupt
file would resolve from the part before the damage; and its pure-Python CRC makes a
1,000,000-scalar file take over 30 s. Here the TFRecord framing (length, masked CRC-32C of
the length, data, masked CRC-32C of the data) is checked with google-crc32c and each
record is parsed by TensorBoard's own protobuf schema (`tensorboard.compat.proto`), both
from the `tensorboard` extra. Scalars are `simple_value`s and one-element numeric
tensors (TF2's `tf.summary.scalar`, tensorboardX's new-style scalars).
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, overload

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Point, Run, StoreSource

EXTRA_HINT = "reading TensorBoard event files needs the extra: pip install 'predtrack[tensorboard]'"
CHUNK = 8 * 1024 * 1024
_MASK_DELTA = 0xA282EAD8
_HEAD = struct.Struct("<QI")
_U32 = struct.Struct("<I")
# TensorProto dtype numbers of numeric scalars -> struct format of tensor_content.
_DTYPES = {1: "<f", 2: "<d", 3: "<i", 4: "<B", 5: "<h", 6: "<b", 9: "<q", 10: "<?", 19: "<e"}


def _libs() -> tuple[Any, Any]:
    try:
        import google_crc32c
        from tensorboard.compat.proto import event_pb2
    except ImportError:
        raise RuleError(EXTRA_HINT) from None
    return google_crc32c.value, event_pb2.Event.FromString


def is_event_file(path: Path) -> bool:
    """True for a file whose name marks it as a TensorBoard event file."""
    return "tfevents" in path.name and path.is_file()


def event_files(root: Path) -> dict[str, list[Path]]:
    """Run name (folder relative to `root`, `.` for itself) -> its event files, in name order."""
    if root.is_file():
        return {".": [root]} if is_event_file(root) else {}
    runs: dict[str, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files = sorted(f for f in filenames if "tfevents" in f)
        if files:
            rel = Path(dirpath).relative_to(root).as_posix()
            runs[rel] = [Path(dirpath) / f for f in files]
    return runs


class Series(Sequence[Point]):
    """One tag's points in file order, kept compact (24 bytes a point, not a tuple each)."""

    __slots__ = ("steps", "times", "values")

    def __init__(self) -> None:
        self.steps, self.times, self.values = array("q"), array("d"), array("d")

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, i: int) -> Point: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Point]: ...
    def __getitem__(self, i: int | slice) -> Point | Sequence[Point]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Point(self.steps[i], self.times[i], self.values[i])

    def __iter__(self) -> Iterator[Point]:
        return map(Point, self.steps, self.times, self.values)

    def extend(self, other: Series) -> None:
        self.steps.extend(other.steps)
        self.times.extend(other.times)
        self.values.extend(other.values)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes | None: ...


def read_event_file(
    f: _Readable, name: str, tags: Iterable[str] | None = None
) -> dict[str, Series]:
    """Scalars of one open event file, tag -> Series.

    With `tags`, only records that can hold one of them are parsed (every record's CRC is
    still checked). A bad CRC, a truncated or undecodable record is a RuleError naming
    the file and the byte offset.
    """
    crc, parse = _libs()
    wanted = None if tags is None else set(tags)
    needles = None if wanted is None else [t.encode() for t in wanted]
    needle = needles[0] if needles is not None and len(needles) == 1 else None
    series: dict[str, Series] = {}
    buf, base, size = b"", 0, 0  # base: offset in buf of the first unread byte
    while True:
        chunk = f.read(CHUNK) or b""
        size += len(chunk)
        buf = buf[base:] + chunk if base else buf + chunk
        base = 0
        end, pos = len(buf), 0
        while pos + 12 <= end:
            at = pos
            length, head_crc = _HEAD.unpack_from(buf, pos)
            if _masked(crc(buf[pos : pos + 8])) != head_crc:
                raise RuleError(f"{name}: bad length CRC at byte {size - len(buf) + at}")
            stop = pos + 12 + length
            if stop + 4 > end:
                break
            body = buf[pos + 12 : stop]
            if _masked(crc(body)) != _U32.unpack_from(buf, stop)[0]:
                raise RuleError(f"{name}: bad data CRC at byte {size - len(buf) + at}")
            pos = stop + 4
            if needle is not None:
                if needle not in body:
                    continue
            elif needles is not None and not any(n in body for n in needles):
                continue
            try:
                event = parse(body)
            except Exception:  # protobuf's DecodeError and friends
                raise RuleError(
                    f"{name}: record at byte {size - len(buf) + at} is not a TensorBoard event"
                ) from None
            for v in event.summary.value:
                tag = v.tag
                if wanted is not None and tag not in wanted:
                    continue
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    x: float | None = v.simple_value
                elif kind == "tensor":
                    x = tensor_scalar(v.tensor)
                else:
                    continue
                if x is None:
                    continue
                got = series.get(tag)
                if got is None:
                    got = series[tag] = Series()
                got.steps.append(event.step)
                got.times.append(event.wall_time)
                got.values.append(x)
        base = pos
        if not chunk:
            if pos != end:
                raise RuleError(
                    f"{name}: truncated record at byte {size - len(buf) + pos} "
                    f"(the file ends inside it: still being written, or damaged)"
                )
            break
    return series


def _masked(c: int) -> int:
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def tensor_scalar(t: Any) -> float | None:
    """The value of a one-element numeric TensorProto, else None (histograms, text, images)."""
    n = 1
    for d in t.tensor_shape.dim:
        n *= d.size
    fmt = _DTYPES.get(t.dtype)
    if n != 1 or fmt is None:
        return None
    if t.tensor_content:
        if len(t.tensor_content) != struct.calcsize(fmt):
            return None
        return float(struct.unpack(fmt, t.tensor_content)[0])
    for vals in (t.float_val, t.double_val, t.int_val, t.int64_val, t.bool_val):
        if len(vals):
            return float(vals[0])
    if len(t.half_val):
        return float(struct.unpack("<e", struct.pack("<H", t.half_val[0]))[0])
    return None


class TensorboardSource(
    StoreSource,
    name="tensorboard",
    store="TensorBoard logs",
    holds="no TensorBoard event files (*tfevents*)",
):
    """A TensorBoard log folder (or one event file): each folder of event files is a run."""

    uses_names = True  # parses only the records holding the tags the rule names

    def units(self, path: Path) -> Sequence[tuple[str, list[Path]]]:
        return list(event_files(path).items())

    def record(self, unit: tuple[str, list[Path]]) -> Chunk:
        name, files = unit
        tags = sorted(n for n in self.target.names if n != "run")
        series: dict[str, Series] = {}
        for file in files:
            with self.reader.open(file) as f:
                for tag, s in read_event_file(f, self.place(file)[1], tags).items():
                    series.setdefault(tag, Series()).extend(s)
        record: dict[str, Any] = {}
        times: list[float] = []
        for tag, s in series.items():
            last = _latest(s)
            record[tag] = last.value
            times.append(float(last.time or 0.0))
        run = Run(
            name=name,
            where=f"run {name} in {self.target.shown}",
            fields={"run": name},
            series=series,
        )
        return Chunk.one(run, record, time=max(times, default=None))

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        if path.is_file() and not is_event_file(path):
            raise RuleSyntaxError(f"{path.name} is not a TensorBoard event file (*tfevents*)")
        if path.is_dir() and not event_files(path) and any(path.iterdir()):
            raise RuleSyntaxError(
                f"{path.name} is not a TensorBoard log folder: no event files (*tfevents*) in it"
            )


def _latest(s: Series) -> Point:
    """Highest step, then latest wall time (a restarted run logs a step again)."""
    steps, times = s.steps, s.times
    top = max(steps)
    best = i = steps.index(top)
    while True:
        try:
            i = steps.index(top, i + 1)
        except ValueError:
            return s[best]
        if times[i] >= times[best]:
            best = i
