"""How a real cluster's Temporal is reached: TLS as the settings ask (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from services.common.settings import Settings
from services.common.temporal import temporal_tls


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_plain_on_the_embedded_stack() -> None:
    assert temporal_tls(_settings()) is False


def test_an_api_key_or_the_switch_turns_tls_on_with_the_system_cas() -> None:
    assert temporal_tls(_settings(temporal_api_key="fake-api-key")) is True
    assert temporal_tls(_settings(temporal_tls=True)) is True


def test_a_client_certificate_is_read_from_its_files(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    cert.write_bytes(b"FAKE CERT")
    key.write_bytes(b"FAKE KEY")
    ca.write_bytes(b"FAKE CA")
    tls = temporal_tls(
        _settings(
            temporal_tls_cert=cert,
            temporal_tls_key=key,
            temporal_tls_ca=ca,
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert tls == TLSConfig(
        client_cert=b"FAKE CERT",
        client_private_key=b"FAKE KEY",
        server_root_ca_cert=b"FAKE CA",
        domain="temporal.internal",
    )


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "tls.crt"
    cert.write_bytes(b"FAKE CERT")
    with pytest.raises(ValueError, match="go together"):
        temporal_tls(_settings(temporal_tls_cert=cert))
