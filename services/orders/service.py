"""The orders service: its app and its consumers (its worker, which runs the purchase
saga, is declared in worker/sides.py)."""

from __future__ import annotations

from pathlib import Path

from services.common.messaging.change_hints import HintSource
from services.common.messaging.events import Subject
from services.common.service import ServiceDefinition
from services.orders.api import router
from services.orders.event_handlers import consumers
from services.orders.models import Base, tables
from services.orders.unstarted_orders import sweep_unstarted_orders

definition = ServiceDefinition(
    name="orders",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=consumers,
    background=[sweep_unstarted_orders],
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
)
