"""Users of the marketplace, driving the real stack over HTTP as its clients do."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx

from services.common.identity.tokens import SESSION_COOKIE
from tests.support.cards import VISA, localstripe, payment_method

RECONNECT_TRIES = 100
# How long a buyer keeps trying an order the API answered 503 (busy: try again shortly).
BUSY_PATIENCE_SECONDS = 60.0


@dataclass
class User:
    id: str
    headers: dict[str, str]


class Market:
    def __init__(self, api: str, stripe: str, *, concurrency: int = 50) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.http = httpx.AsyncClient(base_url=api, timeout=60, limits=limits)
        # Sign-ups get a client of their own: its cookie jar must never lend a session to
        # a request that means to carry none (or another user's).
        self.signups = httpx.AsyncClient(base_url=api, timeout=60, limits=limits)
        self.stripe = localstripe(stripe)
        self.gate = asyncio.Semaphore(concurrency)
        # Orders answered 503 and tried again (reported: how often the API was past its
        # deadline on Temporal).
        self.busy_answers = 0

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.signups.aclose()
        await self.stripe.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """As a patient client: a refused connection (the service restarting) is tried
        again; nothing was sent, so nothing can happen twice."""
        for _ in range(RECONNECT_TRIES):
            try:
                async with self.gate:
                    return await self.http.request(method, path, **kwargs)
            except httpx.ConnectError:
                await asyncio.sleep(0.2)
        async with self.gate:
            return await self.http.request(method, path, **kwargs)

    async def sign_up(self, email: str | None = None) -> User:
        email = email or f"{uuid4().hex[:12]}@example.com"
        async with self.gate:
            response = await self.signups.post(
                "/api/users/signup", json={"email": email, "password": "secret-password"}
            )
        assert response.status_code == 201, response.text
        token = response.cookies[SESSION_COOKIE]
        return User(id=response.json()["id"], headers={"Authorization": f"Bearer {token}"})

    async def users(self, count: int) -> list[User]:
        return list(await asyncio.gather(*(self.sign_up() for _ in range(count))))

    async def list_ticket(self, seller: User, price: float = 20) -> str:
        response = await self.request(
            "POST",
            "/api/tickets",
            json={"title": "Reliability", "price": price},
            headers=seller.headers,
        )
        assert response.status_code == 201, response.text
        ticket_id: str = response.json()["id"]
        return ticket_id

    async def patiently(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """As a patient client: a 503 (Temporal or a worker past the API's deadline; what
        the request began was undone, or will answer the same Idempotency-Key) is tried
        again after its Retry-After, for up to BUSY_PATIENCE_SECONDS."""
        patient_until = time.monotonic() + BUSY_PATIENCE_SECONDS
        while True:
            response = await self.request(method, path, **kwargs)
            if response.status_code != 503 or time.monotonic() > patient_until:
                return response
            self.busy_answers += 1
            await asyncio.sleep(float(response.headers.get("retry-after", 1)))

    async def cancel(self, buyer: User, order_id: str) -> httpx.Response:
        return await self.patiently("DELETE", f"/api/orders/{order_id}", headers=buyer.headers)

    async def order(
        self, buyer: User, ticket_id: str, *, price: float | None = None, lag_retries: int = 600
    ) -> httpx.Response:
        """POST /api/orders (with the price the buyer saw, if given), patiently; a 404 is
        the orders replica not having the ticket yet."""
        body: dict[str, Any] = {"ticketId": ticket_id}
        if price is not None:
            body["price"] = price
        for _ in range(lag_retries):
            response = await self.patiently("POST", "/api/orders", json=body, headers=buyer.headers)
            if response.status_code != 404:
                return response
            await asyncio.sleep(0.05)
        return response

    async def payment_method(self, card: str = VISA) -> str:
        return await payment_method(self.stripe, card)

    async def pay(
        self, buyer: User, order_id: str, *, card: str = VISA, lag_retries: int = 600
    ) -> httpx.Response:
        token = await self.payment_method(card)
        # One key per payment, as the web shop sends per Pay click: a 503 tried again
        # gets the first try's answer, never a second charge.
        headers = {**buyer.headers, "Idempotency-Key": uuid4().hex}
        for _ in range(lag_retries):
            response = await self.patiently(
                "POST",
                "/api/payments",
                json={"orderId": order_id, "token": token},
                headers=headers,
            )
            if response.status_code != 404:  # the payments replica's lag
                return response
            await asyncio.sleep(0.05)
        return response

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.request("GET", f"/api/tickets/{ticket_id}")
        ticket: dict[str, Any] = response.json()
        return ticket
