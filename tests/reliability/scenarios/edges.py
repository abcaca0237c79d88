"""The saga's edges on a real stack: a service's database down after the money is taken,
worker processes killed in the middle of each service's step, and Stripe answering slowly
(with the workers killed in the middle of a charge).

Once a charge succeeded the saga only goes forward: a database outage longer than any
retry budget must delay the completion, never turn it into a refund. Each edge's
purchases must end as the saga's rules say; the invariants then check the money and the
locks after the whole scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.common.settings import ServiceName
from tests.reliability.market import Market, User
from tests.reliability.scenarios.faults import purchases_in_flight
from tests.reliability.stack import HarnessStack

FINAL = ("complete", "cancelled")
# Stripe as slow as the review's example of a slow provider.
SLOW_STRIPE_SECONDS = 15.0


@contextlib.asynccontextmanager
async def database_down(stack: HarnessStack, service: ServiceName) -> AsyncIterator[str]:
    """The service's database unavailable while the block runs.

    PostgreSQL: the database refuses new connections and its open ones are ended, as when
    its server is down or restarting (each attempt fails at once). SQLite: another process
    holds the write lock (each statement waits for it, then times out)."""
    url = stack.databases.urls[service]
    if stack.databases.backend == "sqlite":
        path = make_url(url).database
        assert path is not None
        holder = sqlite3.connect(path, timeout=30, check_same_thread=False)
        holder.isolation_level = None
        await asyncio.to_thread(holder.execute, "BEGIN EXCLUSIVE")
        try:
            yield f"{service} database locked"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            await connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                {"db": name},
            )
        try:
            yield f"{service} database refusing connections"
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        await admin.dispose()


async def order_status(market: Market, buyer: User, order_id: str) -> str:
    response = await market.request("GET", f"/api/orders/{order_id}", headers=buyer.headers)
    return str(response.json().get("status")) if response.status_code == 200 else "unknown"


async def final_statuses(
    market: Market, orders: list[tuple[User, str]], *, within: float
) -> list[str]:
    """Each order's status once every one is complete or cancelled (or ``within`` ends)."""
    deadline = time.monotonic() + within
    while True:
        statuses = [await order_status(market, buyer, order) for buyer, order in orders]
        if all(status in FINAL for status in statuses) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(1)


async def down_after_payment(
    market: Market, stack: HarnessStack, buyers: list[User], seller: User, outage: float
) -> dict[str, Any]:
    """Orders placed and locked, then the tickets database down for ``outage`` seconds
    while they are paid: every paid order must end complete, none refunded."""
    orders = await placed_orders(market, buyers, seller)
    async with database_down(stack, "tickets") as fault:
        paying = [asyncio.create_task(market.pay(buyer, order_id)) for buyer, order_id in orders]
        await asyncio.sleep(outage)
    answers = await asyncio.gather(*paying, return_exceptions=True)
    paid = [
        order
        for order, answer in zip(orders, answers, strict=True)
        if not isinstance(answer, BaseException) and answer.status_code == 201
    ]
    statuses = await final_statuses(market, paid, within=outage + 120)
    return {
        "fault": f"{fault} for {outage:g} s after payment",
        "paid": len(paid),
        "outcomes": dict(Counter(statuses)),
        "paid_but_not_complete": [
            order for (_, order), status in zip(paid, statuses, strict=True) if status != "complete"
        ],
    }


async def kill_workers(stack: HarnessStack, *, restart: bool = True) -> None:
    for worker in stack.workers:
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
    await asyncio.sleep(1)
    if restart:
        await start_workers(stack)


async def start_workers(stack: HarnessStack) -> None:
    for worker in stack.workers:
        await asyncio.to_thread(worker.start)


async def placed_orders(market: Market, buyers: list[User], seller: User) -> list[tuple[User, str]]:
    """An order placed and locked for each buyer. Workers just restarted by the edge
    before may not poll yet: the API then answers 503, which the market tries again."""
    orders: list[tuple[User, str]] = []
    for buyer in buyers:
        response = await market.order(buyer, await market.list_ticket(seller))
        assert response.status_code == 201, response.text
        orders.append((buyer, response.json()["id"]))
    return orders


def answered(answers: list[Any]) -> dict[str, int]:
    return dict(
        Counter(
            str(a.status_code) if hasattr(a, "status_code") else type(a).__name__ for a in answers
        )
    )


async def killed_mid_step(
    market: Market,
    stack: HarnessStack,
    buyers: list[User],
    seller: User,
    service: ServiceName,
    step: str,
) -> dict[str, Any]:
    """The service's database held while purchases reach its step (``step``: the order,
    which reserves the ticket, or the payment, after which the ticket is marked sold and
    the order completed), so the step is in flight when every worker process is killed
    with SIGKILL; the workers start again, the database comes back, every purchase ends."""
    paying = step == "payment"
    tickets = [] if paying else [await market.list_ticket(seller) for _ in buyers]
    orders = await placed_orders(market, buyers, seller) if paying else []
    async with database_down(stack, service) as fault:
        if paying:
            tasks = [asyncio.create_task(market.pay(b, order)) for b, order in orders]
        else:
            tasks = [
                asyncio.create_task(market.order(b, ticket))
                for b, ticket in zip(buyers, tickets, strict=True)
            ]
        await asyncio.sleep(2)
        # Started again once the database is back: a worker whose database refuses it at
        # start exits, and here no supervisor (as Kubernetes would) starts it again.
        await kill_workers(stack, restart=False)
        await asyncio.sleep(2)
    await start_workers(stack)
    return {
        "fault": f"workers SIGKILL during the {step} while the {fault}",
        "answers": answered(await asyncio.gather(*tasks, return_exceptions=True)),
    }


async def slow_stripe(
    market: Market, stack: HarnessStack, buyers: list[User], seller: User, *, kill: bool
) -> dict[str, Any]:
    """Stripe answering every request ``SLOW_STRIPE_SECONDS`` late, and (``kill``) every
    worker killed in the middle of the charges."""
    stack.slow_stripe(SLOW_STRIPE_SECONDS)
    try:
        tasks = await purchases_in_flight(market, buyers, seller)
        if kill:
            await asyncio.sleep(SLOW_STRIPE_SECONDS / 3)
            await kill_workers(stack)
        answers = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stack.slow_stripe(0)
    return {
        "fault": f"Stripe {SLOW_STRIPE_SECONDS:g} s slow" + (", workers SIGKILL mid-charge" * kill),
        "answers": dict(Counter(a if isinstance(a, int) else type(a).__name__ for a in answers)),
    }


async def edges(
    market: Market,
    stack: HarnessStack,
    *,
    purchases: int,
    outages: tuple[float, ...],
    slow_stripe_kills: tuple[bool, ...] = (False, True),
) -> dict[str, Any]:
    """Every edge in turn, each on purchases of its own: the tickets database down after
    payment for each of ``outages``, the workers killed mid-step, and Stripe slow once for
    each of ``slow_stripe_kills`` (True: with the workers killed mid-charge)."""
    kills: list[tuple[ServiceName, str]] = [
        ("tickets", "order"),
        ("tickets", "payment"),
        ("orders", "payment"),
    ]
    groups_needed = len(outages) + len(kills) + len(slow_stripe_kills)
    seller, *buyers = await market.users(purchases * groups_needed + 1)
    groups = iter([buyers[i::groups_needed] for i in range(groups_needed)])
    runs: list[dict[str, Any]] = []
    for outage in outages:
        runs.append(await down_after_payment(market, stack, next(groups), seller, outage))
    for service, step in kills:
        runs.append(await killed_mid_step(market, stack, next(groups), seller, service, step))
    for kill in slow_stripe_kills:
        runs.append(await slow_stripe(market, stack, next(groups), seller, kill=kill))
    refunded_by_an_outage = [
        order for run in runs for order in run.get("paid_but_not_complete", [])
    ]
    return {
        "edges": runs,
        "faults_survived": [run["fault"] for run in runs],
        "paid_but_not_complete": refunded_by_an_outage,
    }
