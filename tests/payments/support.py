"""What the payments tests share: settings on their own event stream, a runtime, the
outbox drained, and the PaymentIntents Stripe holds for an order."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import func, select

from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.payments.service import definition
from services.payments.stripe_gateway import StripeGateway
from tests.support.apps import make_settings, service_runtime
from tests.support.jetstream import own_stream as shared_own_stream
from tests.support.polling import eventually


def payments_settings(
    tmp_path: Path, *, nats_url: str, database_url: str, localstripe_url: str, **overrides: Any
) -> Settings:
    # A stream of its own, so that no other test's events are read back.
    return make_settings(
        data_dir=tmp_path,
        nats_url=nats_url,
        database_url=database_url,
        events_stream=f"EVENTS_{uuid4().hex}",
        stripe_api_base=localstripe_url,
        **overrides,
    )


def own_stream(settings: Settings) -> contextlib.AbstractAsyncContextManager[None]:
    return shared_own_stream(settings.nats_url, settings.events_stream)


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
