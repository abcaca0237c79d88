"""The shop refuses forged forms: every POST must carry the token its page was given (a
signed double submit: field and cookie alike, signed by the shop) and come from the
shop's own origin; sign-out is a POST like the rest. What passes reaches the API with
what the browser said of its origin, so the API's own rule judges it too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from web.app import create_app
from web.rendering import TEMPLATES
from web.settings import WebSettings

FORMS = [
    "/auth/signin",
    "/auth/signup",
    "/auth/signout",
    "/tickets/new",
    "/tickets/t1/edit",
    "/tickets/t1/buy",
    "/orders/o1/pay",
    "/orders/o1/cancel",
]
SESSION = {"session": "ann"}
SAME_ORIGIN = {"sec-fetch-site": "same-origin", "origin": "http://shop"}
FORGED_ORIGINS = {
    "another site": {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    "a sibling subdomain": {"sec-fetch-site": "same-site", "origin": "https://blog.shop"},
    "another origin, no fetch metadata": {"origin": "https://evil.example"},
    "an opaque origin": {"origin": "null"},
}


@pytest.fixture
def called() -> list[tuple[str, str, dict[str, str]]]:
    return []


def stand_in_api(called: list[tuple[str, str, dict[str, str]]]) -> FastAPI:
    """Answers every API call the forms make, and records it."""
    api = FastAPI()

    @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def anything(path: str, request: Request) -> Response:
        called.append((request.method, f"/{path}", dict(request.headers)))
        if path == "api/users/currentuser":
            return Response('{"currentUser": {"id": "u1", "email": "ann@x.io"}}')
        if path.startswith("api/tickets/"):
            return Response('{"id": "t1", "title": "T", "price": 1, "userId": "u2"}')
        return Response('{"errors": [{"message": "no"}]}', status_code=400)

    return api


@pytest.fixture
async def shop(called: list[tuple[str, str, dict[str, str]]]) -> AsyncIterator[FastAPI]:
    app = create_app(
        WebSettings(_env_file=None, web_api_url="http://api"),
        api_transport=httpx.ASGITransport(app=stand_in_api(called)),
    )
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://shop", cookies=SESSION
    )


async def token_of(visitor: httpx.AsyncClient, path: str = "/auth/signin") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await visitor.get(path)).text)
    assert found is not None
    return found.group(1)


def form(token: str | None) -> dict[str, str]:
    fields = {
        "email": "ann@example.com",
        "password": "a long enough password",
        "title": "T",
        "price": "1",
        "token": "pm_1",
    }
    return fields if token is None else {**fields, "csrf": token}


def api_writes(called: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in called if method != "GET"]


@pytest.mark.parametrize("path", FORMS)
async def test_a_form_without_its_token_is_refused_before_the_api_hears_of_it(
    shop: FastAPI, called: list[tuple[str, str, dict[str, str]]], path: str
) -> None:
    async with browser(shop) as visitor:
        token = await token_of(visitor)
        for sent in (form(None), form(""), form(token + "x"), form(token.split(".")[0])):
            refused = await visitor.post(path, data=sent, headers=SAME_ORIGIN)
            assert refused.status_code == 403, sent
            assert "That form could not be sent" in refused.text
        assert api_writes(called) == []
        # With it, the form goes through to the API.
        passed = await visitor.post(path, data=form(token), headers=SAME_ORIGIN)
        assert passed.status_code != 403
    assert api_writes(called), path


@pytest.mark.parametrize("headers", FORGED_ORIGINS.values(), ids=FORGED_ORIGINS.keys())
@pytest.mark.parametrize("path", ["/auth/signin", "/tickets/t1/buy", "/orders/o1/cancel"])
async def test_a_form_from_another_origin_is_refused_even_with_a_token(
    shop: FastAPI,
    called: list[tuple[str, str, dict[str, str]]],
    headers: dict[str, str],
    path: str,
) -> None:
    async with browser(shop) as visitor:
        refused = await visitor.post(path, data=form(await token_of(visitor)), headers=headers)
    assert refused.status_code == 403
    assert api_writes(called) == []


async def test_a_token_is_good_only_with_its_own_cookie_and_the_shops_signature(
    shop: FastAPI, called: list[tuple[str, str, dict[str, str]]]
) -> None:
    async with browser(shop) as ann, browser(shop) as mallory:
        anns = await token_of(ann)
        mallorys = await token_of(mallory)
        # Mallory's own valid token, sent into Ann's browser: not the one her cookie holds.
        assert (await ann.post("/auth/signin", data=form(mallorys))).status_code == 403
        # A pair made up without the shop's key: cookie and field alike, unsigned.
        ann.cookies.set("csrf", "made.up")
        assert (await ann.post("/auth/signin", data=form("made.up"))).status_code == 403
        ann.cookies.set("csrf", anns)
        assert (await ann.post("/auth/signin", data=form(anns))).status_code == 400
    assert api_writes(called) == ["POST /api/users/signin"]


async def test_the_shop_tells_the_api_where_the_form_came_from(
    shop: FastAPI, called: list[tuple[str, str, dict[str, str]]]
) -> None:
    async with browser(shop) as visitor:
        await visitor.post("/tickets/new", data=form(await token_of(visitor)), headers=SAME_ORIGIN)
    (headers,) = [sent for method, _, sent in called if method == "POST"]
    assert headers["sec-fetch-site"] == "same-origin"
    assert headers["origin"] == "http://shop"


async def test_sign_out_is_a_post_and_no_link_signs_anyone_out(
    shop: FastAPI, called: list[tuple[str, str, dict[str, str]]]
) -> None:
    async with browser(shop) as visitor:
        assert (await visitor.get("/auth/signout")).status_code == 405
        assert api_writes(called) == []
        page = (await visitor.get("/")).text
        assert re.search(r'<form method="post" action="/auth/signout"', page)


def test_every_form_of_the_shop_carries_its_token() -> None:
    for template in Path(TEMPLATES).glob("*.html"):
        text = template.read_text()
        for found in re.finditer(r"<form [^>]*method=\"post\"[^>]*>", text):
            after = text[found.end() : found.end() + 300]
            assert "csrf_field()" in after, f"{template.name}: {found.group(0)}"


def production(**overrides: Any) -> WebSettings:
    values: dict[str, Any] = {
        "environment": "production",
        "stripe_publishable_key": "pk_live_x",
        "web_csrf_secret": "s" * 32,
    }
    return WebSettings(_env_file=None, **(values | overrides))


async def test_in_production_the_token_cookie_is_the_hosts_alone_and_the_secret_required() -> None:
    with pytest.raises(ValidationError, match="WEB_CSRF_SECRET must be set"):
        production(web_csrf_secret=None)
    app = create_app(production(web_api_url="http://api"))
    async with app.router.lifespan_context(app), browser(app) as visitor:
        cookie = (await visitor.get("/auth/signin")).headers["set-cookie"]
    assert cookie.startswith("__Host-csrf=")
    for attribute in ("Path=/", "HttpOnly", "SameSite=Strict", "Secure"):
        assert attribute in cookie
    assert "Domain" not in cookie


async def test_in_production_sign_out_clears_the_host_cookie_even_when_the_api_fails() -> None:
    broken = FastAPI()

    @broken.post("/api/users/signout")
    async def signout() -> Response:
        return Response(status_code=503)

    app = create_app(
        production(web_api_url="http://api"), api_transport=httpx.ASGITransport(app=broken)
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://shop") as visitor,
    ):
        visitor.cookies.set("__Host-session", "a-token")
        token = await token_of(visitor)
        out = await visitor.post("/auth/signout", data={"csrf": token}, headers=SAME_ORIGIN)
    assert out.status_code == 303
    cleared = [c for c in out.headers.get_list("set-cookie") if c.startswith("__Host-session=")]
    assert cleared and "Max-Age=0" in cleared[0] and "Secure" in cleared[0]
