"""The tickets service: its app and its consumers (its worker, the saga's lock on a
ticket, is declared in worker/sides.py)."""

from __future__ import annotations

from pathlib import Path

from services.common.service import ServiceDefinition
from services.tickets.api import router
from services.tickets.entry_codes import entry_code_keys
from services.tickets.event_api import router as events_router
from services.tickets.event_handlers import consumers
from services.tickets.holder_api import router as holder_router
from services.tickets.models import Base, tables

definition = ServiceDefinition(
    name="tickets",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    # The holder's routes first: /held is no ticket id.
    routers=[holder_router, router, events_router],
    consumers=consumers,
    keys_needed=[entry_code_keys],
)
