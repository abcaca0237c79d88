"""The payments service: its app, its consumers, and its worker (charge and refund)."""

from __future__ import annotations

from pathlib import Path

from services.common.runtime import ServiceRuntime
from services.common.service import Activities, ServiceDefinition, WorkerSide
from services.payments.api import router
from services.payments.event_handlers import consumers
from services.payments.models import Base, tables
from services.payments.webhook import router as webhook_router
from workflows.models import TaskQueue


def _activities(runtime: ServiceRuntime) -> Activities:
    # Imported here: the payments worker alone needs Stripe, not the payments API.
    from activities.payments import PaymentsActivities

    return PaymentsActivities(runtime)


definition = ServiceDefinition(
    name="payments",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, webhook_router],
    consumers=consumers,
    worker=WorkerSide(task_queue=TaskQueue.PAYMENTS, activities=_activities),
)
