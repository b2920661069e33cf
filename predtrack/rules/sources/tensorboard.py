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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Run, Series, StoreSource

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


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes | None: ...


def read_event_file(
    f: _Readable, name: str, tags: Iterable[str] | None = None
) -> dict[str, Series]:
    """Scalars of one open event file, tag -> Series (in file order).

    With `tags`, only records that can hold one of them are decoded (every record's CRC is
    still checked). A bad CRC, a truncated or undecodable record is a RuleError naming
    the file and the byte offset.
    """
    crc, parse = _libs()
    wanted = None if tags is None else set(tags)
    needles = None if wanted is None else [t.encode() for t in wanted]
    needle = needles[0] if needles is not None and len(needles) == 1 else None
    found = _Scalars(name, wanted, parse)
    # The loop runs once per record (millions): locals, and the CRC mask written out inline.
    head, u32, mask, delta = _HEAD.unpack_from, _U32.unpack_from, 0xFFFFFFFF, _MASK_DELTA
    buf, base, size = b"", 0, 0  # base: offset in buf of the first unread byte
    while True:
        chunk = f.read(CHUNK) or b""
        size += len(chunk)
        buf = buf[base:] + chunk if base else buf + chunk
        base = 0
        end, pos = len(buf), 0
        records = array("q")  # (offset of the body in buf, its length) of each record to decode
        keep = records.append
        while pos + 12 <= end:
            length, head_crc = head(buf, pos)
            c = crc(buf[pos : pos + 8])
            if ((((c >> 15) | (c << 17)) & mask) + delta) & mask != head_crc:
                raise RuleError(f"{name}: bad length CRC at byte {size - len(buf) + pos}")
            stop = pos + 12 + length
            if stop + 4 > end:
                break
            body = buf[pos + 12 : stop]
            c = crc(body)
            if ((((c >> 15) | (c << 17)) & mask) + delta) & mask != u32(buf, stop)[0]:
                raise RuleError(f"{name}: bad data CRC at byte {size - len(buf) + pos}")
            pos = stop + 4
            if needle is not None:
                if needle not in body:
                    continue
            elif needles is not None and not any(n in body for n in needles):
                continue
            keep(stop - length)
            keep(length)
        found.add(buf, records, size - len(buf))
        base = pos
        if not chunk:
            if pos != end:
                raise RuleError(
                    f"{name}: truncated record at byte {size - len(buf) + pos} "
                    f"(the file ends inside it: still being written, or damaged)"
                )
            break
    return found.series()


class _Scalars:
    """The scalars of one event file's records, gathered buffer by buffer.

    Walking a parsed Event's summary costs about 1.1 us a record in Python, 40% of reading
    a 1,000,000-scalar file, so records in the layout every writer gives a one-scalar
    event are read together with numpy: field 1 (wall_time, double), field 2 (step,
    varint; left out when 0), field 5 (summary) holding one value of field 1 (the tag)
    and field 2 (simple_value, float), in that order, each length under 128. Any record
    not byte for byte in that layout (other fields, tensors, several values) is parsed
    by protobuf, as is every record when no tag is named.
    """

    def __init__(self, name: str, wanted: set[str] | None, parse: Any) -> None:
        self.name, self.wanted, self.parse = name, wanted, parse
        # tag -> (file offsets, steps, wall times, values) arrays, one entry per batch
        self.parts: dict[str, list[tuple[Any, Any, Any, Any]]] = {}

    def add(self, buf: bytes, records: array[int], base: int) -> None:
        """Decode the records (body offset, length pairs in `buf`; `buf` starts at `base`)."""
        import numpy as np

        if not records:
            return
        pairs = np.frombuffer(records, np.int64).reshape(-1, 2)
        offsets, lengths = pairs[:, 0], pairs[:, 1]
        rest = np.ones(len(offsets), bool)
        data = np.frombuffer(buf, np.uint8)
        for tag in sorted(self.wanted or ()):
            self._layout(tag, data, offsets, lengths, rest, base)
        self._parsed(buf, offsets[rest], lengths[rest], base)

    def _layout(
        self, tag: str, data: Any, offsets: Any, lengths: Any, rest: Any, base: int
    ) -> None:
        import numpy as np

        raw = tag.encode()
        n = len(raw)
        if n + 9 >= 128:
            return
        tail = np.frombuffer(bytes([0x2A, n + 9, 0x0A, n + 7, 0x0A, n]) + raw + b"\x15", np.uint8)
        for size in np.unique(lengths[rest]).tolist():
            k = size - 21 - n  # bytes of the step's varint; -1: no step field (step 0)
            if k < -1 or k == 0 or k > 10:
                continue
            sel = np.flatnonzero(rest & (lengths == size))
            index = np.int32 if len(data) < 2**31 else np.int64  # half the memory of int64
            rows = data[offsets[sel, None].astype(index) + np.arange(size, dtype=index)]
            at = 9 if k < 0 else 10 + k
            ok = (rows[:, 0] == 0x09) & (rows[:, at : at + len(tail)] == tail).all(axis=1)
            steps = np.zeros(len(sel), np.uint64)
            if k > 0:
                ok &= rows[:, 9] == 0x10
                ok &= (rows[:, 10 : 9 + k] & 0x80 != 0).all(axis=1)
                ok &= rows[:, 9 + k] & 0x80 == 0
                if k == 10:  # the tenth byte of an int64 holds one bit
                    ok &= rows[:, 19] <= 1
                for i in range(k):
                    steps |= (rows[:, 10 + i] & 0x7F).astype(np.uint64) << np.uint64(7 * i)
            rows, good = rows[ok], sel[ok]
            if not len(good):
                continue
            rest[good] = False
            self.parts.setdefault(tag, []).append((
                base + offsets[good],
                steps[ok].view(np.int64),
                np.ascontiguousarray(rows[:, 1:9]).view("<f8").ravel(),
                np.ascontiguousarray(rows[:, size - 4 :]).view("<f4").ravel().astype(np.float64),
            ))  # fmt: skip

    def _parsed(self, buf: bytes, offsets: Any, lengths: Any, base: int) -> None:
        import numpy as np

        got: dict[str, tuple[list[int], list[int], list[float], list[float]]] = {}
        for off, length in zip(offsets.tolist(), lengths.tolist(), strict=True):
            try:
                event = self.parse(buf[off : off + length])
            except Exception:  # protobuf's DecodeError and friends
                raise RuleError(
                    f"{self.name}: record at byte {base + off - 12} is not a TensorBoard event"
                ) from None
            for v in event.summary.value:
                tag = v.tag
                if self.wanted is not None and tag not in self.wanted:
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
                at, steps, times, values = got.setdefault(tag, ([], [], [], []))
                at.append(base + off)
                steps.append(event.step)
                times.append(event.wall_time)
                values.append(x)
        for tag, (at, steps, times, values) in got.items():
            self.parts.setdefault(tag, []).append((
                np.array(at, np.int64),
                np.array(steps, np.int64),
                np.array(times, np.float64),
                np.array(values, np.float64),
            ))  # fmt: skip

    def series(self) -> dict[str, Series]:
        """Each tag's points in file order."""
        import numpy as np

        out: dict[str, Series] = {}
        for tag, parts in self.parts.items():
            at, steps, times, values = (
                np.concatenate(column) for column in zip(*parts, strict=True)
            )
            if len(parts) > 1 and (np.diff(at) < 0).any():
                order = np.argsort(at, kind="stable")
                steps, times, values = steps[order], times[order], values[order]
            s = out[tag] = Series()
            s.steps.frombytes(np.ascontiguousarray(steps, np.int64).data.cast("B"))
            s.times.frombytes(np.ascontiguousarray(times, np.float64).data.cast("B"))
            s.values.frombytes(np.ascontiguousarray(values, np.float64).data.cast("B"))
        return out


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
    store="TensorBoard log folder",
    holds="no TensorBoard event files (*tfevents*)",
):
    """A TensorBoard log folder (or one event file): each folder of event files is a run."""

    axes = ()
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
            last = s[s.last_index()]
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
    def files(cls, path: Path) -> list[Path]:
        return [f for files in event_files(path).values() for f in files]

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        if path.is_file() and not is_event_file(path):
            raise RuleSyntaxError(f"{path.name} is not a TensorBoard event file (*tfevents*)")
        if path.is_dir() and not event_files(path) and any(path.iterdir()):
            raise RuleSyntaxError(
                f"{path.name} is not a TensorBoard log folder: no event files (*tfevents*) in it"
            )
