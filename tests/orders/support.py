"""A purchase system in one test: the tickets and orders apps, the tickets, orders and
payments workers, on their own databases and their own event stream, against the real
NATS, Temporal dev server and localstripe."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from temporalio.client import Client

from services.common.settings import Settings
from services.orders.service import definition as orders
from services.tickets.service import definition as tickets
from tests.support.apps import app_client, bearer, make_settings, use_temporal
from tests.support.cards import VISA, payment_method
from tests.support.jetstream import own_stream
from tests.support.polling import eventually
from worker.main import running_workers


def purchase_settings(
    tmp_path: Path, *, nats_url: str, databases: dict[str, str], **overrides: Any
) -> Settings:
    return make_settings(
        data_dir=tmp_path,
        nats_url=nats_url,
        events_stream=f"EVENTS_{uuid4().hex}",
        tickets_database_url=databases["tickets"],
        orders_database_url=databases["orders"],
        payments_database_url=databases["payments"],
        **overrides,
    )


@dataclass
class Market:
    settings: Settings
    tickets: httpx.AsyncClient
    orders: httpx.AsyncClient
    temporal: Client

    def user(self, user_id: UUID | None = None) -> dict[str, str]:
        return bearer(self.settings, user_id or uuid4())

    async def list_ticket(self, seller: dict[str, str], price: float = 25.5) -> dict[str, Any]:
        """A ticket for sale, once the orders replica knows it."""
        created = await self.tickets.post(
            "/api/tickets", json={"title": "Concert", "price": price}, headers=seller
        )
        assert created.status_code == 201, created.text
        ticket: dict[str, Any] = created.json()
        await self.replica_has(ticket["id"], ticket["version"])
        return ticket

    async def replica_has(self, ticket_id: str, version: int) -> None:
        from services.orders.models import Ticket

        async def applied() -> bool:
            runtime = self.orders_app_state.runtime
            async with runtime.database.read_sessions() as session:
                found = await session.get(Ticket, UUID(ticket_id))
            return found is not None and found.version >= version

        await eventually(applied)

    async def order(self, buyer: dict[str, str], ticket_id: str) -> dict[str, Any]:
        response = await self.orders.post(
            "/api/orders", json={"ticketId": ticket_id}, headers=buyer
        )
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    async def payment_method(self, card: str = VISA) -> str:
        return await payment_method(self.settings.stripe_api_base, card)

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        shown: dict[str, Any] = (await self.tickets.get(f"/api/tickets/{ticket_id}")).json()
        return shown

    orders_app_state: Any = None
    tickets_app_state: Any = None


@contextlib.asynccontextmanager
async def running_market(settings: Settings, temporal: Client) -> AsyncIterator[Market]:
    async with (
        own_stream(settings.nats_url, settings.events_stream),
        app_client(tickets, settings) as (tickets_client, tickets_app),
        app_client(orders, settings) as (orders_client, orders_app),
        running_workers(("tickets", "orders", "payments"), settings, temporal),
    ):
        use_temporal(orders_app, temporal, settings)
        market = Market(settings, tickets_client, orders_client, temporal)
        market.orders_app_state = orders_app.state
        market.tickets_app_state = tickets_app.state
        yield market
