"""A load balancer for the several-copies profile: connections to one port, spread
round-robin over the API's copies, as the ingress in front of several replicas does.
A copy that refuses a connection (killed, restarting) is passed over for the next.

    python -m tests.reliability.balancer --port 8000 --to 127.0.0.1:8001,127.0.0.1:8002

With ``--delay-file``, it is also a slow link: every chunk a client sends waits the number
of seconds that file holds (read anew for each chunk, 0 when missing) before it goes on,
so a scenario can make a dependency answer slowly, and fast again, while the stack runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from pathlib import Path


def delay_of(path: Path | None) -> float:
    if path is None:
        return 0.0
    try:
        return float(path.read_text() or 0)
    except (OSError, ValueError):
        return 0.0


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Path | None = None
) -> None:
    try:
        while chunk := await reader.read(65536):
            if seconds := delay_of(delay):
                await asyncio.sleep(seconds)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class Balancer:
    def __init__(self, backends: Sequence[tuple[str, int]], delay: Path | None = None) -> None:
        self.backends = list(backends)
        self.delay = delay
        self._next = itertools.cycle(range(len(self.backends)))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        last: OSError | None = None
        for _ in range(len(self.backends)):
            host, port = self.backends[next(self._next)]
            try:
                return await asyncio.open_connection(host, port)
            except OSError as refused:
                last = refused
        assert last is not None
        raise last

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            backend_r, backend_w = await self._connect()
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, backend_w, self.delay), _pipe(backend_r, client_w))


async def serve(
    port: int,
    backends: Sequence[tuple[str, int]],
    host: str = "127.0.0.1",
    delay: Path | None = None,
) -> None:
    balancer = Balancer(backends, delay)
    server = await asyncio.start_server(balancer.handle, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--to", required=True, help="host:port,host:port,...")
    parser.add_argument("--delay-file", type=Path, help="seconds each client chunk waits")
    arguments = parser.parse_args()
    backends = [
        (host, int(port))
        for host, port in (item.rsplit(":", 1) for item in arguments.to.split(","))
    ]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.port, backends, delay=arguments.delay_file))


if __name__ == "__main__":
    main()
