"""The transactional outbox's relay: publishes committed events, then marks them sent.

An event row is written in the same transaction as the change it describes (see
``unit_of_work``), so a rolled-back change publishes nothing. The relay publishes rows in
the order they were written, with ``Nats-Msg-Id`` set to the event id: if it crashes
between publishing and marking, the republished copy falls inside the stream's duplicate
window and is dropped, so each event is in the stream once.

Several relays on one outbox (a service's API and worker processes, or its replicas) are
safe the same way: each publishes from the oldest row not yet marked, in order, waiting
for each acknowledgement, and marks only what it published, so an event is in the
stream before any later one of the same entity, and a copy sent by a second relay is
dropped (tests/events/test_outbox.py). What it does not cover: a relay stalled longer
than the duplicate window between publishing and marking sends a second copy, which
consumers, applying by version, take as already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from opentelemetry.trace import SpanKind
from sqlalchemy import Table, bindparam, delete, func, select, update

from services.common.clock import as_utc, utc_now
from services.common.data.db import Database
from services.common.messaging.bus import Bus, stop_if_cancelled
from services.common.observability.metrics import (
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    OUTBOX_WAITING,
)
from services.common.observability.tracing import (
    TRACEPARENT,
    current_traceparent,
    span_from,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 200
IDLE_POLL_SECONDS = 1.0
RETRY_SECONDS = 0.5
# How often a relay deletes the published rows past their retention.
PRUNE_EVERY_SECONDS = 300.0


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        outbox: Table,
        bus: Bus,
        *,
        service: str,
        retention: timedelta | None = None,
    ) -> None:
        """``retention``: published rows older than this are deleted (None: kept)."""
        self._database = database
        self._retention = retention
        self._pruned_at = 0.0
        self._bus = bus
        self.service = service
        self._published = OUTBOX_PUBLISHED.labels(service)
        self._failures = OUTBOX_PUBLISH_FAILURES.labels(service)
        self._wake = asyncio.Event()
        # Built once: the relay runs after every commit that raised events, and building
        # a statement costs more than running it.
        self._pending = (
            select(
                outbox.c.seq,
                outbox.c.event_id,
                outbox.c.subject,
                outbox.c.payload,
                outbox.c.traceparent,
            )
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(BATCH_SIZE)
        )
        self._mark_published = (
            update(outbox)
            .where(outbox.c.seq.in_(bindparam("seqs", expanding=True)))
            .values(published_at=bindparam("now"))
        )
        # Served by the index on (published_at, seq), as is the pruning's delete.
        self._prune = delete(outbox).where(outbox.c.published_at < bindparam("before"))
        # Served by the index on (published_at, seq): it reads only the waiting rows.
        self._backlog = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)
        )

    def notify(self) -> None:
        """Called after a commit that wrote events, so they leave without waiting a poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failures.inc()
                log.warning("outbox relay could not publish; retrying", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if published < BATCH_SIZE:
                await self._prune_now_and_then()
                await self._sleep_until_woken()

    async def _prune_now_and_then(self) -> None:
        loop = asyncio.get_running_loop()
        if self._retention is None or loop.time() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = loop.time()
        try:
            await self.prune(datetime.now(UTC))
        except Exception:
            log.warning("outbox relay could not delete old rows; will again", exc_info=True)

    async def prune(self, now: datetime) -> int:
        """Delete the rows published before ``now`` less the retention: the stream has
        them. Rows not yet published are never deleted. Returns how many went."""
        if self._retention is None:
            return 0
        async with self._database.write_engine.begin() as connection:
            result = await connection.execute(self._prune, {"before": now - self._retention})
        return int(result.rowcount or 0)

    async def _sleep_until_woken(self) -> None:
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as
        # the event is set (a commit just before shutdown), and the relay never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(IDLE_POLL_SECONDS):
                await self._wake.wait()
        self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published."""
        js = await self._bus.jetstream()
        async with self._database.read_engine.connect() as connection:
            rows = (await connection.execute(self._pending)).all()
        if not rows:
            return 0
        for row in rows:
            headers = {"Nats-Msg-Id": str(row.event_id)}
            if row.traceparent:
                headers[TRACEPARENT] = row.traceparent
            with span_from(f"publish {row.subject}", headers, SpanKind.PRODUCER) as span:
                if span is not None and (traceparent := current_traceparent()):
                    # The consumers' spans follow from this publish.
                    headers[TRACEPARENT] = traceparent
                await js.publish(
                    row.subject, row.payload.encode(), stream=self._bus.stream, headers=headers
                )
        async with self._database.write_engine.begin() as connection:
            await connection.execute(
                self._mark_published,
                {"seqs": [row.seq for row in rows], "now": datetime.now(UTC)},
            )
        self._published.inc(len(rows))
        return len(rows)

    async def measure_backlog(self) -> None:
        """Sets the outbox gauges: events waiting, and how long the oldest has."""
        async with self._database.read_engine.connect() as connection:
            waiting, oldest = (await connection.execute(self._backlog)).one()
        OUTBOX_WAITING.labels(self.service).set(waiting)
        age = 0.0 if oldest is None else max((utc_now() - as_utc(oldest)).total_seconds(), 0.0)
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)
