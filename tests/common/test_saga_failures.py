"""How the routes read the saga's answers: a business failure however deep Temporal wraps
it, and a finished saga told apart from an unreachable Temporal."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.service import RPCError, RPCStatusCode

from services.common.temporal import business_failure, saga_has_finished
from workflows.contracts import FailureType


def update_failed(cause: BaseException) -> WorkflowUpdateFailedError:
    failed = WorkflowUpdateFailedError(cause)
    failed.__cause__ = cause
    return failed


def activity_failed(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="worker",
        activity_type="charge",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error


def test_a_business_failure_is_found_directly_or_under_an_activity() -> None:
    declined = ApplicationError("Your card was declined.", type=FailureType.CARD_DECLINED)
    assert business_failure(update_failed(declined), FailureType) is declined
    assert business_failure(update_failed(activity_failed(declined)), FailureType) is declined


def test_an_infrastructure_failure_is_no_business_failure() -> None:
    crashed = ApplicationError("database is locked", type="OperationalError")
    assert business_failure(update_failed(activity_failed(crashed)), FailureType) is None


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        (RPCStatusCode.NOT_FOUND, True),
        (RPCStatusCode.FAILED_PRECONDITION, True),
        (RPCStatusCode.UNAVAILABLE, False),
        (RPCStatusCode.DEADLINE_EXCEEDED, False),
    ],
)
def test_only_a_finished_saga_counts_as_finished(status: RPCStatusCode, finished: bool) -> None:
    assert saga_has_finished(RPCError("answer", status, b"")) is finished
