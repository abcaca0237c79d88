"""A cookie-signed unsafe request must come from our own origin (Sec-Fetch-Site, Origin)
or one in ALLOWED_ORIGINS; Bearer requests and requests with neither header (server-side
clients like the web shop) are not concerned, and safe methods never are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest

from services.common.identity.tokens import SESSION_COOKIE, TokenSigner, private_key_pem
from services.common.settings import Settings
from services.tickets.service import definition as tickets
from tests.support.apps import app_client
from tests.tickets.support import error

PARTNER = "https://partner.example.com"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    allowed = settings.model_copy(update={"allowed_origins": [PARTNER]})
    async with app_client(tickets, allowed) as (client, _app):
        yield client


def token(settings: Settings) -> str:
    return TokenSigner(private_key_pem(settings), timedelta(hours=1)).sign(uuid4(), "u@test.dev")


async def list_ticket(
    client: httpx.AsyncClient, settings: Settings, headers: dict[str, str], *, cookie: bool = True
) -> httpx.Response:
    client.cookies.clear()
    sent = dict(headers)
    if cookie:
        client.cookies.set(SESSION_COOKIE, token(settings))
    else:
        sent["Authorization"] = f"Bearer {token(settings)}"
    return await client.post("/api/tickets", json={"title": "T", "price": 1}, headers=sent)


# The test client asks for host "test".
REFUSED = {
    "cross-site by fetch metadata": {
        "Sec-Fetch-Site": "cross-site",
        "Origin": "https://evil.example",
    },
    "same-site sibling": {"Sec-Fetch-Site": "same-site", "Origin": "https://shop.test"},
    "another origin, no fetch metadata": {"Origin": "https://evil.example"},
    "another port of our host": {"Origin": "http://test:8080"},
    "opaque origin": {"Origin": "null"},
    "cross-site without origin": {"Sec-Fetch-Site": "cross-site"},
}
ALLOWED = {
    "same-origin by fetch metadata": {"Sec-Fetch-Site": "same-origin", "Origin": "http://test"},
    "our host, no fetch metadata": {"Origin": "http://test"},
    "an allowed origin": {"Sec-Fetch-Site": "cross-site", "Origin": PARTNER},
    "an allowed origin, written with a slash": {"Origin": PARTNER.upper() + "/"},
    "neither header (a server-side client)": {},
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
async def test_a_cookie_signed_cross_origin_request_is_refused(
    client: httpx.AsyncClient, settings: Settings, headers: dict[str, str]
) -> None:
    response = await list_ticket(client, settings, headers)
    assert response.status_code == 403
    assert response.json() == error("Cross-origin request refused")
    # The same request with a Bearer token instead of the cookie is not concerned.
    assert (await list_ticket(client, settings, headers, cookie=False)).status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("headers", ALLOWED.values(), ids=ALLOWED.keys())
async def test_our_own_and_allowed_origins_pass(
    client: httpx.AsyncClient, settings: Settings, headers: dict[str, str]
) -> None:
    assert (await list_ticket(client, settings, headers)).status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_safe_methods_are_not_concerned(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    client.cookies.set(SESSION_COOKIE, token(settings))
    response = await client.get(
        "/api/tickets/mine", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://x.example"}
    )
    assert response.status_code == 200


def test_allowed_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://A.example.com/, https://b.example.com:8443")
    assert Settings(_env_file=None).allowed_origins == [
        "https://a.example.com",
        "https://b.example.com:8443",
    ]
    monkeypatch.setenv("ALLOWED_ORIGINS", '["https://c.example.com"]')
    assert Settings(_env_file=None).allowed_origins == ["https://c.example.com"]
