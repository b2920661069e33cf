"""A local RFC 3161 timestamp authority for tests: `openssl ts -reply` behind a loopback HTTP server."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# One file serves `openssl req`, `openssl ca` (which can back-date a certificate, so an expired
# TSA certificate can be made) and `openssl ts -reply`, the CA and the TSA sharing a section.
# `certs` is left unset: replies carry only the signer certificate, since some verifiers
# reject a certificate SET that is not in DER order.
CONFIG = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused

[ ca ]
default_ca = authority
[ tsa ]
default_tsa = authority
[ authority ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 30
policy = anything
unique_subject = no
email_in_dn = no
x509_extensions = tsa_cert
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ anything ]
organizationName = optional
commonName = supplied
[ ca_cert ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa_cert ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def openssl(*args: str | Path, cwd: Path) -> bytes:
    """Run openssl; raise with its stderr if it fails."""
    done = subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


class TimestampAuthority:
    """A CA and a TSA certificate it issued, made with `openssl` in `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        tsa_name: str = "predtrack test TSA",
        ca_name: str = "predtrack test CA",
        start: str | None = None,
        end: str | None = None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.config = directory / "openssl.cnf"
        self.config.write_text(CONFIG.format(dir=directory))
        (directory / "index.txt").write_text("")
        (directory / "serial").write_text("01\n")  # certificates and tokens share it
        self.ca_pem = directory / "ca.pem"
        openssl(
            "req", "-config", self.config, "-x509", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "ca.key", "-out", self.ca_pem, "-subj", f"/CN={ca_name}",
            "-days", "30", "-extensions", "ca_cert", cwd=directory,
        )  # fmt: skip
        self.tsa_pem = self.issue_tsa_certificate("tsa", tsa_name, start=start, end=end)

    def issue_tsa_certificate(
        self, stem: str, name: str, *, start: str | None = None, end: str | None = None
    ) -> Path:
        """Issue a timeStamping certificate (validity `start`..`end` as YYYYMMDDHHMMSSZ)."""
        openssl(
            "req", "-config", self.config, "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", f"{stem}.key", "-out", f"{stem}.csr", "-subj", f"/O=predtrack tests/CN={name}",
            cwd=self.dir,
        )  # fmt: skip
        dates = [*(["-startdate", start] if start else []), *(["-enddate", end] if end else [])]
        openssl(
            "ca", "-config", self.config, "-batch", "-notext", "-in", f"{stem}.csr",
            "-out", f"{stem}.pem", *dates, cwd=self.dir,
        )  # fmt: skip
        return self.dir / f"{stem}.pem"

    def reply(self, query: bytes, signer: str = "tsa") -> bytes:
        """The DER TimeStampResp that `openssl ts -reply` gives for a DER TimeStampReq."""
        with tempfile.TemporaryDirectory(dir=self.dir) as scratch:
            request = Path(scratch) / "request.tsq"
            request.write_bytes(query)
            return openssl(
                "ts", "-reply", "-config", self.config, "-queryfile", request,
                "-signer", f"{signer}.pem", "-inkey", f"{signer}.key", "-out", "-",
                cwd=self.dir,
            )  # fmt: skip


Responder = Callable[[str, bytes], tuple[int, bytes]]


@contextmanager
def serve(respond: Responder) -> Iterator[str]:
    """An HTTP server on a loopback port answering each POST with `respond(content_type, body)`.

    Yields the server's URL.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = respond(self.headers.get("Content-Type", ""), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def authority_responder(authority: TimestampAuthority, signer: str = "tsa") -> Responder:
    """Answer RFC 3161 queries as a TSA does, refusing any other content type (HTTP 415)."""

    def respond(content_type: str, body: bytes) -> tuple[int, bytes]:
        if content_type != "application/timestamp-query":
            return 415, b"want application/timestamp-query"
        return 200, authority.reply(body, signer)

    return respond


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel completes them) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/tsa"


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
