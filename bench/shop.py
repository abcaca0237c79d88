"""Users of the shop over HTTP, as a browser would be: sign up, list tickets, make cards.

Setup only: nothing here is timed. Each user has its own client (its own cookie and
connections), like one browser each.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

import aiohttp
import httpx

from services.common.identity.tokens import SESSION_COOKIE
from tests.support.cards import localstripe, payment_method
from tests.support.polling import eventually

PASSWORD = "bench-password"
SETUP_CONCURRENCY = 10


async def sign_up(api: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=api, timeout=60)
    email = f"bench-{uuid4().hex[:12]}@example.com"
    response = await client.post("/api/users/signup", json={"email": email, "password": PASSWORD})
    if response.status_code != 201:
        await client.aclose()
        raise RuntimeError(f"signup answered {response.status_code}: {response.text}")
    return client


async def sign_up_many(api: str, count: int) -> list[httpx.AsyncClient]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one() -> httpx.AsyncClient:
        async with gate:
            return await sign_up(api)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def list_tickets(
    sellers: Sequence[httpx.AsyncClient], count: int, *, title: str = "Concert"
) -> list[str]:
    """``count`` tickets, dealt over the sellers; returns their ids in listing order."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(index: int) -> str:
        async with gate:
            seller = sellers[index % len(sellers)]
            price = 10 + index % 90 + 0.5
            response = await seller.post(
                "/api/tickets", json={"title": f"{title} #{index}", "price": price}
            )
        if response.status_code != 201:
            raise RuntimeError(f"listing answered {response.status_code}: {response.text}")
        ticket_id: str = response.json()["id"]
        return ticket_id

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def payment_methods(base_url: str, count: int) -> list[str]:
    """PaymentMethods for the test card, made on localstripe as Stripe.js would."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    async with localstripe(base_url) as stripe:

        async def one() -> str:
            async with gate:
                return await payment_method(stripe)

        return list(await asyncio.gather(*(one() for _ in range(count))))


def replica_versions(orders_db: Path, ticket_ids: Sequence[str]) -> dict[str, int]:
    """The orders service's replica of these tickets (read-only; ids as SQLite stores them)."""
    if not orders_db.exists():
        return {}
    connection = sqlite3.connect(f"file:{orders_db}?mode=ro", uri=True)
    try:
        found: dict[str, int] = {}
        for start in range(0, len(ticket_ids), 500):
            chunk = [ticket_id.replace("-", "") for ticket_id in ticket_ids[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT id, version FROM tickets WHERE id IN ({marks})", chunk
            ).fetchall()
            found.update({str(row[0]): int(row[1]) for row in rows})
        return found
    finally:
        connection.close()


async def wait_for_replica(orders_db: Path, ticket_ids: Sequence[str], seconds: float = 60) -> None:
    """Until the orders service knows every ticket (so an order is not refused as unknown)."""

    async def known() -> int:
        return len(await asyncio.to_thread(replica_versions, orders_db, ticket_ids))

    await eventually(
        known,
        lambda count: count == len(ticket_ids),
        within=seconds,
        pause=0.1,
        what="the orders replica to know every listed ticket",
    )


async def close_all(clients: Sequence[httpx.AsyncClient]) -> None:
    await asyncio.gather(*(client.aclose() for client in clients))


def shopper(api: str, user: httpx.AsyncClient) -> aiohttp.ClientSession:
    """A signed-up user's session for the timed purchases, on aiohttp: the load generator
    shares the machine with the stack, and httpx spends about a millisecond of CPU per
    request, as much as the API spends answering it; aiohttp a fraction of that."""
    token = user.cookies.get(SESSION_COOKIE)
    if not token:
        raise RuntimeError("the user is not signed in")
    return aiohttp.ClientSession(base_url=api, headers={"Authorization": f"Bearer {token}"})
