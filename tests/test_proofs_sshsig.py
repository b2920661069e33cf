"""SSH signatures made by the real ssh-keygen (key file or ssh-agent), verified in and out of process."""

from __future__ import annotations

import base64
import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from proofs_tools import make_key, ssh_agent

from predtrack.errors import InputError
from predtrack.proofs import ProofError
from predtrack.proofs.keys import PublicKey, read_public_keys, ssh_strings
from predtrack.proofs.sshsig import (
    KEY_ENV,
    _verify_in_process,
    _verify_with_ssh_keygen,
    sign,
    signature_info,
    verify_signature,
)

MESSAGE = b'{"forecast":"10 to 20","forecaster":"alice","question":"flip"}'


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the developer's agent nor a key in the environment may sign in these tests."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)


def _key(tmp_path: Path, name: str, kind: str = "ed25519") -> tuple[Path, PublicKey]:
    private = make_key(tmp_path, name, kind)
    return private, read_public_keys(private.with_suffix(".pub"))[0]


def _sign_with(private: Path, message: bytes, namespace: str, *options: str) -> str:
    return subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", private, *options],
        input=message, capture_output=True, check=True, timeout=60,
    ).stdout.decode()  # fmt: skip


def _rebuild(signature: str, **replace: bytes) -> str:
    """The signature with its embedded public key or namespace replaced, re-armored."""
    body = "".join(signature.strip().splitlines()[1:-1])
    fields = ssh_strings(base64.b64decode(body)[10:])
    fields[0] = replace.get("key", fields[0])
    fields[1] = replace.get("namespace", fields[1])
    blob = b"SSHSIG\x00\x00\x00\x01" + b"".join(struct.pack(">I", len(f)) + f for f in fields)
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----"])


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_signature_from_key_file_verifies_and_edits_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    private, key = _key(tmp_path, "alice", kind)
    monkeypatch.setenv(KEY_ENV, str(private))
    signature = sign(MESSAGE, key)
    info = verify_signature(MESSAGE, signature, key)
    assert (info.key.blob, info.namespace) == (key.blob, "predtrack")
    assert info.hash_algorithm == "sha512"
    with pytest.raises(ProofError, match="does not match the message"):
        verify_signature(MESSAGE.replace(b"10 to 20", b"12 to 20"), signature, key)


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_signature_by_another_key_fails(tmp_path: Path, kind: str) -> None:
    _, alice = _key(tmp_path, "alice", kind)
    mallory_private, mallory = _key(tmp_path, "mallory", kind)
    forged = _sign_with(mallory_private, MESSAGE, "predtrack")
    with pytest.raises(
        ProofError, match=re.escape(f"by key {mallory.fingerprint}, not {alice.fingerprint}")
    ):
        verify_signature(MESSAGE, forged, alice)
    # Claiming alice's key inside mallory's signature leaves the cryptography to refuse it.
    relabelled = _rebuild(forged, key=alice.blob)
    assert signature_info(relabelled).key.blob == alice.blob
    with pytest.raises(ProofError, match="does not match the message"):
        verify_signature(MESSAGE, relabelled, alice)


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_signature_in_another_namespace_fails(tmp_path: Path, kind: str) -> None:
    private, key = _key(tmp_path, "alice", kind)
    for_git = _sign_with(private, MESSAGE, "git")
    with pytest.raises(ProofError, match="namespace 'git', not 'predtrack'"):
        verify_signature(MESSAGE, for_git, key)
    relabelled = _rebuild(for_git, namespace=b"predtrack")
    with pytest.raises(ProofError, match="does not match the message"):
        verify_signature(MESSAGE, relabelled, key)


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
@pytest.mark.parametrize("hash_algorithm", ["sha256", "sha512"])
def test_library_and_ssh_keygen_agree(tmp_path: Path, kind: str, hash_algorithm: str) -> None:
    private, key = _key(tmp_path, "alice", kind)
    signature = _sign_with(private, MESSAGE, "predtrack", "-O", f"hashalg={hash_algorithm}")
    assert verify_signature(MESSAGE, signature, key).hash_algorithm == hash_algorithm
    for check in (_verify_in_process, _verify_with_ssh_keygen):
        assert check(MESSAGE, signature, key) is True
        assert check(MESSAGE + b" ", signature, key) is False


def test_signing_through_ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private, key = _key(tmp_path / "keys", "alice")
    other_private, other = _key(tmp_path / "keys", "bob", "rsa")
    private.with_suffix(".pub").unlink()  # the agent, not a file beside the key, must sign
    with ssh_agent(private, other_private) as socket:
        monkeypatch.setenv("SSH_AUTH_SOCK", socket)
        for registered in (key, other):
            verify_signature(MESSAGE, sign(MESSAGE, registered), registered)
        with pytest.raises(InputError, match="needs the forecaster's registered key"):
            sign(MESSAGE)
    _, absent = _key(tmp_path, "carol")
    with ssh_agent(private) as socket:
        monkeypatch.setenv("SSH_AUTH_SOCK", socket)
        with pytest.raises(InputError, match=r"could not sign with ssh-agent .*No private key"):
            sign(MESSAGE, absent)


def test_signing_problems_are_one_line_input_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="no SSH key to sign with"):
        sign(MESSAGE)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="is not a file"):
        sign(MESSAGE)
    private, key = _key(tmp_path, "alice")
    _, bob = _key(tmp_path, "bob")
    monkeypatch.setenv(KEY_ENV, str(private))
    with pytest.raises(
        InputError, match=re.escape(f"signed with key {key.fingerprint}, but the registered")
    ):
        sign(MESSAGE, bob)
    with pytest.raises(InputError, match="ssh-keygen -Y sign did not finish within"):
        sign(MESSAGE, key, timeout=1e-6)
    locked = make_key(tmp_path, "locked", passphrase="secret words")
    monkeypatch.setenv(KEY_ENV, str(locked))
    # Without a terminal ssh-keygen gives up at once; on one, it waits for the passphrase.
    with pytest.raises(InputError, match=r"could not sign|did not finish within 5 s") as caught:
        sign(MESSAGE, timeout=5)
    assert "\n" not in str(caught.value)
    monkeypatch.setenv(KEY_ENV, str(private))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(InputError, match=r"ssh-keygen not found: install it .*openssh-client"):
        sign(MESSAGE, key)


@given(
    st.text(max_size=200)
    | st.binary(max_size=300)
    .map(base64.b64encode)
    .map(lambda b: f"-----BEGIN SSH SIGNATURE-----\n{b.decode()}\n-----END SSH SIGNATURE-----")
)
def test_any_signature_text_parses_or_fails_as_proof_error(text: str) -> None:
    try:
        signature_info(text)
    except ProofError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_every_flipped_byte_fails_as_proof_error(tmp_path: Path, kind: str) -> None:
    private, key = _key(tmp_path, "alice", kind)
    blob = base64.b64decode("".join(_sign_with(private, MESSAGE, "predtrack").splitlines()[1:-1]))
    for at in range(len(blob)):
        damaged = bytearray(blob)
        damaged[at] ^= 0x01
        armored = base64.b64encode(bytes(damaged)).decode()
        text = f"-----BEGIN SSH SIGNATURE-----\n{armored}\n-----END SSH SIGNATURE-----"
        with pytest.raises(ProofError):
            verify_signature(MESSAGE, text, key)
