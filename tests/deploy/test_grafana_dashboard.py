"""The Grafana dashboard names only metrics the processes serve: every metric in every
panel's PromQL is one that /metrics shows once a worker has run workflows (the SDK's,
an activity retried and a workflow failed among them) and the services' own are
defined, so that renaming a metric without the dashboard fails here."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.support.metrics import scraped
from tests.support.temporal import services_client

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "ticketing-dashboard.json"

# Words of PromQL that are not metric names (functions are followed by a parenthesis).
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "offset", "bool", "inf", "nan"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def served(text: str) -> set[str]:
    """Every sample name /metrics serves or declares (a labelled metric without samples
    yet has its HELP and TYPE)."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


_attempts: dict[str, int] = {}


@activity.defn
async def flaky(key: str) -> str:
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] == 1:
        raise RuntimeError("the first try fails")
    return "done"


@workflow.defn(sandboxed=False)
class Chores:
    @workflow.run
    async def run(self, fail: bool) -> str:
        if fail:
            raise ApplicationError("failed on purpose", non_retryable=True)
        return await workflow.execute_activity(
            flaky,
            workflow.info().workflow_id,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10)),
        )


_stumbled: set[str] = set()


@workflow.defn(sandboxed=False)
class Stumbles:
    """Fails its first workflow task (as a bad deploy's nondeterminism does), then runs."""

    @workflow.run
    async def run(self) -> str:
        if workflow.info().workflow_id not in _stumbled:
            _stumbled.add(workflow.info().workflow_id)
            raise RuntimeError("the first workflow task fails")
        return "done"


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) (rate(ticketing_http_request_duration_"
        'seconds_bucket{service="orders", route=~"/api/.+"}[5m]))) / on (x) other_metric'
    )
    assert metric_names(expr) == {"ticketing_http_request_duration_seconds_bucket", "other_metric"}


async def test_the_dashboard_names_only_metrics_that_are_served(
    temporal_dev_env: WorkflowEnvironment, tmp_path: Path, nats_url: str
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    client = await services_client(temporal_dev_env, tmp_path, nats_url)
    task_queue = f"chores-{uuid4().hex}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Chores, Stumbles],
        activities=[flaky],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        done = await client.execute_workflow(
            Chores.run, False, id=f"chores-{uuid4().hex}", task_queue=task_queue
        )
        assert done == "done"
        with pytest.raises(WorkflowFailureError):
            await client.execute_workflow(
                Chores.run, True, id=f"chores-{uuid4().hex}", task_queue=task_queue
            )
        stumbled = await client.execute_workflow(
            Stumbles.run, id=f"stumbles-{uuid4().hex}", task_queue=task_queue
        )
        assert stumbled == "done"
        # The worker's gauges, while it runs.
        names = served(await scraped())
    used = set().union(*(metric_names(expr) for expr in expressions(dashboard)))
    assert used, "no PromQL found"
    assert used - names == set()
    # Each figure the issue asks for has a panel.
    for wanted in (
        "ticketing_purchases_total",
        "ticketing_http_request_duration_seconds_bucket",
        "ticketing_payment_attempts_total",
        "ticketing_outbox_oldest_age_seconds",
        "ticketing_consumer_pending_messages",
        # A bad deploy (nondeterminism), and compensations that keep failing.
        "temporal_workflow_task_execution_failed_total",
        "temporal_activity_execution_failed_total",
    ):
        assert wanted in used
