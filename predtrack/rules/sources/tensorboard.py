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

import hashlib
import os
import struct
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError

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


class Series:
    """One tag's points in file order, kept compact: 24 bytes a point."""

    __slots__ = ("steps", "times", "values")

    def __init__(self) -> None:
        self.steps, self.times, self.values = array("q"), array("d"), array("d")

    def __len__(self) -> int:
        return len(self.values)

    def points(self) -> list[tuple[int, float, float]]:
        """(step, wall time, value) of every point."""
        return list(zip(self.steps, self.times, self.values, strict=True))


def read_event_file(
    path: Path, tags: Iterable[str] | None = None, label: str | None = None
) -> tuple[dict[str, Series], str, int]:
    """Scalars of one event file, tag -> Series; and (sha256, size) of the bytes read.

    With `tags`, only records that can hold one of them are parsed (every record's CRC is
    still checked). A bad CRC, a truncated or undecodable record is a RuleError naming
    the file and the byte offset.
    """
    crc, parse = _libs()
    name = label or path.name
    wanted = None if tags is None else set(tags)
    needles = None if wanted is None else [t.encode() for t in wanted]
    needle = needles[0] if needles is not None and len(needles) == 1 else None
    series: dict[str, Series] = {}
    sha = hashlib.sha256()
    buf, base, size = b"", 0, 0  # base: file offset of buf[0]
    try:
        f = path.open("rb")
    except OSError as e:
        raise RuleError(f"cannot read {name}: {e.strerror or e}") from None
    with f:
        while True:
            chunk = f.read(CHUNK)
            sha.update(chunk)
            size += len(chunk)
            buf = buf[base:] + chunk if base else buf + chunk
            base = 0
            end, pos = len(buf), 0
            while pos + 12 <= end:
                length, head_crc = _HEAD.unpack_from(buf, pos)
                if _masked(crc(buf[pos : pos + 8])) != head_crc:
                    raise RuleError(f"{name}: bad length CRC at byte {size - len(buf) + pos}")
                stop = pos + 12 + length
                if stop + 4 > end:
                    break
                body = buf[pos + 12 : stop]
                if _masked(crc(body)) != _U32.unpack_from(buf, stop)[0]:
                    raise RuleError(f"{name}: bad data CRC at byte {size - len(buf) + pos}")
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
                        f"{name}: record at byte {size - len(buf) + pos} is not a TensorBoard event"
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
    return series, sha.hexdigest(), size


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
