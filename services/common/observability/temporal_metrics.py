"""The Temporal SDK's own metrics (workflow and activity task latencies, polls, requests,
slots, completions...) in the process's prometheus-client registry, so that each
process serves them at the ``/metrics`` it already has (a worker's health port, an
app's route) instead of on a second port of the SDK's own.

The SDK's Runtime records into a ``MetricBuffer``; a collector drains it, keeps the
totals (counters summed, gauges' last value, histograms bucketed here) and yields them
at each scrape. A daemon thread also drains it every second, since a buffer left full
(nobody scraping) drops updates and logs an error for each.
"""

from __future__ import annotations

import bisect
import functools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import REGISTRY
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

# Enough for several seconds of a rush between two drains (a purchase makes about a
# hundred updates).
BUFFER_SIZE = 100_000
DRAIN_SECONDS = 1.0
# Durations come in seconds: from a local activity's milliseconds to a long poll's minute.
BUCKETS: tuple[float, ...] = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        cumulative, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            cumulative.append((_bound(bound), float(running)))
        return cumulative


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


@dataclass
class _Family:
    kind: int
    description: str
    series: dict[Labels, float | _Histogram] = field(default_factory=dict)


class TemporalMetrics(Collector):
    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._families: dict[str, _Family] = {}
        self._lock = threading.Lock()

    def drain(self) -> None:
        with self._lock:
            for update in self._buffer.retrieve_updates():
                metric = update.metric
                family = self._families.get(metric.name)
                if family is None:
                    family = self._families[metric.name] = _Family(
                        metric.kind, metric.description or metric.name
                    )
                labels = _labels(update.attributes)
                if family.kind == BUFFERED_METRIC_KIND_COUNTER:
                    previous = family.series.get(labels, 0.0)
                    assert isinstance(previous, float)
                    family.series[labels] = previous + update.value
                elif family.kind == BUFFERED_METRIC_KIND_GAUGE:
                    family.series[labels] = float(update.value)
                else:
                    histogram = family.series.get(labels)
                    if not isinstance(histogram, _Histogram):
                        histogram = family.series[labels] = _Histogram()
                    histogram.observe(float(update.value))

    def collect(self) -> Iterator[Metric]:
        self.drain()
        with self._lock:
            for name, family in sorted(self._families.items()):
                yield _metric(name, family)

    def drain_in_background(self) -> None:
        """For the process's life: a daemon thread, gone when the process is."""

        def drain_forever() -> None:
            while True:
                time.sleep(DRAIN_SECONDS)
                self.drain()

        threading.Thread(target=drain_forever, name="temporal-metrics", daemon=True).start()


def _labels(attributes: Mapping[str, str | int | float | bool]) -> Labels:
    return tuple(sorted((key, str(value)) for key, value in attributes.items()))


def _metric(name: str, family: _Family) -> Metric:
    metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
    label_names = _label_names(family.series)
    if family.kind == BUFFERED_METRIC_KIND_COUNTER:
        metric = CounterMetricFamily(name, family.description, labels=label_names)
    elif family.kind == BUFFERED_METRIC_KIND_GAUGE:
        metric = GaugeMetricFamily(name, family.description, labels=label_names)
    else:
        metric = HistogramMetricFamily(name, family.description, labels=label_names)
    for labels, value in family.series.items():
        values = _label_values(label_names, labels)
        if isinstance(value, _Histogram):
            assert isinstance(metric, HistogramMetricFamily)
            metric.add_metric(values, value.buckets(), value.total)
        else:
            assert not isinstance(metric, HistogramMetricFamily)
            metric.add_metric(values, value)
    return metric


def _label_names(series: Mapping[Labels, object]) -> list[str]:
    # One metric's updates need not all carry the same attributes (a request's
    # operation with or without a task queue): the family takes them all, a series
    # without one has it empty, as Prometheus reads a missing label anyway.
    return sorted({key for labels in series for key, _ in labels})


def _label_values(names: Sequence[str], labels: Labels) -> list[str]:
    present = dict(labels)
    return [present.get(name, "") for name in names]


@functools.cache
def temporal_runtime() -> Runtime:
    """The process's one Temporal Runtime (each has its own thread pool), recording
    into this process's registry; every client is connected on it."""
    buffer = MetricBuffer(BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer, attach_service_name=False))
    collector = TemporalMetrics(buffer)
    REGISTRY.register(collector)
    collector.drain_in_background()
    return runtime
