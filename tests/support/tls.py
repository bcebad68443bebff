"""Development certificates for the TLS tests, made at test time with trustme: no key is ever
committed to the repo."""

from __future__ import annotations

import base64
import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost."""

    ca: Path  # the CA's certificate: what clients trust
    cert: Path  # the server's certificate chain
    key: Path  # the server's private key
    spki: str  # base64 SHA-256 of the server's public key, as Chromium's pin lists take it

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts the test CA only."""
        return ssl.create_default_context(cafile=str(self.ca))


def make_tls_files(folder: Path) -> TlsFiles:
    """A new CA and server certificate, written as PEM files into ``folder``."""
    authority = trustme.CA()
    issued = authority.issue_cert(*SERVER_NAMES)
    files = TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem", "")
    authority.cert_pem.write_to_path(str(files.ca))
    issued.cert_chain_pems[0].write_to_path(str(files.cert))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(files.cert), append=True)
    issued.private_key_pem.write_to_path(str(files.key))
    certificate = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    public_key = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    spki = base64.b64encode(hashlib.sha256(public_key).digest()).decode("ascii")
    return TlsFiles(files.ca, files.cert, files.key, spki)
