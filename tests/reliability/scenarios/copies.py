"""Several copies under fire: while a rush runs against two API processes behind the
balancer and two worker processes, one copy of the API (every service's, as each copy
serves them all) and one of the workers are killed with SIGKILL, then started again.
The buyers whose requests the dead copy held see errors; nothing else may go wrong,
which the invariants checked after the scenario say."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from typing import Any

import httpx

from tests.reliability.market import Market, User
from tests.reliability.stack import Copies, HarnessStack


async def copies_killed_mid_rush(
    market: Market, stack: HarnessStack, *, buyers: int, tickets: int
) -> dict[str, Any]:
    assert isinstance(stack.api, Copies) and len(stack.workers) > 1, "a profile of copies"
    seller, *people = await market.users(buyers + 1)
    ticket_ids = list(await asyncio.gather(*(market.list_ticket(seller) for _ in range(tickets))))
    # The orders replica knows every ticket before the rush (the seller's own: 403).
    await asyncio.gather(*(market.order(seller, ticket) for ticket in ticket_ids))
    api, worker = stack.api.processes[0], stack.workers[0]

    async def strike() -> None:
        await asyncio.sleep(0.3)
        for process in (api, worker):
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
        await asyncio.sleep(1)
        await asyncio.to_thread(api.start)
        await asyncio.to_thread(worker.start)

    async def attempt(index: int, buyer: User) -> tuple[str, User, str | None]:
        try:
            response = await market.order(buyer, ticket_ids[index % tickets])
        except httpx.HTTPError as lost:
            return type(lost).__name__, buyer, None
        order_id = response.json().get("id") if response.status_code == 201 else None
        return str(response.status_code), buyer, order_id

    striking = asyncio.ensure_future(strike())
    answers = await asyncio.gather(*(attempt(index, buyer) for index, buyer in enumerate(people)))
    await striking
    outcomes = Counter(outcome for outcome, _, _ in answers)
    # The winners pay, through whichever copy the balancer picks.
    paid: Counter[int | str] = Counter()
    # A refusal counted with what it said, so that a report tells "in progress" from
    # "cancelled" from "window ended".
    refusals: Counter[str] = Counter()
    for outcome in await asyncio.gather(
        *(market.pay(buyer, order_id) for _, buyer, order_id in answers if order_id is not None),
        return_exceptions=True,
    ):
        if not isinstance(outcome, httpx.Response):
            paid["error"] += 1
            refusals[type(outcome).__name__] += 1
            continue
        paid[outcome.status_code] += 1
        if outcome.status_code >= 300:
            refusals[f"{outcome.status_code} {outcome.text[:200]}"] += 1
    return {
        "killed": [api.name, worker.name],
        "orders": dict(outcomes),
        "won": outcomes["201"],
        "payments": {str(status): count for status, count in paid.items()},
        "payments_refused": dict(refusals),
        "copies_running": stack.api.running() and all(w.running() for w in stack.workers),
    }
