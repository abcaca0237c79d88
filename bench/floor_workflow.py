"""The floor's workflow: one no-op activity on another task queue, nothing else (workflow
code only, so the sandbox imports nothing but this)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

ACTIVITY_QUEUE = "floor-activities"


@activity.defn
async def nothing() -> None:
    return None


@workflow.defn(name="Floor")
class FloorWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            nothing, task_queue=ACTIVITY_QUEUE, start_to_close_timeout=timedelta(seconds=10)
        )
