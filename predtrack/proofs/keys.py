"""OpenSSH public keys: parse `.pub` and GitHub `USER.keys` files, fingerprint them as ssh-keygen does."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from dataclasses import dataclass

from predtrack.errors import InputError

# Uncompressed EC point sizes (0x04 ‖ X ‖ Y) and curve sizes of the ECDSA key types.
_CURVES = {"nistp256": (65, 256), "nistp384": (97, 384), "nistp521": (133, 521)}
SUPPORTED = ("ssh-ed25519", "ssh-rsa", *(f"ecdsa-sha2-{curve}" for curve in _CURVES))
# OpenSSH's own floor (SSH_RSA_MINIMUM_MODULUS_SIZE): a smaller key cannot sign at all.
RSA_MIN_BITS = 1024
_MAX_FILE = 1 << 20


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key: its type, its wire-format blob and the comment of its line."""

    algorithm: str
    blob: bytes
    comment: str = ""

    @property
    def openssh(self) -> str:
        """`TYPE BASE64` without the comment: the form to store and compare."""
        return f"{self.algorithm} {base64.b64encode(self.blob).decode('ascii')}"

    @property
    def fingerprint(self) -> str:
        """`SHA256:...`, exactly as `ssh-keygen -lf` prints it."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode("ascii")
        return "SHA256:" + digest.rstrip("=")

    @property
    def bits(self) -> int:
        """Key size as `ssh-keygen -lf` prints it (256 for ed25519, the modulus for RSA)."""
        fields = ssh_strings(self.blob)
        if self.algorithm == "ssh-rsa":
            return int.from_bytes(fields[2], "big").bit_length()
        if self.algorithm == "ssh-ed25519":
            return 256
        return _CURVES[self.algorithm.removeprefix("ecdsa-sha2-")][1]

    def __str__(self) -> str:
        return f"{self.openssh} {self.comment}".rstrip()


def ssh_strings(blob: bytes) -> list[bytes]:
    """Split an SSH wire blob into its length-prefixed strings; ValueError if it is truncated."""
    fields, at = [], 0
    while at < len(blob):
        if at + 4 > len(blob):
            raise ValueError("truncated length")
        (size,) = struct.unpack(">I", blob[at : at + 4])
        if at + 4 + size > len(blob):
            raise ValueError("truncated field")
        fields.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return fields


def _check_blob(algorithm: str, blob: bytes) -> str | None:
    """Why `blob` is not a well-formed key of type `algorithm`, or None."""
    try:
        fields = ssh_strings(blob)
    except ValueError as error:
        return f"key data is {error}"
    if not fields or fields[0] != algorithm.encode("ascii"):
        return f"key data does not encode a {algorithm} key"
    if algorithm == "ssh-ed25519":
        if len(fields) != 2 or len(fields[1]) != 32:
            return "ed25519 key data must hold one 32-byte key"
        return None
    if algorithm == "ssh-rsa":
        if len(fields) != 3:
            return "RSA key data must hold an exponent and a modulus"
        exponent, modulus = (int.from_bytes(f, "big", signed=True) for f in fields[1:])
        if exponent < 3 or exponent % 2 == 0 or modulus <= 0:
            return "RSA key data holds an invalid exponent or modulus"
        if modulus.bit_length() < RSA_MIN_BITS:
            return f"RSA key of {modulus.bit_length()} bits is below OpenSSH's minimum of {RSA_MIN_BITS}"
        return None
    curve = algorithm.removeprefix("ecdsa-sha2-")
    if len(fields) != 3 or fields[1] != curve.encode("ascii"):
        return f"ECDSA key data must name curve {curve} and hold one point"
    if len(fields[2]) != _CURVES[curve][0] or fields[2][0] != 4:
        return f"ECDSA key data does not hold an uncompressed {curve} point"
    return None


def key_from_blob(blob: bytes, comment: str = "") -> PublicKey:
    """The key whose SSH wire encoding is `blob`; InputError if it is not a well-formed accepted key."""
    try:
        algorithm = ssh_strings(blob)[0].decode("ascii")
    except (ValueError, IndexError, UnicodeDecodeError):
        raise InputError("key data is not an SSH public key") from None
    if algorithm not in SUPPORTED:
        raise InputError(f"key type {_clip(algorithm)!r} is not one of {', '.join(SUPPORTED)}")
    problem = _check_blob(algorithm, blob)
    if problem:
        raise InputError(problem)
    return PublicKey(algorithm, blob, comment)


def parse_public_key(line: str, *, where: str = "public key") -> PublicKey:
    """One OpenSSH public key line (`TYPE BASE64 [COMMENT]`); InputError naming `where` and the problem."""
    text = line.strip()
    if text.startswith("-----BEGIN"):
        raise InputError(
            f"{where} is a private key or a PEM file: give the public key (the .pub file)"
        )
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InputError(f"{where} {_clip(text)!r} is not `TYPE BASE64 [COMMENT]`")
    algorithm, data = parts[0], parts[1]
    if algorithm not in SUPPORTED:
        raise InputError(
            f"{where} has key type {_clip(algorithm)!r}; predtrack accepts {', '.join(SUPPORTED)}"
        )
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where} has key data that is not valid base64") from None
    problem = _check_blob(algorithm, blob)
    if problem:
        raise InputError(f"{where}: {problem}")
    return PublicKey(algorithm, blob, parts[2].strip() if len(parts) > 2 else "")


def read_public_keys(path: str | os.PathLike[str]) -> list[PublicKey]:
    """Every key of a `.pub` or GitHub `USER.keys` file (one per line, `#` comments and blanks skipped)."""
    name = os.path.expanduser(os.fspath(path))
    try:
        with open(name, "rb") as handle:
            raw = handle.read(_MAX_FILE + 1)
    except OSError as error:
        raise InputError(f"cannot read public key file {name}: {error.strerror}") from None
    if len(raw) > _MAX_FILE:
        raise InputError(f"public key file {name} is over 1 MiB: not a list of public keys")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"public key file {name} is not UTF-8 text") from None
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            keys.append(parse_public_key(line, where=f"{name} line {number}"))
    if not keys:
        raise InputError(f"public key file {name} holds no public key")
    return keys


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
