"""What every process counts, in Prometheus's text format at ``/metrics``: the HTTP
requests each route answers, and the business figures of the purchase.

One registry per process (prometheus_client's default): a process that serves several
services (the embedded gateway, ``ticketing worker all``) shows them together, each
labelled with its service.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
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
    "Charges sent to Stripe, by outcome: succeeded or declined.",
    ["outcome"],
)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


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
