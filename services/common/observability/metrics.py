"""What every process counts, in Prometheus's text format at ``/metrics``: the HTTP
requests each route answers, the business figures of the purchase, the outbox and the
event consumers' backlogs, and (``temporal_metrics``) the Temporal SDK's own.

One registry per process (prometheus_client's default): a process that serves several
services (the embedded gateway, ``ticketing worker all``) shows them together, each
labelled with its service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "ticketing_http_requests_total",
    "HTTP requests answered, by service, route (its template), method and status.",
    ["service", "route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "ticketing_http_request_duration_seconds",
    "Time to answer an HTTP request, by service and route.",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25),
)
PURCHASES = Counter(
    "ticketing_purchases_total",
    "Purchases by what became of them: started (a saga began), refused_at_gate (a live "
    "order already held the ticket), completed, or cancelled for a reason: expired, "
    "cancelled (by the buyer), ticket_unavailable, price_changed.",
    ["outcome"],
)
PAYMENT_ATTEMPTS = Counter(
    "ticketing_payment_attempts_total",
    "Charges sent to Stripe, by outcome: succeeded, declined, or requires_action (the "
    "bank asks the buyer to confirm: 3-D Secure).",
    ["outcome"],
)

OUTBOX_WAITING = Gauge(
    "ticketing_outbox_waiting_events",
    "Events committed to a service's outbox and not yet published to NATS.",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "ticketing_outbox_oldest_age_seconds",
    "Age of the oldest event waiting in a service's outbox (0 when none waits).",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "ticketing_outbox_published_total",
    "Events the outbox relay published to NATS (and JetStream acknowledged).",
    ["service"],
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "ticketing_outbox_publish_failures_total",
    "Times the outbox relay failed to publish a batch (NATS unreachable, no "
    "acknowledgement in time); it retries.",
    ["service"],
)
CONSUMER_PENDING = Gauge(
    "ticketing_consumer_pending_messages",
    "Messages in the stream that a durable consumer has not delivered yet (its lag).",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "ticketing_consumer_ack_pending_messages",
    "Messages a durable consumer delivered and that are not acknowledged yet.",
    ["service", "consumer"],
)
CONSUMER_REDELIVERED = Gauge(
    "ticketing_consumer_redelivered_messages",
    "Unacknowledged messages a durable consumer has delivered more than once (events "
    "waiting for a predecessor, or failing to apply).",
    ["service", "consumer"],
)

# A figure read from a database or NATS at each scrape must not hold the scrape up.
SCRAPE_REFRESH_SECONDS = 2.0

log = logging.getLogger(__name__)

_refreshers: list[Callable[[], Awaitable[None]]] = []


@contextlib.contextmanager
def refreshed_at_scrape(refresh: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Run ``refresh`` (which sets gauges) before each scrape of this process while the
    block runs: the gauges cost nothing between scrapes."""
    _refreshers.append(refresh)
    try:
        yield
    finally:
        _refreshers.remove(refresh)


async def metrics_response() -> Response:
    if _refreshers:
        results = await asyncio.gather(
            *(_bounded(refresh) for refresh in list(_refreshers)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                log.debug("a figure could not be read for /metrics: %r", result)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _bounded(refresh: Callable[[], Awaitable[None]]) -> None:
    async with asyncio.timeout(SCRAPE_REFRESH_SECONDS):
        await refresh()


class HttpMetrics:
    """Counts and times every request by the route that answered it (its template, so
    that ids do not make a series each); a path no route matched counts as unmatched."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, route, scope["method"], str(status)).inc()
            HTTP_SECONDS.labels(self.service, route).observe(time.perf_counter() - started)
