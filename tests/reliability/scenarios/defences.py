"""Attacks on the defences of issue "safe as deployed", each kind counted: other
spellings of a locked account's address, holding a ticket by cancelling and ordering it
again, forms posted to the shop from another site or without their token, card probes
through 3-D Secure, forged X-Forwarded-For headers, and card testing over several
accounts from one address. Each must be refused as the defence says, in its shape.

The last two need the per-address limits the harness otherwise opens wide for its own
load (a thousand buyers from one machine): the API restarts with them tight for the
while, and the attackers connect from loopback addresses of their own (127.0.0.2, ...),
which no service trusts as a proxy."""

from __future__ import annotations

import asyncio
import os
import re
from uuid import uuid4

import httpx

from tests.reliability.market import Market
from tests.reliability.scenarios.tally import Tally
from tests.reliability.stack import HarnessStack
from tests.support.cards import DECLINED, NEEDS_3DS

PASSWORD = "secret-password"
# Each is the same account as victim@<domain> once normalised.
SPELLINGS = [
    "{local}@{fullwidth}",
    "{local}@{domain_ideographic}",
    "{local}@{domain_joined}",
    "{local}@{domain_selected}",
    " {upper}@{domain} ",
]


async def _unicode_spellings(market: Market, tally: Tally) -> None:
    local, domain = f"locked{uuid4().hex[:8]}", "example.com"
    await market.sign_up(f"{local}@{domain}")
    for _ in range(5):
        await market.request(
            "POST",
            "/api/users/signin",
            json={"email": f"{local}@{domain}", "password": "wrong password"},
        )
    spellings = {
        "fullwidth": "ｅxample.com",  # noqa: RUF001 (the point: a fullwidth letter)
        "domain_ideographic": "example\u3002com",
        "domain_joined": "exam\u034fple.com",
        "domain_selected": "exam\ufe00ple.com",
        "domain": domain,
        "upper": local.upper(),
        "local": local,
    }
    for template in SPELLINGS:
        email = template.format(**spellings)
        response = await market.request(
            "POST", "/api/users/signin", json={"email": email, "password": PASSWORD}
        )
        tally.expect("unicode account spelling", response, {429}, repr(email), retry_after=True)


async def _hold_and_recycle(market: Market, tally: Tally) -> None:
    seller, holder, other = await market.users(3)
    ticket = await market.list_ticket(seller)
    order = await market.order(holder, ticket)
    assert order.status_code == 201, order.text
    cancelled = await market.cancel(holder, order.json()["id"])
    assert cancelled.status_code == 204, cancelled.text
    again = await market.order(holder, ticket)
    tally.expect("hold and recycle", again, {429}, "ordered again at once", retry_after=True)
    # Someone else may have it at once.
    theirs = await market.order(other, ticket)
    tally.judge("hold and recycle", theirs.status_code == 201, f"another buyer: {theirs.text}")


async def _cross_site_forms(market: Market, tally: Tally) -> None:
    shop = httpx.AsyncClient(base_url=str(market.http.base_url), timeout=30)
    try:
        page = await shop.get("/auth/signin")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None, page.text[:200]
        token = found.group(1)
        form = {"email": "x@example.com", "password": PASSWORD, "next": "/"}
        cross_site = {"sec-fetch-site": "cross-site", "origin": "https://evil.example"}
        same_site = {"sec-fetch-site": "same-site", "origin": "https://blog.example"}
        same_origin = {"sec-fetch-site": "same-origin"}
        for path in ("/auth/signin", "/auth/signup", "/auth/signout", "/tickets/new"):
            for what, headers, sent in [
                ("from another site", cross_site, {**form, "csrf": token}),
                ("from a sibling site", same_site, {**form, "csrf": token}),
                ("without its token", same_origin, form),
                ("with a made-up token", same_origin, {**form, "csrf": "made.up"}),
            ]:
                response = await shop.post(path, data=sent, headers=headers)
                tally.judge(
                    "cross-site form post",
                    response.status_code == 403,
                    f"{path} {what}: {response.status_code}",
                )
        response = await shop.get("/auth/signout")
        tally.judge("cross-site form post", response.status_code == 405, "GET sign-out")
    finally:
        await shop.aclose()


async def _challenges_count_as_declines(market: Market, tally: Tally) -> None:
    """A card tester's probes through 3-D Secure, order after order: each challenge
    counts against the account's declined cards at once (10 an hour), and each order let
    go against its unpaid orders (10 a day). Either stops the tester by the 11th."""
    seller, tester = await market.users(2)
    refused = None
    for _ in range(11):
        order = await market.order(tester, await market.list_ticket(seller))
        if order.status_code != 201:
            refused = order
            break
        answer = await market.pay(tester, order.json()["id"], card=NEEDS_3DS)
        if answer.status_code != 202:
            refused = answer
            break
        await market.cancel(tester, order.json()["id"])
    if refused is None:
        tally.judge("card testing through 3-D Secure", False, "11 challenges, none refused")
        return
    tally.expect(
        "card testing through 3-D Secure", refused, {429}, "past the bound", retry_after=True
    )


SIGNIN_LIMIT = 4
DECLINE_LIMIT = 2


def _from(market: Market, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=str(market.http.base_url), transport=transport, timeout=60)


async def _forged_forwarding(market: Market, tally: Tally) -> None:
    """A visitor's spent sign-in limit, tried again under forged X-Forwarded-For."""

    async def signin(client: httpx.AsyncClient, forged: str | None = None) -> httpx.Response:
        headers = {"X-Forwarded-For": forged} if forged else {}
        body = {"email": f"{uuid4().hex[:12]}@example.com", "password": "wrong password"}
        return await client.post("/api/users/signin", json=body, headers=headers)

    async with _from(market, "127.0.0.2") as attacker, _from(market, "127.0.0.3") as bystander:
        for _ in range(SIGNIN_LIMIT):
            await signin(attacker)
        for forged in ("203.0.113.9", "127.0.0.3", "10.0.0.1, 127.0.0.1", "::1", "unknown"):
            response = await signin(attacker, forged)
            tally.expect("forged forwarding header", response, {429}, forged, retry_after=True)
        untouched = await signin(bystander)
        tally.judge(
            "forged forwarding header",
            untouched.status_code == 400,
            f"another visitor: {untouched.status_code}",
        )


async def _card_testing_across_accounts(market: Market, tally: Tally) -> None:
    """Fresh accounts, one declined card each, from one address: the address's bound
    holds whatever account (and header) the next card comes with."""
    seller = await market.sign_up()
    declined = await market.payment_method(DECLINED)
    async with _from(market, "127.0.0.4") as tester:
        for attempt in range(DECLINE_LIMIT + 2):
            account = await market.sign_up()
            order = await market.order(account, await market.list_ticket(seller))
            assert order.status_code == 201, order.text
            forged = {"X-Forwarded-For": f"198.51.100.{attempt}"}
            for _ in range(600):  # the payments replica's lag
                response = await tester.post(
                    "/api/payments",
                    json={"orderId": order.json()["id"], "token": declined},
                    headers={**account.headers, **forged},
                )
                if response.status_code != 404:
                    break
                await asyncio.sleep(0.05)
            if attempt < DECLINE_LIMIT:
                tally.judge(
                    "card testing across accounts",
                    response.status_code == 402,
                    f"decline {attempt + 1}: {response.status_code}",
                )
            else:
                tally.expect(
                    "card testing across accounts",
                    response,
                    {429},
                    f"account {attempt + 1} from the same address",
                    retry_after=True,
                )


async def defences(market: Market, stack: HarnessStack) -> Tally:
    tally = Tally()
    await _unicode_spellings(market, tally)
    await _hold_and_recycle(market, tally)
    await _cross_site_forms(market, tally)
    await _challenges_count_as_declines(market, tally)
    if stack.balancer is not None:
        # Behind the several-copies profile's balancer, a TCP relay on the loopback: every
        # API copy sees it as the peer, a proxy they trust, which forwards no header.
        return tally
    names = ("SIGNIN_ATTEMPTS_PER_ADDRESS", "DECLINES_PER_ADDRESS")
    opened = {name: os.environ[name] for name in names}
    await asyncio.to_thread(
        stack.set_api_env,
        SIGNIN_ATTEMPTS_PER_ADDRESS=f"{SIGNIN_LIMIT}/minute",
        DECLINES_PER_ADDRESS=f"{DECLINE_LIMIT}/hour",
    )
    try:
        await _forged_forwarding(market, tally)
        await _card_testing_across_accounts(market, tally)
    finally:
        await asyncio.to_thread(stack.set_api_env, **opened)
    return tally
