"""The bench's count of billable actions follows Temporal Cloud's published rules."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
)
from temporalio.client import WorkflowHistory

from bench.shape import LOCAL_ACTIVITY_MARKER, PATCH_SEARCH_ATTRIBUTE, actions


def event(event_id: int, kind: EventType.ValueType, **attributes: object) -> HistoryEvent:
    return HistoryEvent(event_id=event_id, event_type=kind, **attributes)  # type: ignore[arg-type]


def upsert(event_id: int, *names: str) -> HistoryEvent:
    fields = SearchAttributes(indexed_fields={name: Payload(data=b"1") for name in names})
    return event(
        event_id,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsert_workflow_search_attributes_event_attributes=(
            UpsertWorkflowSearchAttributesEventAttributes(search_attributes=fields)
        ),
    )


def marker(event_id: int, name: str, task: int) -> HistoryEvent:
    return event(
        event_id,
        EventType.EVENT_TYPE_MARKER_RECORDED,
        marker_recorded_event_attributes=MarkerRecordedEventAttributes(
            marker_name=name, workflow_task_completed_event_id=task
        ),
    )


def test_actions_are_counted_as_a_hosted_namespace_bills_them() -> None:
    history = WorkflowHistory(
        "order-1",
        [
            event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
            event(4, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
            # Two local activities in one workflow task are one action; a third in the
            # next task is another.
            marker(5, LOCAL_ACTIVITY_MARKER, 4),
            marker(6, LOCAL_ACTIVITY_MARKER, 4),
            marker(7, "core_patch", 4),
            upsert(8, PATCH_SEARCH_ATTRIBUTE),  # exempt
            upsert(9, "OrderStatus", PATCH_SEARCH_ATTRIBUTE),
            event(10, EventType.EVENT_TYPE_TIMER_STARTED),
            event(11, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
            event(12, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
            event(
                13,
                EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
                activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
                    attempt=3
                ),
            ),
            event(16, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
            marker(17, LOCAL_ACTIVITY_MARKER, 16),
        ],
    )
    assert actions(history) == {
        "workflow started": 1,
        "local activities of a workflow task": 2,
        "marker (core_patch)": 1,
        "search-attribute upsert": 1,
        "timer": 1,
        "update": 1,
        "signal": 1,
        "activity attempt": 3,
    }
