"""The bus keeps one connection: when it connects but cannot make its stream, it closes
that connection before it tries again, instead of leaving one more behind each time."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx

from devstack.nats import NatsServer
from services.common.messaging.bus import Bus


async def connections_named(server: NatsServer, name: str) -> int:
    async with httpx.AsyncClient() as client:
        connz = (await client.get(f"{server.monitor_url}/connz", params={"limit": 1024})).json()
    return sum(1 for connection in connz.get("connections", []) if connection.get("name") == name)


async def test_a_stream_that_cannot_be_made_leaves_no_connection_behind(
    nats_server: NatsServer, nats_url: str
) -> None:
    name = f"leak-{uuid4().hex[:8]}"
    # A stream name with a dot is refused by JetStream: every try connects, then fails.
    bus = Bus(nats_url, stream="NOT.A.STREAM", duplicate_window=60, name=name)
    bus.start()
    try:
        # Over four tries or so, a second apart: never more than the one being tried.
        seen = []
        for _ in range(7):
            await asyncio.sleep(0.5)
            seen.append(await connections_named(nats_server, name))
        assert max(seen) <= 1, seen
    finally:
        await bus.close()
    await asyncio.sleep(0.2)
    assert await connections_named(nats_server, name) == 0
