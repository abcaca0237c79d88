"""The mail sender: delivers the notices' e-mails beside the consumers, never in them.

Each round takes the notices due (unsent, their next try come, their recipient's address
known), claims each by moving its next try on (a conditional UPDATE: of several replicas
one sends it), sends it, and records the outcome: sent, or a failure tried again after
an exponential backoff (2 s, 4 s, ... capped at 15 minutes), never given up.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from services.common.clock import utc_now
from services.common.messaging.bus import stop_if_cancelled
from services.notifications.mail import SMTP_TIMEOUT_SECONDS, SmtpServer, message_for, send
from services.notifications.models import Notice, Recipient

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
BATCH = 20
# A claimed notice is left alone this long: more than one try may take.
CLAIM = timedelta(seconds=SMTP_TIMEOUT_SECONDS * 2)
BACKOFF_CAP = timedelta(minutes=15)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), BACKOFF_CAP)


async def send_due(runtime: Any, server: SmtpServer) -> int:
    """One round; how many notices it tried."""
    now = utc_now()
    async with runtime.database.read_sessions() as session:
        due = (
            await session.execute(
                select(Notice, Recipient.email)
                .join(Recipient, Recipient.user_id == Notice.user_id)
                .where(Notice.sent_at.is_(None), Notice.next_attempt_at <= now)
                .order_by(Notice.next_attempt_at)
                .limit(BATCH)
            )
        ).all()
    for notice, email in due:
        async with runtime.unit_of_work() as uow:
            claimed = await uow.session.execute(
                update(Notice)
                .where(Notice.id == notice.id, Notice.next_attempt_at == notice.next_attempt_at)
                .values(next_attempt_at=now + CLAIM)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
        if not getattr(claimed, "rowcount", 0):
            continue
        outcome: dict[str, Any]
        try:
            await send(server, message_for(notice, email, runtime.settings))
            outcome = {"sent_at": utc_now(), "attempts": notice.attempts + 1, "last_error": None}
        except Exception as failure:
            attempts = notice.attempts + 1
            log.warning("e-mail of notice %s failed (try %d): %s", notice.id, attempts, failure)
            outcome = {
                "attempts": attempts,
                "next_attempt_at": utc_now() + backoff(attempts),
                "last_error": str(failure)[:500],
            }
        async with runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(Notice)
                .where(Notice.id == notice.id)
                .values(**outcome)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
    return len(due)


async def mail_sender(runtime: Any) -> None:
    server = SmtpServer.of(runtime.settings)
    while True:
        # Every SMTP step waits in aiosmtplib's asyncio.wait_for, which on Python 3.11
        # drops a cancellation that arrives as the step completes: the service's stop,
        # cancelling this task mid-send, would then wait for it for ever.
        stop_if_cancelled()
        try:
            tried = await send_due(runtime, server)
        except Exception:
            log.exception("sending notices failed; trying again")
            tried = 0
        if tried < BATCH:
            await asyncio.sleep(IDLE_SECONDS)
