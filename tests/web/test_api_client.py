"""The shop's way to the API: each visitor's session goes out with their own requests
only, and the API's cookies come back to that visitor."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Cookie, FastAPI, Request, Response

from web.app import create_app
from web.rendering import safe_next
from web.settings import WebSettings


def stand_in_api(seen: list[str | None]) -> FastAPI:
    """Just enough of /api/users: sign-in sets ``session`` to the email. ``seen``: the
    Cookie header of each ticket list asked for."""
    api = FastAPI()

    @api.post("/api/users/signin")
    async def signin(body: dict[str, str], response: Response) -> dict[str, str]:
        response.set_cookie("session", body["email"], httponly=True, samesite="lax")
        return {"email": body["email"]}

    @api.get("/api/users/currentuser")
    async def current(session: str | None = Cookie(default=None)) -> dict[str, object]:
        return {"currentUser": {"id": session, "email": session} if session else None}

    @api.get("/api/tickets")
    async def tickets(request: Request) -> list[object]:
        seen.append(request.headers.get("cookie"))
        return []

    return api


@pytest.fixture
def seen() -> list[str | None]:
    return []


@pytest.fixture
async def shop(seen: list[str | None]) -> AsyncIterator[FastAPI]:
    app = create_app(
        WebSettings(_env_file=None, web_api_url="http://api"),
        api_transport=httpx.ASGITransport(app=stand_in_api(seen)),
    )
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop")


async def form_token(visitor: httpx.AsyncClient) -> str:
    """The token a page of the shop gives its forms (and its cookie, kept by the client)."""
    page = (await visitor.get("/auth/signin")).text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def test_a_session_reaches_its_visitor_and_nobody_else(
    shop: FastAPI, seen: list[str | None]
) -> None:
    async with browser(shop) as ann, browser(shop) as bob:
        signed_in = await ann.post(
            "/auth/signin",
            data={
                "email": "ann@example.com",
                "password": "x",
                "next": "/",
                "csrf": await form_token(ann),
            },
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/"
        assert signed_in.headers["set-cookie"].startswith('session="ann@example.com"')
        assert "HttpOnly" in signed_in.headers["set-cookie"]

        assert "ann@example.com" in (await ann.get("/")).text
        page = (await bob.get("/")).text
        assert seen == ["session=ann@example.com", None]
        assert "ann@example.com" not in page
        assert "Sign in" in page
        # The shop's own client kept nothing.
        assert not shop.state.http.cookies


async def test_sign_in_goes_back_only_to_a_path_on_this_site(shop: FastAPI) -> None:
    async with browser(shop) as visitor:
        answered = await visitor.post(
            "/auth/signin",
            data={
                "email": "ann@example.com",
                "password": "x",
                "next": "//evil.example/x",
                "csrf": await form_token(visitor),
            },
        )
        assert answered.headers["location"] == "/"
    assert safe_next("/tickets/1?x=2") == "/tickets/1?x=2"
    for hostile in ("https://evil.example/", "//evil.example", "/\\evil.example", "tickets"):
        assert safe_next(hostile) == "/"


async def test_an_api_failure_gets_a_page_of_its_own_never_a_stack_trace() -> None:
    failing = FastAPI()

    @failing.get("/api/tickets")
    async def broken() -> None:
        raise RuntimeError("secret detail")

    app = create_app(
        WebSettings(_env_file=None, web_api_url="http://api"),
        api_transport=httpx.ASGITransport(app=failing, raise_app_exceptions=False),
    )
    async with app.router.lifespan_context(app), browser(app) as visitor:
        page = await visitor.get("/")
    assert page.status_code == 503
    assert "can't reach Ticketing" in page.text
    assert "secret detail" not in page.text
    assert "Traceback" not in page.text


@pytest.mark.parametrize(
    ("peer", "claimed", "forwarded"),
    [
        # Through the shop's own proxy: the hop it saw, not what the visitor wrote first.
        ("10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.1", None, "10.0.0.1"),
        # Straight to the shop: the peer, whatever it claims.
        ("198.51.100.9", "6.6.6.6", "198.51.100.9"),
    ],
)
async def test_the_shop_forwards_the_visitor_its_proxies_saw_and_nothing_else(
    peer: str, claimed: str | None, forwarded: str
) -> None:
    told: list[str | None] = []
    api = FastAPI()

    @api.get("/api/tickets")
    async def tickets(request: Request) -> list[object]:
        told.append(request.headers.get("x-forwarded-for"))
        return []

    app = create_app(
        WebSettings(_env_file=None, web_api_url="http://api", trusted_proxies="10.0.0.1"),
        api_transport=httpx.ASGITransport(app=api),
    )
    headers = {"x-forwarded-for": claimed} if claimed else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://shop") as visitor,
    ):
        assert (await visitor.get("/", headers=headers)).status_code == 200
    assert told == [forwarded]


async def test_each_prefix_goes_to_its_own_server_with_the_public_host() -> None:
    """As the chart has it: the shop reaches each service's own address, not the ingress."""
    reached: list[tuple[str, str, str]] = []

    def server(name: str) -> FastAPI:
        api = FastAPI()

        @api.get("/api/tickets")
        async def tickets(request: Request) -> list[object]:
            reached.append((name, request.url.path, request.headers["host"]))
            return []

        return api

    mounts = {"http://tickets-service": server("tickets"), "http://api": server("ingress")}

    class Servers(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            app = mounts[f"{request.url.scheme}://{request.url.host}"]
            return await httpx.ASGITransport(app=app).handle_async_request(request)

    app = create_app(
        WebSettings(
            _env_file=None,
            web_api_url="http://api",
            web_api_routes={"/api/tickets": "http://tickets-service"},
        ),
        api_transport=Servers(),
    )
    async with app.router.lifespan_context(app), browser(app) as visitor:
        assert (await visitor.get("/")).status_code == 200
    assert reached == [("tickets", "/api/tickets", "api")]


async def test_each_pay_click_sends_one_idempotency_key_for_all_its_tries() -> None:
    keys: list[str | None] = []
    api = FastAPI()

    @api.post("/api/payments")
    async def pay(request: Request, response: Response) -> dict[str, str]:
        keys.append(request.headers.get("idempotency-key"))
        # The order has not reached the payments service yet, the first time of a click.
        response.status_code = 404 if len(keys) % 2 else 201
        return {"id": "p1", "status": "succeeded"}

    @api.get("/api/users/currentuser")
    async def current() -> dict[str, object]:
        return {"currentUser": None}

    app = create_app(
        WebSettings(_env_file=None, web_api_url="http://api"),
        api_transport=httpx.ASGITransport(app=api),
    )
    async with app.router.lifespan_context(app), browser(app) as visitor:
        token = await form_token(visitor)
        visitor.cookies.set("session", "ann")
        for _ in range(2):
            clicked = await visitor.post(
                "/orders/o1/pay", data={"token": "pm_card_visa", "csrf": token}
            )
            assert clicked.status_code == 303
    assert len(keys) == 4 and None not in keys
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]
