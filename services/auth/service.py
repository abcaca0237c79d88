"""The auth service: its app (it has no worker; bans start here)."""

from __future__ import annotations

from pathlib import Path

from services.auth.admin_api import router as admin_router
from services.auth.api import router
from services.auth.models import Base, tables
from services.common.service import ServiceDefinition

definition = ServiceDefinition(
    name="auth",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, admin_router],
    # Auth is where bans come from: it records them itself, in the ban's own transaction.
    consumers=[],
    signs_tokens=True,
)
