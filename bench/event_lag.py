"""Event lag: from the commit of a ``ticket.updated`` to the orders replica applying it.

The seller edits a ticket (PUT /api/tickets/{id}); its 200 carries the ticket's new
version, and the tickets service answers only after the transaction (change + outbox
row) committed, so the 200's arrival is the commit time plus the response's trip. From
then on the orders service's SQLite file (read-only) is polled every millisecond until
its tickets replica holds that version: outbox relay, NATS JetStream, the orders consumer
and its commit, all included.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stats import latency

POLL_SECONDS = 0.001
GIVE_UP_SECONDS = 10.0
PAUSE_SECONDS = 0.02


async def measure(
    seller: httpx.AsyncClient, ticket_id: str, orders_db: Path, samples: int
) -> dict[str, Any]:
    replica = sqlite3.connect(f"file:{orders_db}?mode=ro", uri=True, isolation_level=None)
    key = ticket_id.replace("-", "")
    lags: list[float] = []
    round_trips: list[float] = []
    lost = 0
    try:
        for index in range(samples):
            sent = time.perf_counter()
            response = await seller.put(
                f"/api/tickets/{ticket_id}", json={"title": f"Edited #{index}", "price": 20 + index}
            )
            committed = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(f"edit answered {response.status_code}: {response.text}")
            round_trips.append(committed - sent)
            version = int(response.json()["version"])
            applied = await _applied(replica, key, version, committed + GIVE_UP_SECONDS)
            if applied is None:
                lost += 1
            else:
                lags.append(applied - committed)
            await asyncio.sleep(PAUSE_SECONDS)
    finally:
        replica.close()
    return {"lag": latency(lags), "edit_round_trip": latency(round_trips), "not_applied": lost}


async def _applied(
    replica: sqlite3.Connection, key: str, version: int, deadline: float
) -> float | None:
    while True:
        row = replica.execute("SELECT version FROM tickets WHERE id = ?", (key,)).fetchone()
        now = time.perf_counter()
        if row is not None and int(row[0]) >= version:
            return now
        if now > deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)
