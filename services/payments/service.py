"""The payments service: its app and its consumers (its worker, charge and refund, is
declared in worker/sides.py)."""

from __future__ import annotations

from pathlib import Path

from services.common.service import ServiceDefinition
from services.payments.api import router
from services.payments.event_handlers import consumers
from services.payments.models import Base, tables
from services.payments.webhook import router as webhook_router

definition = ServiceDefinition(
    name="payments",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, webhook_router],
    consumers=consumers,
)
