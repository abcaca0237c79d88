"""Read path: GET /api/tickets against GET /healthz of the same process, same load.

Both are served by the gateway's uvicorn process; /healthz does no work beyond the
framework, so the ratio says what the tickets route itself (auth-free read session,
query, serialisation of a page) costs on top of serving any request at all.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench.stats import latency, rate, ratio


async def hammer(api: str, path: str, *, concurrency: int, seconds: float) -> dict[str, Any]:
    """``concurrency`` clients requesting ``path`` back to back for ``seconds``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    durations: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=30) as client:
        await client.get(path)  # warm the route and the connection
        end = time.perf_counter() + seconds

        async def user() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                started = time.perf_counter()
                response = await client.get(path)
                if response.status_code == 200:
                    durations.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "path": path,
        "requests_per_second": rate(len(durations), wall),
        "latency": latency(durations),
        "errors": errors,
    }


async def measure(api: str, *, concurrency: int, seconds: float, page: int) -> dict[str, Any]:
    bare = await hammer(api, "/healthz", concurrency=concurrency, seconds=seconds)
    tickets = await hammer(
        api, f"/api/tickets?limit={page}", concurrency=concurrency, seconds=seconds
    )
    return {
        "concurrency": concurrency,
        "seconds_each": seconds,
        "page_size": page,
        "tickets": tickets,
        "bare": bare,
        "ratio_to_bare": ratio(tickets["requests_per_second"], bare["requests_per_second"]),
    }
