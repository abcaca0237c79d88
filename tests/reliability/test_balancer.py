"""The several-copies profile's balancer: connections spread round-robin over the copies,
and a copy that refuses (killed) is passed over for the next."""

from __future__ import annotations

import asyncio
import contextlib

from tests.reliability.balancer import serve
from tests.support.ports import free_port


async def named_server(name: bytes) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(name)
        await writer.drain()
        writer.close()

    port = free_port()
    return await asyncio.start_server(answer, "127.0.0.1", port), port


async def ask(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"?")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_connections_go_round_robin_and_around_a_dead_copy() -> None:
    (first, first_port), (second, second_port) = (
        await named_server(b"one"),
        await named_server(b"two"),
    )
    port = free_port()
    balancing = asyncio.create_task(
        serve(port, [("127.0.0.1", first_port), ("127.0.0.1", second_port)])
    )
    try:
        await asyncio.sleep(0.1)
        assert sorted([await ask(port) for _ in range(4)]) == [b"one", b"one", b"two", b"two"]
        first.close()
        await first.wait_closed()
        assert [await ask(port) for _ in range(3)] == [b"two"] * 3
    finally:
        balancing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await balancing
        second.close()
