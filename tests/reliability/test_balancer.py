"""The several-copies profile's balancer: connections spread round-robin over the copies,
and a copy that refuses (killed) is passed over for the next; as a slow link, requests
wait what its delay file says."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from pathlib import Path

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


async def test_a_slow_link_holds_each_request_as_long_as_its_file_says(tmp_path: Path) -> None:
    server, server_port = await named_server(b"one")
    delay = tmp_path / "delay"
    port = free_port()
    linking = asyncio.create_task(serve(port, [("127.0.0.1", server_port)], delay=delay))
    try:
        await asyncio.sleep(0.1)
        assert await timed(ask(port)) < 0.5  # no file: no delay
        delay.write_text("0.8")
        slow = await timed(ask(port))
        assert slow >= 0.8
        delay.write_text("0")
        assert await timed(ask(port)) < 0.5
    finally:
        linking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await linking
        server.close()


async def timed(request: Awaitable[bytes]) -> float:
    started = time.monotonic()
    assert await request == b"one"
    return time.monotonic() - started
