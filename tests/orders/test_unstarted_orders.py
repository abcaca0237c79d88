"""An order saved but whose saga never started (its process stopped between the two) is
cancelled by the orders service's sweeper, and its ticket can be ordered again; an
order whose saga exists, or one young enough that its request may still be starting it,
is left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from services.common.settings import Settings
from services.common.temporal import LazyTemporalClient
from services.orders.models import Order
from services.orders.operations import place_order
from services.orders.unstarted_orders import cancel_unstarted_orders
from tests.orders.support import Market, purchase_settings, running_market
from tests.support.polling import eventually
from tests.workflows.support import pydantic_client
from workflows.contracts import OrderStatus, workflow_id
from workflows.models import PurchaseInput
from workflows.purchase import PurchaseWorkflow

# Short enough for a test: the sweeper looks twice a second, and takes orders this old
# (three times the Temporal deadline, the least the settings allow).
DEADLINE_SECONDS = 2.0
SWEEP_SECONDS = 0.5


@pytest.fixture
async def quick_sweeping_market(
    tmp_path: Path,
    nats_url: str,
    localstripe_url: str,
    databases: dict[str, str],
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[Market]:
    settings = purchase_settings(
        tmp_path,
        nats_url=nats_url,
        databases=databases,
        stripe_api_base=localstripe_url,
        # The sweeper's own client reaches the test's server through the settings.
        temporal_address=temporal_dev_env.client.service_client.config.target_host,
        temporal_call_timeout_seconds=DEADLINE_SECONDS,
        unstarted_order_sweep_seconds=SWEEP_SECONDS,
        unstarted_order_age_seconds=3 * DEADLINE_SECONDS,
    )
    async with running_market(settings, pydantic_client(temporal_dev_env.client)) as market:
        yield market


async def saved_without_saga(market: Market, ticket_id: str, *, age: timedelta) -> UUID:
    """What a process killed right after saving an order leaves: the row, "created"."""
    runtime = market.orders_app_state.runtime
    async with runtime.unit_of_work() as uow:
        order = await place_order(uow, uuid4(), UUID(ticket_id), max_open_orders=5)
        await uow.commit()
        order_id: UUID = order.id
    await backdate(market, order_id, age)
    return order_id


async def backdate(market: Market, order_id: UUID, age: timedelta) -> None:
    runtime = market.orders_app_state.runtime
    async with runtime.unit_of_work() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        order.created_at = order.created_at - age
        await uow.commit()


async def status_of(market: Market, order_id: UUID) -> str:
    runtime = market.orders_app_state.runtime
    async with runtime.database.read_sessions() as session:
        status = await session.scalar(select(Order.status).where(Order.id == order_id))
    return str(status)


async def test_an_order_whose_saga_never_started_is_cancelled_and_its_ticket_sells(
    quick_sweeping_market: Market,
) -> None:
    market = quick_sweeping_market
    ticket = await market.list_ticket(market.user())
    order_id = await saved_without_saga(market, ticket["id"], age=timedelta(0))

    # Until it is cancelled, the ticket's one live order is this one: nobody else may order.
    refused = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert refused.status_code == 409, refused.text

    await eventually(
        lambda: status_of(market, order_id),
        lambda status: status == OrderStatus.CANCELLED,
        within=30,
        what="the sweeper cancelling the order",
    )
    bought = await market.order(market.user(), ticket["id"])
    assert bought["ticket"]["id"] == ticket["id"]


async def test_orders_with_a_saga_or_too_young_are_left_alone(market: Market) -> None:
    runtime = market.orders_app_state.runtime
    temporal = LazyTemporalClient.of(market.temporal, market.settings)
    young_ticket = await market.list_ticket(market.user())
    young = await saved_without_saga(market, young_ticket["id"], age=timedelta(seconds=5))
    old_ticket = await market.list_ticket(market.user())
    with_saga = await saved_without_saga(market, old_ticket["id"], age=timedelta(hours=1))
    # Its saga started, and waits for a worker (none polls this queue): it is the saga's
    # to end, not the sweeper's.
    handle = await market.temporal.start_workflow(
        PurchaseWorkflow.run,
        PurchaseInput(
            order_id=with_saga,
            ticket_id=UUID(old_ticket["id"]),
            buyer_id=uuid4(),
            price_cents=2550,
            payment_window_seconds=900,
        ),
        id=workflow_id(with_saga),
        task_queue=f"nobody-polls-{uuid4().hex}",
    )

    async def sweep() -> list[UUID]:
        return await cancel_unstarted_orders(
            runtime.unit_of_work,
            runtime.database.read_engine,
            temporal,
            older_than=timedelta(minutes=1),
            deadline=timedelta(seconds=5),
        )

    try:
        assert await sweep() == []
        assert await status_of(market, young) == OrderStatus.CREATED
        assert await status_of(market, with_saga) == OrderStatus.CREATED

        # The young one, once old enough (still no saga): cancelled; the other still not.
        await backdate(market, young, timedelta(hours=1))
        assert await sweep() == [young]
        assert await status_of(market, young) == OrderStatus.CANCELLED
        assert await status_of(market, with_saga) == OrderStatus.CREATED
    finally:
        await handle.terminate("test over")


def test_the_age_must_outlast_a_request_that_starts_a_saga_and_undoes_it() -> None:
    """Younger, the sweeper could cancel an order whose request is still starting it."""
    with pytest.raises(ValidationError, match="UNSTARTED_ORDER_AGE_SECONDS"):
        Settings(_env_file=None, temporal_call_timeout_seconds=10, unstarted_order_age_seconds=29)
    fine = Settings(
        _env_file=None, temporal_call_timeout_seconds=10, unstarted_order_age_seconds=30
    )
    assert fine.unstarted_order_age_seconds == 30
