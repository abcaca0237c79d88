"""Reading a process's Prometheus text (/metrics) in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.common.observability.metrics import metrics_response


def figure(text: str, name: str, **labels: str) -> float:
    """One sample of the Prometheus text at /metrics (0 when it is not there yet)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def scraped() -> str:
    """What this process's /metrics answers now (its scrape-time figures refreshed)."""
    response = await metrics_response()
    return bytes(response.body).decode()
