"""RFC 3161 timestamps of a head digest: request a token over HTTP, verify it offline against a CA."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from predtrack.errors import InputError
from predtrack.proofs import ProofError, check_digest

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

DEFAULT_TIMEOUT = 10.0
MAX_REPLY = 1 << 20
SHA256_OID = "2.16.840.1.101.3.4.2.1"
# DER of AlgorithmIdentifier { id-sha256, NULL }.
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")
_EXTRA = "the proofs extra: pip install 'predtrack[proofs]'"


@dataclass(frozen=True)
class TokenInfo:
    """What a timestamp token states: when (± `accuracy` seconds, if stated), by whom, over what."""

    time: datetime
    authority: str
    digest: str
    serial: int
    policy: str
    accuracy: float | None


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def build_request(digest: str, nonce: int) -> bytes:
    """DER TimeStampReq (version 1, SHA-256 imprint of `digest`, `nonce`, certReq TRUE)."""
    imprint = _der(0x30, _SHA256_ALGORITHM + _der(0x04, bytes.fromhex(check_digest(digest))))
    return _der(0x30, _der_integer(1) + imprint + _der_integer(nonce) + b"\x01\x01\xff")


def _as_response(token: bytes) -> bytes:
    """Wrap a TimeStampToken in a granted TimeStampResp, the form the parser reads."""
    return _der(0x30, bytes.fromhex("3003020100") + token)


def _parse_response(data: bytes) -> Any:
    from rfc3161_client import decode_timestamp_response

    return decode_timestamp_response(data)


def _info(response: Any) -> TokenInfo:
    """The token's statements, and the subject of the certificate that signed it."""
    from cryptography import x509

    tst = response.tst_info
    signers = list(response.signed_data.signer_infos)
    authority = "(no signer certificate in the token)"
    for der in response.signed_data.certificates:
        certificate = x509.load_der_x509_certificate(der)
        if len(signers) == 1 and (certificate.issuer, certificate.serial_number) == (
            signers[0].issuer,
            signers[0].serial_number,
        ):
            authority = certificate.subject.rfc4514_string()
    imprint = tst.message_imprint
    digest = imprint.message.hex() if imprint.hash_algorithm.dotted_string == SHA256_OID else ""
    return TokenInfo(
        time=tst.gen_time.astimezone(UTC),
        authority=authority,
        digest=digest,
        serial=tst.serial_number,
        policy=tst.policy.dotted_string,
        accuracy=_seconds(tst.accuracy),
    )


def _seconds(accuracy: Any) -> float | None:
    if accuracy is None:
        return None
    return (accuracy.seconds or 0) + (accuracy.millis or 0) / 1e3 + (accuracy.micros or 0) / 1e6


def read_token(token: bytes) -> TokenInfo:
    """What a stored token states, unverified (for display); ProofError if it cannot be parsed."""
    try:
        return _info(_parse_response(_as_response(token)))
    except ImportError:
        raise InputError(f"reading RFC 3161 tokens needs {_EXTRA}") from None
    except ValueError as error:
        raise ProofError(f"timestamp token cannot be parsed: {_first_line(error)}") from None


def request_token(url: str, digest: str, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Ask the TSA at `url` for a token over `digest`; the DER TimeStampToken (signer certificate included).

    The reply must be granted, cover `digest`, echo the nonce and carry a certificate;
    anything else, or no reply within about `timeout` seconds, is an InputError.
    """
    if not url.startswith(("http://", "https://")):
        raise InputError(f"TSA URL {url!r} must start with http:// or https://")
    nonce = secrets.randbits(63)
    body = _post(url, build_request(digest, nonce), timeout)
    try:
        response = _parse_response(body)
    except ImportError:
        raise InputError(f"requesting RFC 3161 tokens needs {_EXTRA}") from None
    except ValueError:
        raise InputError(
            f"TSA {url} answered {len(body)} bytes that are not an RFC 3161 reply"
        ) from None
    if response.status not in (0, 1):
        reason = "; ".join(response.status_string) or "no reason given"
        raise InputError(f"TSA {url} refused the request (status {response.status}): {reason}")
    try:
        info = _info(response)
        token = bytes(response.time_stamp_token())
        echoed = response.tst_info.nonce
    except ValueError as error:
        raise InputError(f"TSA {url} answered a malformed token: {_first_line(error)}") from None
    if info.digest != digest:
        raise InputError(f"TSA {url} answered a token over another digest ({info.digest[:16]}…)")
    if echoed != nonce:
        raise InputError(f"TSA {url} answered a token with another nonce (a replayed reply?)")
    if not response.signed_data.certificates:
        raise InputError(f"TSA {url} answered a token without its certificate")
    return token


def _post(url: str, query: bytes, timeout: float) -> bytes:
    """POST a TimeStampReq; the reply body, read in at most about twice `timeout` seconds."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, data=query, method="POST", headers={"Content-Type": "application/timestamp-query"}
    )
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            chunks: list[bytes] = []
            size = 0
            # The socket timeout bounds each read, the deadline the whole reply.
            while chunk := reply.read(65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REPLY:
                    raise InputError(f"TSA {url} answered more than {MAX_REPLY} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
            return b"".join(chunks)
    except urllib.error.HTTPError as error:
        raise InputError(f"TSA {url} answered HTTP {error.code} {error.reason}") from None
    except TimeoutError:
        raise InputError(f"TSA {url} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise InputError(f"TSA {url} did not answer within {timeout:g} s") from None
        reason = getattr(error.reason, "strerror", None) or error.reason
        raise InputError(f"TSA {url} is unreachable: {reason}") from None
    except OSError as error:
        raise InputError(f"TSA {url} is unreachable: {error.strerror or error}") from None


def load_trust_roots(path: str | os.PathLike[str]) -> list[Certificate]:
    """The CA certificates of a PEM file (the `--tsa-ca` trust root); InputError if there are none."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise InputError(f"cannot read TSA CA file {name}: {error.strerror}") from None
    try:
        from cryptography import x509
    except ImportError:
        raise InputError(f"checking RFC 3161 tokens needs {_EXTRA}") from None
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError(f"TSA CA file {name} holds no PEM certificate") from None
    return roots


def verify_token(token: bytes, digest: str, roots: Sequence[Certificate]) -> TokenInfo:
    """Check offline that `token` is a valid timestamp over `digest` by a TSA chained to `roots`.

    The TSA certificate must carry the critical timeStamping usage and be valid at the
    token's own time; ProofError says which check failed.
    """
    check_digest(digest)
    try:
        from rfc3161_client import VerificationError, VerifierBuilder
    except ImportError:
        raise InputError(f"checking RFC 3161 tokens needs {_EXTRA}") from None
    if not roots:
        raise InputError("no TSA CA certificate to check timestamp tokens against")
    try:
        response = _parse_response(_as_response(token))
        info = _info(response)
    except ValueError as error:
        raise ProofError(f"timestamp token cannot be parsed: {_first_line(error)}") from None
    if info.digest != digest:
        shown = info.digest[:16] or "a non-SHA-256 digest"
        raise ProofError(f"timestamp token covers {shown}…, not {digest[:16]}…")
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify(response, bytes.fromhex(digest))
    except (VerificationError, ValueError) as error:
        raise ProofError(f"timestamp token does not verify: {_openssl_reason(error)}") from None
    return info


def _openssl_reason(error: Exception) -> str:
    """The readable part of an error that may wrap an OpenSSL error stack."""
    text = str(error)
    found = re.search(r'data: "([^"]+)"', text) or re.search(r'reason: "([^"]+)"', text)
    if found:
        return found.group(1).removeprefix("Verify error:").strip()
    return _first_line(error)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
