"""Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then nothing is installed
and nothing is added to an app, a Temporal client, an outbox row or an event; set, the
process exports over OTLP under its role's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from services.common.observability import tracing
from services.tickets.service import definition as tickets
from tests.support.apps import make_settings


def test_off_by_default_it_adds_nothing(tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1")
    assert settings.otel_exporter_otlp_endpoint is None
    tracing.configure_tracing(settings, "orders")
    assert not tracing.enabled()
    assert tracing.temporal_interceptors() == []
    assert tracing.current_traceparent() is None
    with tracing.span_from(
        "apply", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}, SpanKind.CONSUMER
    ) as span:
        assert span is None
    from services.common.http.app import create_app

    app = create_app(tickets, settings)
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


def test_an_endpoint_installs_an_otlp_exporting_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The global provider may be set once a process: the test's is left alone.
    made: list[TracerProvider] = []
    monkeypatch.setattr(trace, "set_tracer_provider", made.append)
    settings = make_settings(
        data_dir=tmp_path,
        nats_url="nats://127.0.0.1:1",
        otel_exporter_otlp_endpoint="http://127.0.0.1:1/",
    )
    try:
        tracing.configure_tracing(settings, "worker-orders")
        assert tracing.enabled()
        (provider,) = made
        assert provider.resource.attributes["service.name"] == "worker-orders"
        assert len(tracing.temporal_interceptors()) == 1
        from services.common.http.app import create_app

        assert create_app(tickets, settings)._is_instrumented_by_opentelemetry  # type: ignore[attr-defined]
    finally:
        tracing.uninstall()
        for provider in made:
            provider.shutdown()
