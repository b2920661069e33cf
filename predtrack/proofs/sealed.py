"""Sealed forecasts: salted commitments, their openings, and the private openings file that keeps them.

A forecast is committed as `sha256(salt ‖ payload)`, the payload being the canonical JSON of
question, forecaster, kind, forecast text, fitted distribution, note and time (the text alone
does not fix the distribution: `--level`, `--ci` and `--log` change it), the salt 32 bytes from `secrets` (a forecast
lives in a space small enough to brute-force without it). The opening (salt and payload) must
reach the openings file, fsynced, before the commitment reaches the store: an opening without
a commitment is harmless, a commitment without its opening can never be revealed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from predtrack.errors import InputError
from predtrack.proofs import HEX, ProofError, check_digest
from predtrack.store.types import canonical_json, iso_z

SALT_BYTES = 32
FIELDS = ("distribution", "forecast", "forecaster", "kind", "note", "question", "time")
OPENINGS_ENV = "PREDTRACK_OPENINGS_DIR"
FORMAT = 1
_STORE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class Opening:
    """What reveals a commitment: the salt (hex) and the exact payload text that was hashed."""

    commitment: str
    salt: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"commitment": self.commitment, "payload": self.payload, "salt": self.salt}


def sealed_payload(
    *,
    question: int | str,
    forecaster: str,
    kind: str,
    forecast: str,
    distribution: Mapping[str, Any],
    time: datetime | str,
    note: str | None = None,
) -> str:
    """The canonical JSON that a commitment binds (times as UTC ISO-8601 with `Z`)."""
    stamp = iso_z(time) if isinstance(time, datetime) else time
    fields = {"forecast": forecast, "forecaster": forecaster, "kind": kind, "question": question}
    return canonical_json(
        {**fields, "distribution": dict(distribution), "note": note, "time": stamp}
    )


def commitment_of(salt: bytes, payload: str) -> str:
    """`sha256(salt ‖ payload)` as 64 hex digits, over the payload's UTF-8 bytes."""
    return hashlib.sha256(salt + payload.encode("utf-8")).hexdigest()


def seal(payload: str) -> Opening:
    """A fresh opening for `payload`: a new 32-byte salt and the commitment it gives."""
    salt = secrets.token_bytes(SALT_BYTES)
    return Opening(commitment_of(salt, payload), salt.hex(), payload)


def check_opening(
    commitment: str, opening: Opening, expect: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The payload's fields if `opening` opens `commitment` (and has the `expect`ed fields); else ProofError."""
    short = commitment[:16]
    if len(opening.salt) != 2 * SALT_BYTES or not set(opening.salt) <= HEX:
        raise ProofError(f"opening of {short}… has a salt that is not {SALT_BYTES} bytes of hex")
    if commitment_of(bytes.fromhex(opening.salt), opening.payload) != commitment:
        raise ProofError(f"opening does not match commitment {short}… (wrong salt or payload)")
    try:
        fields = json.loads(opening.payload)
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or sorted(fields) != sorted(FIELDS):
        raise ProofError(f"opening of {short}… does not hold {', '.join(FIELDS)}")
    for name, wanted in (expect or {}).items():
        if fields.get(name) != wanted:
            raise ProofError(
                f"opening of {short}… is for {name} {fields.get(name)!r}, not {wanted!r}"
            )
    return fields


def store_id(first_entry_hash: str) -> str:
    """A store's identity for its openings: sha256 of its first ledger entry's hash (hex text)."""
    check_digest(first_entry_hash, "first ledger entry hash")
    return hashlib.sha256(first_entry_hash.encode("ascii")).hexdigest()


def openings_path(store_id: str, forecaster: str) -> Path:
    """`$PREDTRACK_OPENINGS_DIR` (else `${XDG_DATA_HOME:-~/.local/share}/predtrack/openings`)/STORE/FORECASTER.jsonl."""
    if not _STORE_ID.fullmatch(store_id):
        raise InputError(f"store id {store_id!r} must be 1 to 128 letters, digits, - or _")
    base = os.environ.get(OPENINGS_ENV)
    if not base:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "share"
        )
        base = os.path.join(data, "predtrack", "openings")
    # Forecaster names may hold spaces, slashes or dots: quote them into one safe file name.
    name = quote(forecaster, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    return Path(base) / store_id / f"{name}.jsonl"


def _header(store_id: str, forecaster: str) -> dict[str, Any]:
    return {"forecaster": forecaster, "predtrack_openings": FORMAT, "store": store_id}


def append_opening(path: Path, store_id: str, forecaster: str, opening: Opening) -> None:
    """Append one opening to `path` (mode 0600, created with its header), fsynced before returning."""
    append_openings(path, store_id, forecaster, [opening])


def append_openings(
    path: Path, store_id: str, forecaster: str, openings: Sequence[Opening]
) -> None:
    """Append openings to `path` (mode 0600, created with its header), fsynced before returning."""
    import fcntl

    line = "".join(
        json.dumps(opening.as_dict(), sort_keys=True, ensure_ascii=False) + "\n"
        for opening in openings
    )
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as error:
        raise InputError(f"cannot write openings file {path}: {error.strerror}") from None
    try:
        # One lock per file: a concurrent `predict --sealed` by the same forecaster waits here.
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, 0o600)
        if os.fstat(fd).st_size == 0:
            header = json.dumps(_header(store_id, forecaster), sort_keys=True, ensure_ascii=False)
            line = header + "\n" + line
            created = True
        else:
            with open(path, encoding="utf-8") as handle:
                _check_header(path, handle.readline(), store_id, forecaster)
            created = False
        data = line.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    except OSError as error:
        raise InputError(f"cannot write openings file {path}: {error.strerror}") from None
    finally:
        os.close(fd)
    if created:
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_header(path: Path, line: str, store_id: str, forecaster: str | None) -> None:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("predtrack_openings") != FORMAT:
        raise InputError(f"{path} is not a predtrack openings file")
    if header.get("store") != store_id:
        raise InputError(
            f"openings file {path} is for store {str(header.get('store'))[:16]}…, "
            f"not this store ({store_id[:16]}…)"
        )
    if forecaster is not None and header.get("forecaster") != forecaster:
        raise InputError(
            f"openings file {path} is {header.get('forecaster')!r}'s, not {forecaster!r}'s"
        )


def read_openings(path: Path, store_id: str, forecaster: str | None = None) -> list[Opening]:
    """Every opening in `path`; InputError if the file is for another store (or forecaster) or is damaged."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except OSError as error:
        raise InputError(f"cannot read openings file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"openings file {path} is not UTF-8 text") from None
    _check_header(path, lines[0], store_id, forecaster)
    openings = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            opening = Opening(str(entry["commitment"]), str(entry["salt"]), str(entry["payload"]))
        except (ValueError, KeyError, TypeError):
            raise InputError(f"openings file {path} line {number} is not an opening") from None
        openings.append(opening)
    return openings
