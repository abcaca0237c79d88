"""The orders service, declared once for its app and its worker."""

from __future__ import annotations

from pathlib import Path

from services.common.service import ServiceDefinition
from services.orders.api import router
from services.orders.listeners import consumers
from services.orders.models import Base, tables

definition = ServiceDefinition(
    name="orders",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=consumers,
)
