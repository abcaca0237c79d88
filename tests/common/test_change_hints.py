"""Hints of changes, heard on the real bus: they wake the waits on their entity only,
and a wait without one ends on time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from uuid import uuid4

import nats

from devstack.nats import NatsServer
from services.common.messaging.bus import Bus
from services.common.messaging.change_hints import ChangeHints, HintSource
from services.common.messaging.events import Subject
from tests.support.polling import eventually

SOURCE = HintSource(subjects=(Subject.ORDER_COMPLETED,), key="order_id")


@contextlib.asynccontextmanager
async def listening(nats_url: str, events_stream: str) -> AsyncIterator[ChangeHints]:
    bus = Bus(nats_url, stream=events_stream, duplicate_window=60, name="hints-test")
    bus.start()
    hints = ChangeHints(SOURCE)
    task = asyncio.create_task(hints.listen(bus))
    try:

        async def subscribed() -> bool:
            return hints.listening

        await eventually(subscribed, what="the hints to be heard")
        yield hints
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.close()


async def announce(nats_url: str, subject: Subject, order_id: str) -> None:
    client = await nats.connect(nats_url)
    try:
        await client.publish(subject.value, json.dumps({"order_id": order_id}).encode())
        await client.flush()
    finally:
        await client.close()


async def test_a_hint_wakes_the_waits_on_its_entity_only(nats_url: str, events_stream: str) -> None:
    mine, other = str(uuid4()), str(uuid4())
    async with listening(nats_url, events_stream) as hints:
        with hints.watch(mine) as waiting, hints.watch(other) as bystander:
            assert hints.watched == 2
            mine_woken = asyncio.create_task(waiting.pause(30))
            other_woken = asyncio.create_task(bystander.pause(30))
            await announce(nats_url, Subject.ORDER_COMPLETED, mine)
            async with asyncio.timeout(10):
                await mine_woken
            await asyncio.sleep(0.2)
            assert not other_woken.done()
            # Another subject, even about the same entity, is no hint.
            await announce(nats_url, Subject.ORDER_CREATED, other)
            await asyncio.sleep(0.2)
            assert not other_woken.done()
            other_woken.cancel()
        # Watches end with their blocks: nothing is kept for entities nobody waits on.
        assert hints.watched == 0


async def test_a_hint_before_the_pause_is_not_lost(nats_url: str, events_stream: str) -> None:
    order_id = str(uuid4())
    async with listening(nats_url, events_stream) as hints:
        with hints.watch(order_id) as waiting:
            # The change lands between the read and the pause: the pause returns at once.
            await announce(nats_url, Subject.ORDER_COMPLETED, order_id)
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await waiting.pause(30)
            assert time.monotonic() - started < 1
            # Once used, the hint is spent: the next pause waits its time.
            started = time.monotonic()
            await waiting.pause(0.2)
            assert time.monotonic() - started >= 0.15


async def test_hints_are_heard_again_after_the_bus_comes_back(
    nats_server: NatsServer, nats_url: str, events_stream: str
) -> None:
    order_id = str(uuid4())
    async with listening(nats_url, events_stream) as hints:
        nats_server.stop()
        nats_server.start()
        with hints.watch(order_id) as waiting:
            woken = asyncio.create_task(waiting.pause(30))

            async def heard() -> bool:
                # Announced until heard: the subscription is back only once the
                # connection is, a moment after the server.
                await announce(nats_url, Subject.ORDER_COMPLETED, order_id)
                await asyncio.sleep(0.2)
                return woken.done()

            await eventually(heard, what="a hint after the restart")
