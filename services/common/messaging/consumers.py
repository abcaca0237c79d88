"""Durable JetStream consumers that apply events to a service's own database.

Each consumer is created explicitly (durable, explicit ack, ``ack_wait``,
``max_deliver``) and read with a pull subscription bound to it: every replica of a
service binds the same durable consumer, so they share the work like a deliver group.
A message is acked only after the transaction that applied it has committed.

Handlers are idempotent and version-ordered: an event already applied is acked without
change; an event ahead of the replica raises ``NotYetApplicable`` and is redelivered
after a short delay, by which time the missing predecessor has usually been applied.

A predecessor can be held far longer: fetched by a replica that then died, it comes
back only when its ``ack_wait`` runs out. So retries back off (doubling, up to
``RETRY_DELAY_CAP_SECONDS``) rather than burning through deliveries, and by default a
consumer never gives an event up: a replica that drops one differs from its source for
good, while one kept waiting heals as soon as the gap fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.bus import Bus, stop_if_cancelled
from services.common.messaging.events import Event, decode
from services.common.observability.logging import about_order
from services.common.observability.metrics import (
    CONSUMER_ACK_PENDING,
    CONSUMER_PENDING,
    CONSUMER_REDELIVERED,
)
from services.common.observability.tracing import span_from

log = logging.getLogger(__name__)

FETCH_BATCH = 100
FETCH_TIMEOUT_SECONDS = 1.0
OUT_OF_ORDER_DELAY_SECONDS = 0.05
FAILURE_DELAY_SECONDS = 1.0
RETRY_DELAY_CAP_SECONDS = 5.0
# Every this many deliveries, an event still waiting is logged: the first time after
# about 20 s, then every 50 s.
LONG_WAIT_DELIVERIES = 10


class NotYetApplicable(Exception):
    """The event is ahead of the replica: a predecessor has not been applied yet."""


def retry_delay(first: float, deliveries: int) -> float:
    """The wait before the next delivery of a message delivered ``deliveries`` times."""
    return min(first * 2.0 ** max(deliveries - 1, 0), RETRY_DELAY_CAP_SECONDS)


Handler = Callable[[Any, UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """What a service listens to: one durable consumer and a handler per event type."""

    durable: str
    handlers: Mapping[type[Event], Handler]

    @property
    def subjects(self) -> list[str]:
        return sorted(event_type.subject.value for event_type in self.handlers)


class ConsumerRunner:
    def __init__(
        self,
        consumer: Consumer,
        bus: Bus,
        new_unit_of_work: Callable[[], UnitOfWork],
        *,
        ack_wait: float,
        max_deliver: int,
    ) -> None:
        self.consumer = consumer
        self._bus = bus
        self._new_unit_of_work = new_unit_of_work
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "consumer %s lost its subscription; rebinding",
                    self.consumer.durable,
                    exc_info=True,
                )
                await asyncio.sleep(FAILURE_DELAY_SECONDS)

    async def _consume(self) -> None:
        js = await self._bus.jetstream()
        await js.add_consumer(
            self._bus.stream,
            ConsumerConfig(
                durable_name=self.consumer.durable,
                filter_subjects=self.consumer.subjects,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait,
                max_deliver=self._max_deliver,
                max_ack_pending=10_000,
            ),
        )
        subscription = await js.pull_subscribe_bind(self.consumer.durable, stream=self._bus.stream)
        try:
            while True:
                stop_if_cancelled()
                try:
                    messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_TIMEOUT_SECONDS)
                except NatsTimeoutError:
                    continue  # nothing to fetch
                except TimeoutError:
                    # asyncio's, not nats-py's: the wait ran out between nats-py's two
                    # pull requests (a busy machine), or the connection is not back yet
                    # after an outage. Bind afresh at once: a subscription from before a
                    # server restart may never deliver again, and rebinding costs little.
                    return
                for message in messages:
                    stop_if_cancelled()
                    await self.handle(message)
        finally:
            await subscription.unsubscribe()

    async def handle(self, message: Msg) -> None:
        try:
            event = decode(message.subject, message.data)
        except (KeyError, ValidationError):
            log.error("poison message on %s terminated: %r", message.subject, message.data[:200])
            await message.term()
            return
        handler = self.consumer.handlers[type(event)]
        deliveries = message.metadata.num_delivered or 1
        try:
            # Continues the trace of the change that raised the event (its publish's
            # traceparent); events this handler raises carry it on.
            with (
                about_order(getattr(event, "order_id", None)),
                span_from(
                    f"apply {event.subject}",
                    message.headers,
                    SpanKind.CONSUMER,
                    {"messaging.consumer.name": self.consumer.durable},
                ),
            ):
                async with self._new_unit_of_work() as uow:
                    await handler(event, uow)
                    await uow.commit()
        except NotYetApplicable as waiting:
            if deliveries % LONG_WAIT_DELIVERIES == 0:
                log.warning("%s: %d deliveries, still %s", event.subject, deliveries, waiting)
            await message.nak(delay=retry_delay(OUT_OF_ORDER_DELAY_SECONDS, deliveries))
            return
        except Exception:
            log.exception("applying %s %s failed; will retry", event.subject, event.event_id)
            await message.nak(delay=retry_delay(FAILURE_DELAY_SECONDS, deliveries))
            return
        await message.ack()


async def measure_consumers(service: str, bus: Bus, consumers: Sequence[Consumer]) -> None:
    """Sets each durable consumer's gauges from JetStream's consumer info: one request
    each, at scrape time; nothing while NATS is not connected."""
    js = bus.jetstream_if_connected()
    if js is None:
        return
    for consumer in consumers:
        try:
            info = await js.consumer_info(bus.stream, consumer.durable)
        except NotFoundError:
            continue  # its runner has not created it yet
        CONSUMER_PENDING.labels(service, consumer.durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(service, consumer.durable).set(info.num_ack_pending or 0)
        CONSUMER_REDELIVERED.labels(service, consumer.durable).set(info.num_redelivered or 0)
