"""SSH signatures (SSHSIG, namespace `predtrack`): sign with ssh-keygen, verify against a registered key."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from predtrack.errors import InputError
from predtrack.proofs import ProofError, run_tool
from predtrack.proofs.keys import PublicKey, key_from_blob, ssh_strings

NAMESPACE = "predtrack"
KEY_ENV = "PREDTRACK_SSH_KEY"
# Signing may wait for a passphrase or an agent's confirmation prompt; verifying never waits.
SIGN_TIMEOUT = 60.0
VERIFY_TIMEOUT = 10.0
_BEGIN, _END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
# Key types the `sshsig` library verifies in-process; others go through `ssh-keygen -Y verify`.
_IN_PROCESS = frozenset({"ssh-ed25519", "ssh-rsa"})
# Messages signed per ssh-keygen run (file names on its command line).
_FILES_PER_RUN = 2000


@dataclass(frozen=True)
class SignatureInfo:
    """What an armored SSH signature says of itself (not yet checked against any message)."""

    key: PublicKey
    namespace: str
    hash_algorithm: str


def signature_info(signature: str) -> SignatureInfo:
    """Parse an armored SSHSIG; ProofError if it is not one."""
    text = signature.strip()
    if not (text.startswith(_BEGIN) and text.endswith(_END)):
        raise ProofError("signature is not an armored SSH signature")
    try:
        blob = base64.b64decode("".join(text[len(_BEGIN) : -len(_END)].split()), validate=True)
    except (binascii.Error, ValueError):
        raise ProofError("signature is not valid base64") from None
    if blob[:6] != b"SSHSIG" or blob[6:10] != b"\x00\x00\x00\x01":
        raise ProofError("signature is not an SSHSIG version 1 blob")
    try:
        fields = ssh_strings(blob[10:])
        if len(fields) != 5:
            raise ValueError("wrong number of fields")
        namespace, hash_algorithm = fields[1].decode("utf-8"), fields[3].decode("ascii")
        # The inner signature must be exactly (algorithm, bytes): the library reading it
        # tolerates a length that overruns, which would let one signature have many encodings.
        signed_as, _ = ssh_strings(fields[4])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise ProofError("signature is a malformed SSHSIG blob") from None
    try:
        key = key_from_blob(fields[0])
    except InputError as error:
        raise ProofError(f"signature names no usable key: {error}") from None
    rsa = key.algorithm == "ssh-rsa"
    allowed = {b"rsa-sha2-256", b"rsa-sha2-512"} if rsa else {key.algorithm.encode()}
    if signed_as not in allowed:
        raise ProofError(f"signature of a {key.algorithm} key is made with {signed_as[:40]!r}")
    return SignatureInfo(key, namespace, hash_algorithm)


def sign(message: bytes, key: PublicKey | None = None, *, timeout: float = SIGN_TIMEOUT) -> str:
    """Armored SSHSIG over `message` by the private key in $PREDTRACK_SSH_KEY, else by ssh-agent.

    With ssh-agent, `key` (the forecaster's registered public key) says which agent key signs.
    When `key` is given, a signature by any other key is refused.
    """
    return sign_many([message], key, timeout=timeout)[0]


def sign_many(
    messages: Sequence[bytes], key: PublicKey | None = None, *, timeout: float = SIGN_TIMEOUT
) -> list[str]:
    """Armored SSHSIGs over each message, by one key, in as few `ssh-keygen` runs as possible (see `sign`)."""
    key_file = os.environ.get(KEY_ENV)
    signatures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="predtrack-sign-") as scratch:
        if key_file:
            if not os.path.isfile(key_file):
                raise InputError(f"{KEY_ENV}={key_file} is not a file (give a private key file)")
            source = f"{KEY_ENV}={key_file}"
        elif os.environ.get("SSH_AUTH_SOCK"):
            if key is None:
                raise InputError("signing through ssh-agent needs the forecaster's registered key")
            # A public key file alone makes ssh-keygen ask the agent for the matching private key.
            key_file = str(Path(scratch) / "signer.pub")
            Path(key_file).write_text(key.openssh + "\n")
            source = f"ssh-agent ({key.fingerprint})"
        else:
            raise InputError(
                f"no SSH key to sign with: set {KEY_ENV} to a private key file, "
                "or run ssh-agent (SSH_AUTH_SOCK) with the key added"
            )
        for start in range(0, len(messages), _FILES_PER_RUN):
            chunk = messages[start : start + _FILES_PER_RUN]
            signatures += _run_sign(chunk, key_file, source, Path(scratch), timeout)
    for signature in signatures:
        try:
            signer = signature_info(signature).key
        except ProofError as error:
            raise InputError(f"ssh-keygen gave no usable signature: {error}") from None
        if key is not None and signer.blob != key.blob:
            raise InputError(
                f"{source} signed with key {signer.fingerprint}, "
                f"but the registered key is {key.fingerprint}"
            )
    return signatures


def _run_sign(
    messages: Sequence[bytes], key_file: str, source: str, scratch: Path, timeout: float
) -> list[str]:
    """One `ssh-keygen -Y sign` run: the message on stdin, or several as files in `scratch`."""
    command = ["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-f", key_file]
    files: list[Path] = []
    if len(messages) > 1:
        batch = Path(tempfile.mkdtemp(dir=scratch))
        for number, message in enumerate(messages):
            files.append(batch / f"m{number}")
            files[-1].write_bytes(message)
        command += [str(f) for f in files]
    code, out, err = run_tool(
        command,
        input=messages[0] if not files else None,
        what="ssh-keygen -Y sign",
        timeout=timeout + len(files) * 0.05,
        package="openssh-client",
    )
    if code != 0:
        raise InputError(f"ssh-keygen could not sign with {source}: {err or f'exit {code}'}")
    if not files:
        return [out.decode("ascii", "replace")]
    try:
        return [Path(f"{f}.sig").read_text("ascii", "replace") for f in files]
    except OSError:
        raise InputError(f"ssh-keygen signed with {source} but wrote no signature file") from None


def verify_signature(message: bytes, signature: str, key: PublicKey) -> SignatureInfo:
    """Check that `key` signed exactly `message` in namespace `predtrack`; ProofError saying why not."""
    info = signature_info(signature)
    if info.namespace != NAMESPACE:
        raise ProofError(f"signature is for namespace {info.namespace!r}, not {NAMESPACE!r}")
    if info.key.blob != key.blob:
        raise ProofError(f"signature is by key {info.key.fingerprint}, not {key.fingerprint}")
    if info.hash_algorithm not in ("sha256", "sha512"):
        raise ProofError(f"signature uses hash {info.hash_algorithm!r}, not sha256 or sha512")
    if key.algorithm in _IN_PROCESS and _have_sshsig():
        good = _verify_in_process(message, signature, key)
    else:
        good = _verify_with_ssh_keygen(message, signature, key)
    if not good:
        raise ProofError("signature does not match the message (was it edited after signing?)")
    return info


def _have_sshsig() -> bool:
    try:
        import sshsig  # noqa: F401
    except ImportError:
        return False
    return True


def _verify_in_process(message: bytes, signature: str, key: PublicKey) -> bool:
    import sshsig

    try:
        sshsig.verify(
            message,
            signature,
            [sshsig.PublicKey.from_ssh_encoding(key.blob)],
            namespace=NAMESPACE,
        )
    # A hostile blob can make the library fail in ways other than InvalidSignature
    # (a truncated field, an assertion on the algorithm name): each is a signature that fails.
    except Exception:
        return False
    return True


def _verify_with_ssh_keygen(message: bytes, signature: str, key: PublicKey) -> bool:
    with tempfile.TemporaryDirectory(prefix="predtrack-verify-") as scratch:
        allowed = Path(scratch) / "allowed_signers"
        allowed.write_text(f'predtrack namespaces="{NAMESPACE}" {key.openssh}\n')
        signature_file = Path(scratch) / "message.sig"
        signature_file.write_text(signature.strip() + "\n")
        code, _, _ = run_tool(
            ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "predtrack", "-n", NAMESPACE,
             "-s", str(signature_file)],
            input=message,
            what="ssh-keygen -Y verify",
            timeout=VERIFY_TIMEOUT,
            package="openssh-client",
        )  # fmt: skip
    return code == 0
