"""The tickets service, declared once for its app and its worker."""

from __future__ import annotations

from pathlib import Path

from services.common.identity.bans import ban_consumer
from services.common.service import ServiceDefinition
from services.tickets.api import router
from services.tickets.models import Base, tables

definition = ServiceDefinition(
    name="tickets",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=[ban_consumer("tickets", tables)],
)
