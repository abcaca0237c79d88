"""How a real cluster's NATS is reached: TLS with a private CA and a client certificate,
as the settings ask (no server needed to check what the client is given)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.messaging.bus import nats_tls
from services.common.settings import Settings


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_plain_on_the_embedded_stack() -> None:
    assert nats_tls(Settings(_env_file=None)) is None


def test_a_private_ca_and_a_client_certificate(tmp_path: Path) -> None:
    ca, _ca_key = self_signed(tmp_path, "ca")
    cert, key = self_signed(tmp_path, "client")
    context = nats_tls(
        Settings(_env_file=None, nats_tls_ca=ca, nats_tls_cert=cert, nats_tls_key=key)
    )
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert any(entry["subject"] == ((("commonName", "ca"),),) for entry in context.get_ca_certs())


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    cert, _key = self_signed(tmp_path, "client")
    with pytest.raises(ValueError, match="NATS_TLS_CERT and NATS_TLS_KEY go together"):
        nats_tls(Settings(_env_file=None, nats_tls_cert=cert))


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # The compose file passes every optional setting through, empty when not given.
    for name in ("NATS_CREDENTIALS", "NATS_TLS_CA", "TEMPORAL_TLS_CERT", "STRIPE_SECRET_KEY"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)
    assert settings.nats_credentials is None and nats_tls(settings) is None
    assert settings.temporal_tls_cert is None and settings.uses_localstripe
