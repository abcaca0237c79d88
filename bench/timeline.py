"""Where a saga's time goes, read from Temporal's own histories.

For each workflow task and activity of a sample of sagas: *scheduled → started* is time
waiting to be matched to a worker's poller (the server), *started → completed* is the
worker's time plus the server's round trip to record it. The same steps of the null
saga and of the purchase, side by side, split a slow step between Temporal and the
services.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.stats import latency

SAMPLE = 60
WORKFLOW_TASK = "workflow task"


def _seconds(earlier: Any, later: Any) -> float:
    """Between two protobuf timestamps, in seconds (what the stats helpers take)."""
    return float((later.ToDatetime() - earlier.ToDatetime()).total_seconds())


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def steps(client: Client, started: datetime, ended: datetime) -> dict[str, Any]:
    """Per step, latency of up to ``SAMPLE`` Purchase sagas started in [started, ended]."""
    query = (
        f'WorkflowType="Purchase" AND StartTime >= "{_rfc3339(started)}" '
        f'AND StartTime <= "{_rfc3339(ended)}"'
    )
    ids = [execution.id async for execution in client.list_workflows(query)][:SAMPLE]
    spans: dict[str, list[float]] = defaultdict(list)
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        by_id = {event.event_id: event for event in history.events}
        scheduled = None
        for event in history.events:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled = event
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and scheduled is not None:
                spans[f"{WORKFLOW_TASK}: scheduled → started"].append(
                    _seconds(scheduled.event_time, event.event_time)
                )
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                start = by_id[event.workflow_task_completed_event_attributes.started_event_id]
                spans[f"{WORKFLOW_TASK}: started → completed"].append(
                    _seconds(start.event_time, event.event_time)
                )
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed = event.activity_task_completed_event_attributes
                schedule = by_id[completed.scheduled_event_id]
                start = by_id[completed.started_event_id]
                name = schedule.activity_task_scheduled_event_attributes.activity_type.name
                spans[f"{name}: scheduled → started"].append(
                    _seconds(schedule.event_time, start.event_time)
                )
                spans[f"{name}: started → completed"].append(
                    _seconds(start.event_time, event.event_time)
                )
    return {"sagas": len(ids), "steps": {step: latency(spans[step]) for step in sorted(spans)}}
