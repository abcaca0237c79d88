"""The notifications service: receipts and notices, each once per event, and their
e-mails (its app, its consumer and its mail sender)."""

from __future__ import annotations

from pathlib import Path

from services.common.identity.bans import ban_consumer
from services.common.identity.revocations import revocation_consumer
from services.common.service import ServiceDefinition
from services.notifications.api import router
from services.notifications.event_handlers import notices_consumer
from services.notifications.mail import SmtpServer
from services.notifications.models import Base, tables
from services.notifications.sender import mail_sender

definition = ServiceDefinition(
    name="notifications",
    metadata=Base.metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumers=[
        ban_consumer("notifications", tables),
        revocation_consumer("notifications", tables),
        notices_consumer,
    ],
    keys_needed=[SmtpServer.of],
    background=[mail_sender],
)
