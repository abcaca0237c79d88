"""The orders service: its app, its consumers, and its worker, which runs the purchase saga."""

from __future__ import annotations

from pathlib import Path

from activities.orders import OrdersActivities
from services.common.messaging.change_hints import HintSource
from services.common.messaging.events import Subject
from services.common.service import ServiceDefinition, WorkerSide
from services.orders.api import router
from services.orders.event_handlers import consumers
from services.orders.models import Base, tables
from workflows.models import TaskQueue
from workflows.purchase import PurchaseWorkflow

definition = ServiceDefinition(
    name="orders",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=consumers,
    # Every change to an order that a buyer can see comes with one of these.
    change_hints=HintSource(
        subjects=(
            Subject.ORDER_CREATED,
            Subject.ORDER_CANCELLED,
            Subject.ORDER_EXPIRED,
            Subject.ORDER_COMPLETED,
        ),
        key="order_id",
    ),
    worker=WorkerSide(
        task_queue=TaskQueue.ORDERS, activities=OrdersActivities, workflows=[PurchaseWorkflow]
    ),
)
