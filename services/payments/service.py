"""The payments service, declared once for its app and its worker."""

from __future__ import annotations

from pathlib import Path

from services.common.service import ServiceDefinition
from services.payments.api import router
from services.payments.event_handlers import consumers
from services.payments.models import Base, tables

definition = ServiceDefinition(
    name="payments",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=consumers,
)
