"""The on-sale rush: many buyers at once on a few tickets, every request sent together.

Two runs on fresh tickets: the winners alone (one buyer per ticket), then the rush
(``buyers_per_ticket`` buyers for each ticket: buyer i wants ticket i mod tickets). Each
reports the wall time until every buyer had an answer, the answers by status, p50/p99
for winners (201) and losers (409), and how many Purchase workflows ran for its tickets.

Then the bare burst: the same buyers send, all at once, the cheapest signed-in request
there is (who am I). What a loser costs is read against it: ``loser_cost_ratio`` is the
losers' p99 over the bare burst's p99, so 1.0 means a loser is answered as fast as a
request that does nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import aiohttp
from temporalio.client import Client

from bench.stats import latency, ratio
from tests.support.polling import eventually

# Visibility (what counts the workflows) trails the workflows themselves a little.
VISIBILITY_SECONDS = 30.0


async def _order(buyer: aiohttp.ClientSession, ticket_id: str) -> tuple[int, float, str | None]:
    started = time.perf_counter()
    async with buyer.post("/api/orders", json={"ticketId": ticket_id}) as response:
        body: dict[str, Any] = await response.json()
        elapsed = time.perf_counter() - started
    return response.status, elapsed, body.get("id") if response.status == 201 else None


async def _purchase_workflows(temporal: Client, ticket_ids: Sequence[str]) -> int:
    """How many Purchase workflows ran for these tickets, once visibility has them all."""
    counted = 0
    for start in range(0, len(ticket_ids), 50):
        chunk = ", ".join(f'"{ticket_id}"' for ticket_id in ticket_ids[start : start + 50])
        query = f'WorkflowType="Purchase" AND TicketId IN ({chunk})'
        counted += (await temporal.count_workflows(query)).count
    return counted


async def one_run(
    buyers: Sequence[aiohttp.ClientSession], ticket_ids: Sequence[str], temporal: Client
) -> dict[str, Any]:
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(_order(buyer, ticket_ids[index % len(ticket_ids)]) for index, buyer in enumerate(buyers))
    )
    wall = time.perf_counter() - started
    statuses = Counter(status for status, _, _ in answers)
    winners = [elapsed for status, elapsed, _ in answers if status == 201]

    # The answers are in; wait until visibility has a workflow for every winner.
    async def counted() -> int:
        return await _purchase_workflows(temporal, ticket_ids)

    workflows = await eventually(
        counted,
        lambda count: count >= len(winners),
        within=VISIBILITY_SECONDS,
        pause=0.5,
        what="visibility to count the rush's workflows",
    )
    # The winners' orders are cancelled so their workflows end and the stack is quiet.
    await asyncio.gather(
        *(
            _cancel(buyer, order_id)
            for buyer, (_, _, order_id) in zip(buyers, answers, strict=True)
            if order_id is not None
        )
    )
    return {
        "buyers": len(buyers),
        "tickets": len(ticket_ids),
        "wall_seconds": round(wall, 3),
        "answers": {str(status): count for status, count in sorted(statuses.items())},
        "winners": latency(winners),
        "losers": latency([elapsed for status, elapsed, _ in answers if status == 409]),
        "purchase_workflows": workflows,
    }


async def _cancel(buyer: aiohttp.ClientSession, order_id: str) -> None:
    async with buyer.delete(f"/api/orders/{order_id}") as response:
        await response.read()


async def _who_am_i(buyer: aiohttp.ClientSession) -> tuple[int, float]:
    started = time.perf_counter()
    async with buyer.get("/api/users/currentuser") as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def bare_burst(buyers: Sequence[aiohttp.ClientSession]) -> dict[str, Any]:
    started = time.perf_counter()
    answers = await asyncio.gather(*(_who_am_i(buyer) for buyer in buyers))
    wall = time.perf_counter() - started
    statuses = Counter(status for status, _ in answers)
    return {
        "requests": len(buyers),
        "wall_seconds": round(wall, 3),
        "answers": {str(status): count for status, count in sorted(statuses.items())},
        "latency": latency([elapsed for status, elapsed in answers if status == 200]),
    }


async def measure(
    buyers: Sequence[aiohttp.ClientSession],
    alone_tickets: Sequence[str],
    rush_tickets: Sequence[str],
    temporal: Client,
) -> dict[str, Any]:
    alone = await one_run(buyers[: len(alone_tickets)], alone_tickets, temporal)
    rush = await one_run(buyers, rush_tickets, temporal)
    bare = await bare_burst(buyers)
    return {
        "winners_alone": alone,
        "rush": rush,
        "rush_ratio": ratio(rush["wall_seconds"], alone["wall_seconds"]),
        "bare_burst": bare,
        "loser_cost_ratio": ratio(
            rush["losers"]["p99_ms"] or math.nan, bare["latency"]["p99_ms"] or math.nan
        ),
    }
