"""One purchase over HTTP, as a buyer's browser makes it, timed step by step.

POST /api/orders until 201 (the ticket is locked), POST /api/payments until 201 (the
card is charged; a 404 while the payments replica has not yet heard of the order is
retried, as the web client would), then follow the order until it is complete: GET
/api/orders/{id} with the ETag the order came with in If-None-Match and ``Prefer:
wait``, which the API answers as soon as the order changes (a 304 after the wait means
no change yet: ask again).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from uuid import uuid4

import aiohttp

FOLLOW_WAIT = "wait=20"
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
    buyer: aiohttp.ClientSession, path: str, body: dict[str, str], deadline: float
) -> tuple[dict[str, str], str, int]:
    """POST until 201, as a patient client: a 404 (a replica that has not heard of the
    thing yet) is retried at once, a 503 (busy: what it began was undone) after its
    Retry-After. One Idempotency-Key for all the tries, as the web shop sends per click:
    a payment tried again gets the first try's answer. Returns the created thing, its
    ETag, and how many retries it took."""
    retries = 0
    headers = {"Idempotency-Key": uuid4().hex}
    while True:
        async with buyer.post(path, json=body, headers=headers) as response:
            if response.status == 201:
                return await response.json(), response.headers.get("ETag", ""), retries
            text = await response.text()
            retry_after = float(response.headers.get("Retry-After", RETRY_SECONDS))
        if response.status not in (404, 503) or time.perf_counter() > deadline:
            raise PurchaseFailed(f"{path} answered {response.status}: {text}")
        retries += 1
        await asyncio.sleep(retry_after if response.status == 503 else RETRY_SECONDS)


async def buy(buyer: aiohttp.ClientSession, purchase: Purchase) -> Timing:
    deadline = time.perf_counter() + GIVE_UP_SECONDS
    started = time.perf_counter()
    order, etag, order_retries = await _post_until_created(
        buyer, "/api/orders", {"ticketId": purchase.ticket_id}, deadline
    )
    ordered = time.perf_counter()
    order_id = order["id"]
    _, _, payment_retries = await _post_until_created(
        buyer, "/api/payments", {"orderId": order_id, "token": purchase.payment_method}, deadline
    )
    paid = time.perf_counter()
    retries = order_retries + payment_retries

    polls = 0
    while True:
        polls += 1
        async with buyer.get(
            f"/api/orders/{order_id}", headers={"If-None-Match": etag, "Prefer": FOLLOW_WAIT}
        ) as response:
            if response.status not in (200, 304):
                text = await response.text()
                raise PurchaseFailed(f"show order answered {response.status}: {text}")
            if response.status == 200:
                etag = response.headers["ETag"]
                status = (await response.json())["status"]
                if status == "complete":
                    break
                if status == "cancelled":
                    raise PurchaseFailed(f"order {order_id} ended {status}")
        if time.perf_counter() > deadline:
            raise PurchaseFailed(f"order {order_id} not complete in time")
    done = time.perf_counter()
    return Timing(ordered - started, paid - ordered, done - started, retries, polls)
