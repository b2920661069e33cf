"""W&B runs as records: config, summary and history read from each run's `run-ID.wandb` file.

An offline run folder (`wandb/offline-run-DATE-ID/`) written by W&B 0.31 holds no
`files/wandb-summary.json` nor `files/config.yaml`: everything is in `run-ID.wandb`, the
transaction log W&B writes for offline and synced runs alike. The W&B client has no
Python reader for it any more (its reader lives in the Go `wandb-core` binary), so it is
read here with the standard library: W&B's LevelDB-style log (a 7-byte file header
`:W&B`, 32 KiB blocks, records framed by CRC-32 of type and data, length and type, split
across blocks as FIRST/MIDDLE/LAST) holding `wandb_internal.Record` protobuf messages, of
which only the fields below are decoded (field numbers from W&B's `wandb_internal.proto`).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Run, StoreSource, points

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_REC = struct.Struct("<IHB")
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}

# Record oneof fields, and the fields of the messages under them.
R_HISTORY, R_SUMMARY, R_CONFIG, R_RUN, R_EXIT = 2, 3, 5, 17, 18
ITEM_KEY, ITEM_NESTED, ITEM_JSON = 1, 2, 16
HIST_ITEM, HIST_STEP = 1, 2
UPDATE, REMOVE = 1, 2
RUN_ID, RUN_PROJECT, RUN_CONFIG, RUN_SUMMARY, RUN_NAME, RUN_START = 1, 3, 4, 5, 8, 17
EXIT_CODE = 1


def run_folders(root: Path) -> list[Path]:
    """The run folders under a `wandb/` folder (or `root` itself if it is one), in name order."""
    if list(root.glob("run-*.wandb")):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and list(p.glob("run-*.wandb")))


def read_run(folder: Path, read: Callable[[Path], bytes]) -> dict[str, Any]:
    """One run: fields (`run`, `config.*`, summary keys), history series, exit status, times."""
    files = sorted(folder.glob("run-*.wandb"))
    if len(files) != 1:
        raise RuleError(f"W&B run folder {folder.name} holds {len(files)} run-*.wandb files, not 1")
    path = files[0]
    data = read(path)
    run_id = path.stem[len("run-") :]
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    history: dict[str, list[tuple[int, float, float]]] = {}
    exit_code: int | None = None
    start: float | None = None
    name = None
    for rec in records(data, path.name):
        for field, _, value in fields(rec):
            if field == R_HISTORY:
                _history(value, history)
            elif field == R_SUMMARY:
                _apply(value, summary)
            elif field == R_CONFIG:
                _apply(value, config)
            elif field == R_RUN:
                for f, _, v in fields(value):
                    if f == RUN_ID:
                        run_id = v.decode("utf-8", "replace")
                    elif f == RUN_NAME:
                        name = v.decode("utf-8", "replace") or None
                    elif f == RUN_CONFIG:
                        _apply(v, config)
                    elif f == RUN_SUMMARY:
                        _apply(v, summary)
                    elif f == RUN_START:
                        secs = dict((ff, vv) for ff, _, vv in fields(v))
                        start = secs.get(1, 0) + secs.get(2, 0) / 1e9
            elif field == R_EXIT:
                exit_code = 0
                for f, _, v in fields(value):
                    if f == EXIT_CODE:
                        exit_code = _int32(v)
    out: dict[str, Any] = {"run": run_id}
    if name:
        out["name"] = name
    out.update(flatten(config, "config."))
    out.update(flatten(summary, ""))
    if exit_code is None:
        status, reason = "running", f"W&B run {run_id} has no exit record yet (running, or killed)"
    elif exit_code != 0:
        status, reason = "failed", f"W&B run {run_id} exited with code {exit_code}"
    else:
        status, reason = "finished", ""
    stamp = summary.get("_timestamp")
    return {
        "label": f"run {run_id}",
        "run": run_id,
        "fields": out,
        "series": history,
        "start": start,
        "summary_time": float(stamp) if isinstance(stamp, int | float) else start,
        "status": status,
        "reason": reason,
    }


def records(data: bytes, file: str) -> Iterator[bytes]:
    """The records of a W&B log, reassembled across blocks, each CRC-checked."""
    if not data.startswith(HEADER):
        raise RuleError(f"{file} is not a W&B run log (no :W&B header)")
    pos, end, parts = len(HEADER), len(data), []
    while pos < end:
        left = BLOCK - pos % BLOCK
        if left < _REC.size:
            pos += left  # block trailer: too short for a record header
            continue
        if pos + _REC.size > end:
            raise RuleError(f"{file}: truncated record header at byte {pos}")
        crc, length, kind = _REC.unpack_from(data, pos)
        if crc == length == kind == 0:
            pos += left  # zero padding up to the next block
            continue
        body = data[pos + _REC.size : pos + _REC.size + length]
        if kind not in _TYPE_CRC or len(body) != length:
            raise RuleError(f"{file}: corrupt record at byte {pos}")
        if zlib.crc32(body, _TYPE_CRC[kind]) != crc:
            raise RuleError(f"{file}: bad CRC at byte {pos}")
        pos += _REC.size + length
        if kind == FULL:
            yield body
        elif kind == FIRST:
            parts = [body]
        else:
            parts.append(body)
            if kind == LAST:
                yield b"".join(parts)
                parts = []


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message: ints for varints and fixed, bytes else."""
    pos, end = 0, len(buf)
    try:
        while pos < end:
            key, pos = _varint(buf, pos)
            field, wire = key >> 3, key & 7
            value: Any
            if wire == 0:
                value, pos = _varint(buf, pos)
            elif wire == 2:
                n, pos = _varint(buf, pos)
                if pos + n > end:
                    raise ValueError
                value, pos = buf[pos : pos + n], pos + n
            elif wire == 1:
                value, pos = buf[pos : pos + 8], pos + 8
            elif wire == 5:
                value, pos = buf[pos : pos + 4], pos + 4
            else:
                raise ValueError
            yield field, wire, value
    except (ValueError, IndexError):
        raise RuleError("a W&B record is not a valid protobuf message") from None


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError


def _int32(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _item(buf: bytes) -> tuple[list[str], Any]:
    """The key path and the JSON-decoded value of a History/Summary/ConfigItem."""
    key: list[str] = []
    nested: list[str] = []
    value: Any = None
    for f, wire, v in fields(buf):
        if f == ITEM_KEY:
            key = [v.decode("utf-8", "replace")]
        elif f == ITEM_NESTED:
            nested.append(v.decode("utf-8", "replace"))
        elif f == ITEM_JSON:
            value = _json(v)
        elif f == 6 and wire == 1:  # number
            value = struct.unpack("<d", v)[0]
        elif f == 5 and wire == 0:  # integer, zigzag
            value = (v >> 1) ^ -(v & 1)
        elif f == 4 and wire == 0:  # boolean
            value = bool(v)
        elif f == 7:  # text
            value = v.decode("utf-8", "replace")
        elif f == 8:  # json
            value = _json(v)
    return nested or key, value


def _json(v: bytes) -> Any:
    try:
        return json.loads(v.decode("utf-8", "replace"), parse_constant=lambda c: math.nan)
    except ValueError:
        return v.decode("utf-8", "replace")


def _apply(buf: bytes, target: dict[str, Any]) -> None:
    for f, _, v in fields(buf):
        if f not in (UPDATE, REMOVE):
            continue
        path, value = _item(v)
        if not path:
            continue
        node = target
        for k in path[:-1]:
            nxt = node.get(k)
            if not isinstance(nxt, dict):
                nxt = node[k] = {}
            node = nxt
        if f == UPDATE:
            node[path[-1]] = value
        else:
            node.pop(path[-1], None)


def _history(buf: bytes, history: dict[str, list[tuple[int, float, float]]]) -> None:
    row: dict[str, Any] = {}
    step = None
    for f, _, v in fields(buf):
        if f == HIST_ITEM:
            path, value = _item(v)
            if path:
                row[".".join(path)] = value
        elif f == HIST_STEP:
            step = dict((ff, vv) for ff, _, vv in fields(v)).get(1, 0)
    step = row.get("_step", step)
    stamp = row.get("_timestamp")
    for key, value in row.items():
        if key.startswith("_") or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        history.setdefault(key, []).append(
            (int(step or 0), float(stamp) if isinstance(stamp, int | float) else math.nan, value)
        )


def flatten(d: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Nested mappings as dotted names: {"model": {"width": 64}} -> {"model.width": 64}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class WandbSource(
    StoreSource, name="wandb", store="W&B folder", holds="no W&B run folders (run-*/run-ID.wandb)"
):
    """A `wandb/` folder: each run folder is a record (config, summary, history)."""

    axes = ("config.",)

    def units(self, path: Path) -> Sequence[Path]:
        return run_folders(path) if path.is_dir() else []

    def record(self, unit: Path) -> Chunk:
        r = read_run(unit, self.reader.read_bytes)
        run = Run(
            name=r["run"],
            where=f"run {r['run']} in {self.target.shown}",
            fields=r["fields"],
            status=r["status"],
            reason=r["reason"],
            series=points(r["series"]),
            order=(r["start"] or 0.0, r["run"]),
        )
        record = {k: v for k, v in r["fields"].items() if not k.startswith("config.")}
        return Chunk.one(run, record, time=r["summary_time"])

    @classmethod
    def files(cls, path: Path) -> list[Path]:
        folders = run_folders(path) if path.is_dir() else []
        return [f for folder in folders for f in sorted(folder.glob("run-*.wandb"))]

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        if path.is_file() or (path.is_dir() and not run_folders(path) and any(path.iterdir())):
            raise RuleSyntaxError(
                f"{path.name} is not a W&B folder: no run folders with a run-ID.wandb file"
            )
