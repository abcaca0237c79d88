"""The tickets service: its app, its consumers, and its worker (the saga's lock on a ticket)."""

from __future__ import annotations

from pathlib import Path

from activities.tickets import TicketsActivities
from services.common.service import ServiceDefinition, WorkerSide
from services.tickets.api import router
from services.tickets.event_api import router as events_router
from services.tickets.event_handlers import consumers
from services.tickets.models import Base, tables
from workflows.models import TaskQueue

definition = ServiceDefinition(
    name="tickets",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, events_router],
    consumers=consumers,
    worker=WorkerSide(task_queue=TaskQueue.TICKETS, activities=TicketsActivities),
)
