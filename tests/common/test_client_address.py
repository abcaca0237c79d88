"""Per-address limits count the visitor behind the proxies named in TRUSTED_PROXIES: the
rightmost X-Forwarded-For hop that is none of them. What the visitor writes left of it
buys no fresh bucket, a peer that is no trusted proxy is the client whatever it claims,
and an IPv6 client counts by its /64. Production refuses to trust anyone (`*`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from pydantic import ValidationError

from services import cli
from services.auth.service import definition as auth
from services.common.http.app import create_app
from services.common.http.forwarded import address_key
from services.common.settings import Settings
from tests.auth.test_production_settings import production

PROXY = "10.0.0.5"
# Two sign-in attempts a minute from one address; the third is refused.
LIMITED = {"signin_attempts_per_address": "2/minute", "trusted_proxies": ["10.0.0.0/24"]}


@asynccontextmanager
async def auth_app(settings: Settings) -> AsyncIterator[Any]:
    app = create_app(auth, settings.model_copy(update=LIMITED))
    async with app.router.lifespan_context(app):
        yield app


async def signins(app: Any, peer: str, forwarded: str | None = None, times: int = 3) -> list[int]:
    """The statuses of ``times`` sign-ins from ``peer``, claiming ``forwarded``."""
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [
            (
                await client.post(
                    "/api/users/signin",
                    json={"email": "nobody@test.dev", "password": "wrong password"},
                    headers=headers,
                )
            ).status_code
            for _ in range(times)
        ]


SPENT = [400, 400, 429]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_visitors_behind_the_proxy_have_a_bucket_each(settings: Settings) -> None:
    async with auth_app(settings) as app:
        assert await signins(app, PROXY, "198.51.100.1") == SPENT
        # Another visitor through the same proxy is not touched by the first one's.
        assert await signins(app, PROXY, "198.51.100.2", times=1) == [400]
        # Through a chain of trusted proxies (the web shop, then nginx) too.
        assert await signins(app, PROXY, "198.51.100.1, 10.0.0.9") == [429] * 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_forged_forwarded_header_buys_no_fresh_bucket(settings: Settings) -> None:
    async with auth_app(settings) as app:
        assert await signins(app, PROXY, "1.1.1.1, 198.51.100.1") == SPENT
        # Whatever the visitor wrote left of what the proxy saw, it is the same visitor.
        for forged in ("2.2.2.2, 198.51.100.1", "198.51.100.99, 198.51.100.1", "x, 198.51.100.1"):
            assert await signins(app, PROXY, forged, times=1) == [429], forged
        # A peer that is no trusted proxy is the client, whatever it claims.
        assert await signins(app, "203.0.113.9", "198.51.100.50") == SPENT
        assert await signins(app, "203.0.113.9", "198.51.100.51", times=1) == [429]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_ipv6_client_counts_by_its_64(settings: Settings) -> None:
    async with auth_app(settings) as app:
        assert await signins(app, "2001:db8:1:2::1") == SPENT
        assert await signins(app, "2001:db8:1:2:ffff:ffff:ffff:fffe", times=1) == [429]
        assert await signins(app, PROXY, "2001:db8:1:2::abcd", times=1) == [429]
        # The next /64 is someone else.
        assert await signins(app, "2001:db8:1:3::1", times=1) == [400]


def test_address_keys() -> None:
    assert address_key("198.51.100.7") == "198.51.100.7"
    assert address_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_key("2001:db8::1") == "2001:db8::/64"
    assert address_key("2001:DB8:0:0:1234::1") == "2001:db8::/64"
    assert address_key("unknown") == "unknown"


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, trusted_proxies="10.0.0.0/8, ::1")
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"]
    assert Settings(_env_file=None, data_dir=tmp_path).trusted_proxies == ["127.0.0.1", "::1"]
    with pytest.raises(ValidationError, match="neither an address nor a network"):
        Settings(_env_file=None, data_dir=tmp_path, trusted_proxies="nginx")


def test_production_refuses_to_trust_anyone(tmp_path: Path) -> None:
    assert Settings(_env_file=None, data_dir=tmp_path, trusted_proxies="*").trusted_proxies == ["*"]
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES=\\* is refused in production"):
        production(tmp_path, trusted_proxies="*")
    assert production(tmp_path, trusted_proxies='["172.28.0.10"]').trusted_proxies == [
        "172.28.0.10"
    ]


@pytest.mark.parametrize("service", ["auth", "web"])
def test_serve_leaves_the_client_to_the_app(monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    """uvicorn's own proxy handling, on its own default (FORWARDED_ALLOW_IPS), would
    rewrite the client before the app's setting is asked."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: started.append(options))
    monkeypatch.setattr(cli, "configure_tracing", lambda *_: None, raising=False)
    with suppress(typer.Exit):
        cli.serve(service, port=8000, host="127.0.0.1")
    (options,) = started
    assert options["proxy_headers"] is False
