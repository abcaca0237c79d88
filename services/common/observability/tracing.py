"""OpenTelemetry traces: one trace per purchase, from ``POST /api/orders`` through the
workflow and its activities (the Temporal SDK's TracingInterceptor), each event's outbox
row (its W3C ``traceparent``), the NATS publish (the same header on the message) and
every consumer that applies the event.

On only where ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then spans are exported over OTLP
(HTTP/protobuf) in batches. Off, no tracer provider is installed and nothing is added
to the request path, the Temporal client or the relay, so it costs nothing (the bench,
``bench.tracing``, measures it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.common.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.client import Interceptor

log = logging.getLogger(__name__)

TRACER_NAME = "ticketing"
TRACEPARENT = "traceparent"

_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def configure_tracing(settings: Settings, process: str) -> None:
    """The process's tracing, as the settings ask (once; later calls change nothing)."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None or _provider is not None:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name or process})
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
    )
    install(provider)
    # Libraries that trace through the global provider follow it too.
    trace.set_tracer_provider(provider)
    log.info("tracing: spans exported over OTLP to %s", endpoint)


def install(provider: TracerProvider) -> None:
    """Trace into ``provider`` from now on: apps made and Temporal clients connected
    afterwards are traced (a test's in-memory exporter)."""
    global _provider
    _provider = provider


def uninstall() -> None:
    global _provider
    _provider = None


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(TRACER_NAME)


def temporal_interceptors() -> list[Interceptor]:
    """For a Temporal client: it traces its calls, and the workers built on it trace
    each workflow and activity they run, continuing the caller's trace."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer())]


def instrument_app(app: FastAPI) -> None:
    """A server span per request, named by its route's template."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="/metrics,/healthz,/readyz"
    )


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, to carry across a database row; None when
    tracing is off or no span is current."""
    if _provider is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def span_from(
    name: str,
    carrier: Mapping[str, str] | None,
    kind: SpanKind,
    attributes: Mapping[str, str] | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """A span continuing the trace whose ``traceparent`` ``carrier`` holds (a message's
    headers, an outbox row); None, and nothing done, when tracing is off."""
    if _provider is None:
        # Shared and stateless: the off path allocates nothing per event.
        return _NO_SPAN
    parent: Context = _propagator.extract(dict(carrier or {}))
    return tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    )


_NO_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()
