"""What the payments tests share: settings on their own event stream, a runtime, the
outbox drained, and the PaymentIntents Stripe holds for an order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.payments.service import definition
from services.payments.stripe_gateway import StripeGateway
from tests.support.apps import service_runtime
from tests.support.polling import eventually


@asynccontextmanager
async def payments_runtime(
    settings: Settings, *, consume: bool = True
) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime(definition, settings, consume=consume) as runtime:
        yield runtime


async def outbox_drained(runtime: ServiceRuntime) -> None:
    outbox = runtime.definition.tables.outbox

    async def drained() -> bool:
        async with runtime.database.read_sessions() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return pending == 0

    await eventually(drained, within=5, what="the outbox relay")


async def intents_of_order(gateway: StripeGateway, order_id: object) -> list[str]:
    """The PaymentIntents Stripe holds for an order (by the metadata we send)."""
    intents = await gateway.client.v1.payment_intents.list_async({"limit": 100})
    return [
        intent.id
        for intent in intents.data
        if intent.metadata and intent.metadata.to_dict().get("order_id") == str(order_id)
    ]
