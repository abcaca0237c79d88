"""Production fails closed: no configured keys, no start; no Stripe key, no payments
worker; and every environment but ``development`` is production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from services.auth.service import definition
from services.common.runtime import ServiceRuntime
from services.common.settings import Environment, Settings
from services.payments.stripe_gateway import MissingStripeKey, StripeGateway


def key_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def production(tmp_path: Path, **overrides: Any) -> Settings:
    _private, public = key_pair()
    values: dict[str, Any] = {
        "environment": "production",
        "data_dir": tmp_path,
        "jwt_public_key": public,
        "stripe_secret_key": "sk_live_configured",
    }
    return Settings(_env_file=None, **(values | overrides))


def test_a_configured_production_starts(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert settings.is_production and not settings.is_development


def test_production_payments_refuse_to_start_without_a_stripe_key(tmp_path: Path) -> None:
    # Only payments holds the key: the other services start without it ...
    keyless = production(tmp_path, stripe_secret_key=None)
    # ... and the payments worker, which charges, refuses to (no fallback to localstripe).
    with pytest.raises(MissingStripeKey, match="STRIPE_SECRET_KEY must be set in production"):
        StripeGateway.from_settings(keyless)


def test_production_refuses_to_start_without_the_public_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEY must be set in production"):
        production(tmp_path, jwt_public_key=None)


def test_production_refuses_generated_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be set in production"):
        Settings(_env_file=None, environment="production", data_dir=tmp_path)


@pytest.mark.parametrize("environment", ["test", "staging"])
def test_an_environment_is_development_or_production(tmp_path: Path, environment: str) -> None:
    # `test` was once accepted and quietly ran with production's rules: now it is refused
    # at start, saying what is accepted.
    with pytest.raises(ValidationError, match="'development' or 'production'"):
        Settings(_env_file=None, environment=environment, data_dir=tmp_path)


def test_development_runs_on_generated_keys_and_localstripe(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.is_development and not settings.is_production
    assert settings.uses_localstripe


async def test_auth_refuses_to_start_in_production_without_its_private_key(
    tmp_path: Path,
) -> None:
    settings = production(tmp_path)
    with pytest.raises(RuntimeError, match="JWT_PRIVATE_KEY must be set"):
        async with ServiceRuntime.running(definition, settings):
            pass
    # No key was generated in its place.
    assert not (tmp_path / "jwt-ed25519-development.pem").exists()
