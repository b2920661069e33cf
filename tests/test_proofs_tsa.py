"""RFC 3161 tokens from a local `openssl ts` authority over HTTP, checked offline against its CA."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tsa_server import (
    TimestampAuthority,
    authority_responder,
    closed_port_url,
    serve,
    silent_server,
)

from predtrack.errors import InputError
from predtrack.proofs import ProofError
from predtrack.proofs.tsa import (
    build_request,
    load_trust_roots,
    read_token,
    request_token,
    verify_token,
)

HEAD = hashlib.sha256(b"ledger head 120").hexdigest()
OTHER = hashlib.sha256(b"ledger head 121").hexdigest()


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> TimestampAuthority:
    made = TimestampAuthority(tmp_path_factory.mktemp("tsa"))
    made.issue_tsa_certificate(
        "expired", "expired TSA", start="20200101000000Z", end="20210101000000Z"
    )
    return made


@pytest.fixture(scope="module")
def url(authority: TimestampAuthority) -> Iterator[str]:
    with serve(authority_responder(authority)) as served:
        yield served


def _subject(certificate: Path) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-in", certificate, "-noout", "-subject", "-nameopt", "RFC2253"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.strip().removeprefix("subject=")


def _openssl_verifies(token: bytes, digest: str, ca: Path, scratch: Path) -> bool:
    (scratch / "token.der").write_bytes(token)
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", digest, "-in", scratch / "token.der", "-token_in",
         "-CAfile", ca],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and "Verification: OK" in done.stdout


def test_token_over_a_digest_verifies_for_it_and_not_for_another(
    authority: TimestampAuthority, url: str, tmp_path: Path
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    token = request_token(url, HEAD)
    after = datetime.now(UTC)
    roots = load_trust_roots(authority.ca_pem)
    info = verify_token(token, HEAD, roots)
    assert info.digest == HEAD
    assert info.authority == _subject(authority.tsa_pem)
    assert info.authority.startswith("CN=predtrack test TSA")
    # openssl's accuracy is one second; genTime is whole seconds.
    assert before - timedelta(seconds=1) <= info.time <= after + timedelta(seconds=1)
    assert info.time.tzinfo is UTC
    assert (info.policy, info.accuracy) == ("1.3.6.1.4.1.55555.1", 1.0)  # as configured
    assert read_token(token) == info
    # The same token passes openssl's own check, so any RFC 3161 verifier can check it.
    assert _openssl_verifies(token, HEAD, authority.ca_pem, tmp_path)
    assert not _openssl_verifies(token, OTHER, authority.ca_pem, tmp_path)
    with pytest.raises(ProofError, match=f"covers {HEAD[:16]}…, not {OTHER[:16]}…"):
        verify_token(token, OTHER, roots)


def test_tampered_token_fails(authority: TimestampAuthority, url: str) -> None:
    token = request_token(url, HEAD)
    roots = load_trust_roots(authority.ca_pem)
    stamp = re.search(rb"\x18\x0f(\d{4})\d{10}Z", token)
    assert stamp is not None
    year = int(stamp.group(1))
    earlier = token.replace(
        stamp.group(0), stamp.group(0).replace(b"%d" % year, b"%d" % (year - 1))
    )
    assert read_token(earlier).time.year == year - 1
    with pytest.raises(ProofError, match="timestamp token does not verify"):
        verify_token(earlier, HEAD, roots)
    flipped = token[:-3] + bytes([token[-3] ^ 0x01]) + token[-2:]
    with pytest.raises(ProofError, match="timestamp token does not verify"):
        verify_token(flipped, HEAD, roots)
    with pytest.raises(ProofError, match="cannot be parsed"):
        verify_token(token[: len(token) // 2], HEAD, roots)


def test_expired_tsa_certificate_fails(authority: TimestampAuthority) -> None:
    with serve(authority_responder(authority, "expired")) as expired_url:
        token = request_token(expired_url, HEAD)
    with pytest.raises(ProofError, match="does not verify: certificate has expired"):
        verify_token(token, HEAD, load_trust_roots(authority.ca_pem))


def test_tsa_of_another_ca_fails(authority: TimestampAuthority, tmp_path: Path) -> None:
    stranger = TimestampAuthority(tmp_path / "stranger", tsa_name="stranger TSA")
    with serve(authority_responder(stranger)) as stranger_url:
        token = request_token(stranger_url, HEAD)
    assert verify_token(token, HEAD, load_trust_roots(stranger.ca_pem)).digest == HEAD
    with pytest.raises(ProofError, match="does not verify: unable to get local issuer"):
        verify_token(token, HEAD, load_trust_roots(authority.ca_pem))
    # A bundle of several roots trusts each of them.
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(authority.ca_pem.read_bytes() + stranger.ca_pem.read_bytes())
    assert len(load_trust_roots(bundle)) == 2
    assert verify_token(token, HEAD, load_trust_roots(bundle)).authority.startswith("CN=stranger")


def test_replies_that_do_not_answer_the_request_are_refused(
    authority: TimestampAuthority, url: str
) -> None:
    old_query = build_request(HEAD, nonce=12345)
    old_reply = authority.reply(old_query)
    with serve(lambda _type, _body: (200, old_reply)) as replaying:
        with pytest.raises(InputError, match="another digest"):
            request_token(replaying, OTHER)
        with pytest.raises(InputError, match="another nonce"):
            request_token(replaying, HEAD)
    # openssl's own refusal: a query for a digest algorithm the TSA does not take.
    sha1_query = subprocess.run(
        ["openssl", "ts", "-query", "-digest", "0" * 40, "-sha1", "-cert"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    refusal = authority.reply(sha1_query)
    refused = pytest.raises(InputError, match=r"refused the request \(status 2\): Message digest")
    with serve(lambda _type, _body: (200, refusal)) as refusing, refused:
        request_token(refusing, HEAD)


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, b"<html>Welcome to nginx!</html>", "30 bytes that are not an RFC 3161 reply"),
        (200, b"", "0 bytes that are not an RFC 3161 reply"),
        (500, b"oops", "answered HTTP 500"),
        (404, b"", "answered HTTP 404"),
    ],
)
def test_garbage_from_the_server_is_one_input_error(status: int, body: bytes, problem: str) -> None:
    refused = pytest.raises(InputError, match=re.escape(problem))
    with serve(lambda _type, _body: (status, body)) as garbage, refused as caught:
        request_token(garbage, HEAD)
    assert "\n" not in str(caught.value)


def test_silent_server_times_out_quickly() -> None:
    with silent_server() as silent:
        started = time.monotonic()
        with pytest.raises(InputError, match=r"did not answer within 0.5 s"):
            request_token(silent, HEAD, timeout=0.5)
        assert time.monotonic() - started < 5


def test_unreachable_and_bad_urls_are_input_errors() -> None:
    with pytest.raises(InputError, match="is unreachable: Connection refused"):
        request_token(closed_port_url(), HEAD, timeout=2)
    with pytest.raises(InputError, match="must start with http"):
        request_token("file:///etc/passwd", HEAD)
    with pytest.raises(InputError, match="not 64 lowercase hex digits"):
        request_token("http://127.0.0.1:1/", "abc")


def test_trust_root_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read TSA CA file"):
        load_trust_roots(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(InputError, match="holds no PEM certificate"):
        load_trust_roots(junk)


def test_request_is_the_der_openssl_reads() -> None:
    query = build_request(HEAD, nonce=2**63 + 5)
    text = subprocess.run(
        ["openssl", "ts", "-query", "-in", "/dev/stdin", "-text"],
        input=query, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert "Hash Algorithm: sha256" in text
    assert "Certificate required: yes" in text
    assert f"Nonce: 0x{2**63 + 5:X}" in text
    rows = re.findall(r"^ +\d{4} - ([0-9a-f -]{47})", text, re.M)
    assert "".join(rows).replace(" ", "").replace("-", "") == HEAD


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_any_bytes_as_a_token_fail_as_proof_error(data: bytes) -> None:
    with pytest.raises(ProofError):
        read_token(data)
