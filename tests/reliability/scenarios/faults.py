"""Faults while purchases run: workers killed, the bus down, the API restarted, the
orders database unavailable."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.reliability.market import Market, User
from tests.reliability.stack import HarnessStack

Strike = Callable[[], Awaitable[None]]


def orders_database_outage(stack: HarnessStack, seconds: float) -> tuple[str, Strike]:
    """The orders database unavailable for ``seconds``, the way each engine is in
    practice: on SQLite another process holds the write lock; on PostgreSQL a migration
    (an ALTER TABLE) holds an ACCESS EXCLUSIVE lock on the orders table, which stops
    reads too. Every step of a purchase touches that table.

    One table only, as a migration's ALTER does: locking several takes them one by one,
    and a service transaction holding one of them then deadlocks with the lock, which
    PostgreSQL breaks by cancelling the lock, so the fault would not strike at all."""
    url = stack.databases.urls["orders"]
    if stack.databases.backend == "sqlite":
        path = make_url(url).database
        assert path is not None

        def hold() -> None:
            connection = sqlite3.connect(path, timeout=30)
            connection.isolation_level = None
            connection.execute("BEGIN EXCLUSIVE")
            time.sleep(seconds)
            connection.execute("ROLLBACK")
            connection.close()

        async def locked() -> None:
            await asyncio.to_thread(hold)

        return "orders database locked", locked

    async def table_locked() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
                await asyncio.sleep(seconds)
                await connection.rollback()
        finally:
            await engine.dispose()

    return "orders table locked (ACCESS EXCLUSIVE)", table_locked


async def purchases_in_flight(market: Market, buyers: list[User], seller: User) -> list[Any]:
    """Purchases started now, to be hit by a fault while they run."""

    async def purchase(buyer: User) -> int:
        ticket = await market.list_ticket(seller)
        order = await market.order(buyer, ticket)
        if order.status_code != 201:
            return order.status_code
        return (await market.pay(buyer, order.json()["id"])).status_code

    return [asyncio.create_task(purchase(buyer)) for buyer in buyers]


async def faults(
    market: Market, stack: HarnessStack, *, purchases: int, outage: float
) -> dict[str, Any]:
    """Each fault strikes while purchases run; they must all end (paid, or refused and
    later undone), which the invariants then check."""
    seller, *buyers = await market.users(purchases * 4 + 1)
    groups = [buyers[i::4] for i in range(4)]
    outcomes: Counter[str] = Counter()
    survived = []

    async def under(fault: str, strike: Strike, group: list[User]) -> None:
        tasks = await purchases_in_flight(market, group, seller)
        await asyncio.sleep(0.3)
        await strike()
        for status in await asyncio.gather(*tasks, return_exceptions=True):
            outcomes[f"{fault}:{status if isinstance(status, int) else type(status).__name__}"] += 1
        survived.append(fault)

    async def kill_workers() -> None:
        # Every service's worker at once: the sagas' and every activity's.
        for worker in stack.workers:
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGKILL)
        await asyncio.sleep(1)
        for worker in stack.workers:
            worker.start()

    async def nats_outage() -> None:
        stack.nats.stop()
        await asyncio.sleep(outage)
        stack.nats.start()

    async def restart_api() -> None:
        await asyncio.to_thread(stack.api.stop)
        await asyncio.to_thread(stack.api.start)

    await under("workers SIGKILL", kill_workers, groups[0])
    await under("nats-server down", nats_outage, groups[1])
    await under("API restart", restart_api, groups[2])
    await under(*orders_database_outage(stack, min(outage, 5)), groups[3])
    return {
        "faults_survived": survived,
        "purchases": sum(outcomes.values()),
        "outcomes": dict(outcomes),
    }
