"""A paid purchase's shape, read from its history: how many events, and how many of them
Temporal Cloud would bill as actions.

Events are what the server stores and replays; actions are what a hosted namespace bills.
Both follow the workflow's shape (steps, timers, upserts, markers), not the machine, so
they are exact counts rather than timings, and comparable between any two runs.

Actions are counted by Temporal Cloud's published list, from the history alone:
the start; each timer; each search-attribute upsert (one per command, whatever it sets;
one that sets only ``TemporalChangeVersion`` is exempt); each signal; each accepted
Update; each activity attempt; the local activities of one workflow task together as
one; each other marker (a patch marker among them). Heartbeats and queries are billed too
but leave no event, so they are not counted here.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

SAMPLE = 60
LOCAL_ACTIVITY_MARKER = "core_local_activity"
PATCH_SEARCH_ATTRIBUTE = "TemporalChangeVersion"


def actions(history: WorkflowHistory) -> Counter[str]:
    """Billable actions of one history, by kind."""
    counted: Counter[str] = Counter()
    local_activity_tasks: set[int] = set()
    workflow_task = 0
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            counted["workflow started"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            workflow_task = event.event_id
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            counted["timer"] += 1
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes
            names = set(fields.search_attributes.indexed_fields)
            if names - {PATCH_SEARCH_ATTRIBUTE}:
                counted["search-attribute upsert"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            counted["signal"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counted["update"] += 1
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            # Only the last attempt is recorded; its number says how many ran.
            counted["activity attempt"] += max(
                1, event.activity_task_started_event_attributes.attempt
            )
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                task = marker.workflow_task_completed_event_id or workflow_task
                if task not in local_activity_tasks:
                    local_activity_tasks.add(task)
                    counted["local activities of a workflow task"] += 1
            else:
                counted[f"marker ({marker.marker_name})"] += 1
    return counted


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def paid_purchases(client: Client, started: datetime, ended: datetime) -> dict[str, Any]:
    """Events and actions per paid purchase, over up to ``SAMPLE`` completed Purchase sagas
    started in [started, ended] (the bench's purchases all pay)."""
    query = (
        f'WorkflowType="Purchase" AND ExecutionStatus="Completed" '
        f'AND StartTime >= "{_rfc3339(started)}" AND StartTime <= "{_rfc3339(ended)}"'
    )
    ids = [execution.id async for execution in client.list_workflows(query)][:SAMPLE]
    events: list[int] = []
    kinds: Counter[str] = Counter()
    totals: list[int] = []
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        events.append(len(history.events))
        counted = actions(history)
        kinds.update(counted)
        totals.append(sum(counted.values()))
    sagas = len(ids)
    return {
        "sagas": sagas,
        "events_per_purchase": round(sum(events) / sagas, 1) if sagas else None,
        "events_max": max(events, default=None),
        "actions_per_purchase": round(sum(totals) / sagas, 1) if sagas else None,
        "actions_by_kind": {kind: round(n / sagas, 2) for kind, n in sorted(kinds.items())},
    }
