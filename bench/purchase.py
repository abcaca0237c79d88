"""One purchase over HTTP, as a buyer's browser makes it, timed step by step.

POST /api/orders until 201 (the ticket is locked), POST /api/payments until 201 (the
card is charged; a 404 while the payments replica has not yet heard of the order is
retried, as the web client would), then GET /api/orders/{id} until the order is
complete. The poll waits a tenth of the time the purchase has taken so far (at least
20 ms, at most 250 ms): about 10 % resolution on order-to-complete, without the bench's
own polling becoming a large share of the API's load at 50 buyers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

POLL_MIN_SECONDS = 0.02
POLL_MAX_SECONDS = 0.25
POLL_FRACTION = 0.1
RETRY_SECONDS = 0.02
GIVE_UP_SECONDS = 60.0


@dataclass(frozen=True)
class Purchase:
    ticket_id: str
    payment_method: str


@dataclass(frozen=True)
class Timing:
    order: float
    payment: float
    order_to_complete: float
    retries: int
    polls: int


class PurchaseFailed(RuntimeError):
    pass


async def _post_until_created(
    buyer: httpx.AsyncClient, path: str, body: dict[str, str], deadline: float
) -> tuple[httpx.Response, int]:
    """POST until 201; a 404 (a replica that has not heard of the thing yet) is retried.
    Returns the response and how many retries it took."""
    retries = 0
    while True:
        response = await buyer.post(path, json=body)
        if response.status_code == 201:
            return response, retries
        if response.status_code != 404 or time.perf_counter() > deadline:
            raise PurchaseFailed(f"{path} answered {response.status_code}: {response.text}")
        retries += 1
        await asyncio.sleep(RETRY_SECONDS)


async def buy(buyer: httpx.AsyncClient, purchase: Purchase) -> Timing:
    deadline = time.perf_counter() + GIVE_UP_SECONDS
    started = time.perf_counter()
    response, order_retries = await _post_until_created(
        buyer, "/api/orders", {"ticketId": purchase.ticket_id}, deadline
    )
    ordered = time.perf_counter()
    order_id = response.json()["id"]
    _, payment_retries = await _post_until_created(
        buyer, "/api/payments", {"orderId": order_id, "token": purchase.payment_method}, deadline
    )
    paid = time.perf_counter()
    retries = order_retries + payment_retries

    polls = 0
    while True:
        polls += 1
        response = await buyer.get(f"/api/orders/{order_id}")
        if response.status_code != 200:
            raise PurchaseFailed(f"show order answered {response.status_code}: {response.text}")
        status = response.json()["status"]
        if status == "complete":
            break
        if status == "cancelled" or time.perf_counter() > deadline:
            raise PurchaseFailed(f"order {order_id} ended {status}")
        elapsed = time.perf_counter() - started
        await asyncio.sleep(min(POLL_MAX_SECONDS, max(POLL_MIN_SECONDS, elapsed * POLL_FRACTION)))
    done = time.perf_counter()
    return Timing(ordered - started, paid - ordered, done - started, retries, polls)
