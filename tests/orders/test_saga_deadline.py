"""Every call from a service to Temporal has a deadline: with the orders worker stopped,
ordering answers 503 with Retry-After within it, and leaves no order "created" and no
ticket held; once the worker is back, the same request succeeds."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from services.orders.models import Order
from services.orders.service import definition as orders
from services.tickets.service import definition as tickets
from tests.orders.support import Market, purchase_settings
from tests.support.apps import app_client, use_temporal
from tests.support.jetstream import own_stream
from tests.support.polling import eventually
from tests.workflows.support import pydantic_client
from worker.main import running_workers

DEADLINE_SECONDS = 2.0


@contextlib.asynccontextmanager
async def market_without_orders_worker(
    tmp_path: Path, nats_url: str, localstripe_url: str, env: WorkflowEnvironment
) -> AsyncIterator[Market]:
    databases = {
        name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
        for name in ("tickets", "orders", "payments")
    }
    settings = purchase_settings(
        tmp_path,
        nats_url=nats_url,
        databases=databases,
        stripe_api_base=localstripe_url,
        temporal_call_timeout_seconds=DEADLINE_SECONDS,
        # An order undone after a 503 never held its ticket: it must not count against
        # its buyer, whose very next try is this request again.
        unpaid_orders_per_buyer_per_day=1,
    )
    temporal = pydantic_client(env.client)
    async with (
        own_stream(settings.nats_url, settings.events_stream),
        app_client(tickets, settings) as (tickets_client, _tickets_app),
        app_client(orders, settings) as (orders_client, orders_app),
        running_workers(("tickets", "payments"), settings, temporal),
    ):
        use_temporal(orders_app, temporal, settings)
        market = Market(settings, tickets_client, orders_client, temporal)
        market.orders_app_state = orders_app.state
        yield market


async def test_ordering_without_the_orders_worker_answers_503_and_leaves_nothing_behind(
    tmp_path: Path, nats_url: str, localstripe_url: str, temporal_dev_env: WorkflowEnvironment
) -> None:
    async with market_without_orders_worker(
        tmp_path, nats_url, localstripe_url, temporal_dev_env
    ) as market:
        ticket = await market.list_ticket(market.user())
        buyer = market.user()
        started = time.monotonic()
        response = await market.orders.post(
            "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
        )
        took = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        assert response.json() == {
            "errors": [{"message": "The service is busy: try again shortly"}]
        }
        assert took < DEADLINE_SECONDS * 2 + 1

        runtime = market.orders_app_state.runtime
        async with runtime.database.read_sessions() as session:
            left = (
                await session.scalars(select(Order).where(Order.ticket_id == UUID(ticket["id"])))
            ).all()
        assert [(order.status, order.cancel_reason) for order in left] == [
            ("cancelled", "abandoned")
        ]

        # The worker comes back: the saga that was asked to stop does nothing, and the
        # same request succeeds.
        async with running_workers(("orders",), market.settings, market.temporal):
            again = await market.orders.post(
                "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
            )
            assert again.status_code == 201, again.text

            new_order = str(again.json()["id"])

            async def locked_for_the_new_order() -> bool:
                held_by = str((await market.ticket(ticket["id"]))["orderId"])
                return held_by == new_order

            await eventually(locked_for_the_new_order, within=20)
