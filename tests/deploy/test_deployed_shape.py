"""The defences as deployed (tests/deploy/deployed.py: nginx from docker/nginx.conf, two
API processes, the web shop, Redis): the sign-in limit per address counts each visitor,
whatever X-Forwarded-For they send and whichever API process answers."""

from __future__ import annotations

import asyncio
import re
from uuid import uuid4

import httpx

from tests.deploy.deployed import SIGNIN_LIMIT, Deployment
from tests.support.metrics import figure

ANN, BOB, CAROL, DAN, EVE = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"
TOO_MANY = "Too many sign-ins from your address"


async def signin(visitor: httpx.AsyncClient, forged: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": forged} if forged else {}
    # An account of its own each time: the lock per account stays out of it.
    return await visitor.post(
        "/api/users/signin",
        json={"email": f"{uuid4().hex[:12]}@example.com", "password": "not the password"},
        headers=headers,
    )


async def signins_served(deployed: Deployment, index: int) -> float:
    async with deployed.api(index) as api:
        text = (await api.get("/metrics")).text
    return figure(
        text,
        "ticketing_http_requests_total",
        route="/api/users/signin",
        method="POST",
        status="400",
    ) + figure(
        text,
        "ticketing_http_requests_total",
        route="/api/users/signin",
        method="POST",
        status="429",
    )


async def test_each_visitor_has_a_sign_in_limit_of_their_own_across_both_api_processes(
    deployed: Deployment,
) -> None:
    async with deployed.visitor(ANN) as ann, deployed.visitor(BOB) as bob:
        spent = [(await signin(ann)).status_code for _ in range(SIGNIN_LIMIT + 1)]
        # nginx spread them over both API processes; neither alone saw the limit pass.
        assert spent == [400] * SIGNIN_LIMIT + [429]
        served = await asyncio.gather(*(signins_served(deployed, i) for i in range(2)))
        assert all(0 < count <= SIGNIN_LIMIT for count in served), served
        refused = await signin(ann)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.json()["errors"][0]["message"].startswith(TOO_MANY)

        # Bob, behind the same nginx, is not touched by Ann's.
        assert (await signin(bob)).status_code == 400
        # A forged X-Forwarded-For buys Ann no fresh bucket ...
        for forged in ("198.51.100.7", "127.0.0.3", "10.1.2.3, 127.0.0.1"):
            assert (await signin(ann, forged)).status_code == 429, forged
        # ... and costs Bob's his own: every forged one counts as Bob.
        statuses = [(await signin(bob, f"203.0.113.{i}")).status_code for i in range(SIGNIN_LIMIT)]
        assert statuses == [400] * (SIGNIN_LIMIT - 1) + [429]


async def form_token(visitor: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """The sign-in page's form token, and the cookie that goes with it (sent by hand: it
    is Secure, as production's is, and this nginx speaks plain HTTP)."""
    page = await visitor.get("/auth/signin")
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith("__Host-csrf=")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1), {"cookie": cookie}


def signin_form(token: str) -> dict[str, str]:
    return {"email": "c@example.com", "password": "not the password", "next": "/", "csrf": token}


async def test_the_shop_counts_its_visitor_not_itself(deployed: Deployment) -> None:
    """The shop signs in through nginx too: the API sees the visitor it forwards."""
    async with deployed.visitor(CAROL) as carol, deployed.visitor(DAN) as dan:
        for _ in range(SIGNIN_LIMIT + 1):
            await signin(carol)
        token, cookie = await form_token(carol)
        refused = await carol.post(
            "/auth/signin", data=signin_form(token), headers={**cookie, "x-forwarded-for": DAN}
        )
        assert refused.status_code == 429
        assert TOO_MANY in refused.text
        token, cookie = await form_token(dan)
        answered = await dan.post("/auth/signin", data=signin_form(token), headers=cookie)
        assert answered.status_code == 400
        assert TOO_MANY not in answered.text


async def test_the_shop_refuses_a_cross_site_post_and_a_missing_token(
    deployed: Deployment,
) -> None:
    async with deployed.visitor(EVE) as eve:
        token, cookie = await form_token(eve)
        # From another site, with a good token (a forging page cannot read one, even).
        cross_site = {**cookie, "sec-fetch-site": "cross-site", "origin": "https://evil.example"}
        for path in ("/auth/signin", "/auth/signup", "/auth/signout"):
            refused = await eve.post(path, data=signin_form(token), headers=cross_site)
            assert refused.status_code == 403, path
        # From the shop's own page, without the token, or with another visitor's cookie.
        same_origin = {"sec-fetch-site": "same-origin", "origin": deployed.url}
        without = {k: v for k, v in signin_form(token).items() if k != "csrf"}
        refused = await eve.post("/auth/signin", data=without, headers={**cookie, **same_origin})
        assert refused.status_code == 403
        refused = await eve.post("/auth/signin", data=signin_form(token), headers=same_origin)
        assert refused.status_code == 403
        # The same form, whole and from the shop's own page, goes through.
        answered = await eve.post(
            "/auth/signin", data=signin_form(token), headers={**cookie, **same_origin}
        )
        assert answered.status_code == 400
        assert (await eve.get("/auth/signout")).status_code == 405


async def test_the_shops_pages_carry_their_security_headers_through_nginx(
    deployed: Deployment,
) -> None:
    async with deployed.visitor(EVE) as eve:
        for path in ("/", "/auth/signin", "/static/shop.css"):
            headers = (await eve.get(path)).headers
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy, path
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "same-origin", path
            assert headers["x-frame-options"] == "DENY", path


async def test_an_idle_connection_outlives_the_keep_alive_of_what_is_in_front(
    deployed: Deployment,
) -> None:
    """A served process keeps an idle connection longer than a client or proxy in front
    keeps one (httpx: 5 s): a request sent on it then is answered, not cut off."""
    for port in (deployed.api_ports[0], deployed.web_port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                await writer.drain()
                status = await asyncio.wait_for(reader.readline(), timeout=10)
                assert status.startswith(b"HTTP/1.1 "), (port, status)
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                # Past uvicorn's default keep-alive (5 s), which equals httpx's.
                await asyncio.sleep(6)
        finally:
            writer.close()
