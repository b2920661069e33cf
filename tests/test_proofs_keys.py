"""OpenSSH public keys: parsed from files ssh-keygen wrote, fingerprinted exactly as ssh-keygen does."""

from __future__ import annotations

import base64
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from proofs_tools import KEY_TYPES, fingerprint, make_key

from predtrack.errors import InputError
from predtrack.proofs.keys import PublicKey, parse_public_key, read_public_keys


@pytest.mark.parametrize("kind", sorted(KEY_TYPES))
def test_key_file_matches_ssh_keygen(tmp_path: Path, kind: str) -> None:
    private = make_key(tmp_path, f"id_{kind}", kind)
    public = private.with_suffix(".pub")
    (key,) = read_public_keys(public)
    listed = subprocess.run(
        ["ssh-keygen", "-lf", public], capture_output=True, text=True, check=True
    ).stdout.split()
    assert key.fingerprint == listed[1]
    assert key.bits == int(listed[0])
    assert key.comment == f"id_{kind}@test"
    assert key.openssh == " ".join(public.read_text().split()[:2])
    assert str(key) == public.read_text().strip()


def test_github_keys_file_gives_every_key_in_order(tmp_path: Path) -> None:
    publics = [make_key(tmp_path, f"k{i}", kind).with_suffix(".pub") for i, kind in
               enumerate(["ed25519", "rsa", "ecdsa"])]  # fmt: skip
    # https://github.com/USER.keys lists `TYPE BASE64` lines without comments.
    lines = [" ".join(p.read_text().split()[:2]) for p in publics]
    keys_file = tmp_path / "alice.keys"
    keys_file.write_text("\n".join(lines) + "\n\n")
    keys = read_public_keys(keys_file)
    assert [k.fingerprint for k in keys] == [fingerprint(p) for p in publics]
    assert [k.comment for k in keys] == ["", "", ""]


def _blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(f)) + f for f in fields)).decode()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "holds no public key"),
        ("# only a comment\n", "holds no public key"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP\n", "key type 'ssh-dss'"),
        ("ssh-ed25519\n", "is not `TYPE BASE64 [COMMENT]`"),
        ("ssh-ed25519 not*base64 me@host\n", "not valid base64"),
        (f"ssh-ed25519 {_blob(b'ssh-ed25519', b'short')}\n", "one 32-byte key"),
        (f"ssh-rsa {_blob(b'ssh-ed25519', bytes(32))}\n", "does not encode a ssh-rsa key"),
        (f"ssh-ed25519 {_blob(b'ssh-ed25519', bytes(32))[:-8]}\n", "truncated"),
        ("ssh-rsa " + _blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xff" * 64), "512 bits"),
        (f"ecdsa-sha2-nistp256 {_blob(b'ecdsa-sha2-nistp256', b'nistp384', bytes(65))}\n", "curve"),
    ],
)
def test_malformed_key_file_is_refused_in_one_line(tmp_path: Path, text: str, problem: str) -> None:
    keys_file = tmp_path / "bad.pub"
    keys_file.write_text(text)
    with pytest.raises(InputError, match=r"bad\.pub") as caught:
        read_public_keys(keys_file)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_private_key_and_bad_line_are_named(tmp_path: Path) -> None:
    private = make_key(tmp_path, "id", "ed25519")
    with pytest.raises(InputError, match="private key"):
        read_public_keys(private)
    mixed = tmp_path / "mixed.keys"
    mixed.write_text(private.with_suffix(".pub").read_text() + "ssh-ed25519 AAAA\n")
    with pytest.raises(InputError, match=r"mixed\.keys line 2"):
        read_public_keys(mixed)


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read public key file .*No such file"):
        read_public_keys(tmp_path / "missing.pub")
    binary = tmp_path / "binary.pub"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        read_public_keys(binary)


@given(st.text(max_size=300))
def test_any_text_is_a_key_or_one_input_error(text: str) -> None:
    try:
        key = parse_public_key(text)
    except InputError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(key, PublicKey)
        assert parse_public_key(key.openssh).blob == key.blob
