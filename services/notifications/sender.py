"""The mail sender: delivers the notices' e-mails beside the consumers, never in them.

Each round takes the notices due (unsent, their next try come, their recipient's address
known) and claims them in one write transaction, each by moving its next try on (a
conditional UPDATE: of several replicas one sends it). It sends the ones it claimed over
one SMTP connection and records the outcomes in one more write transaction: sent, or a
failure tried again after an exponential backoff (2 s, 4 s, ... capped at 15 minutes),
never given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from aiosmtplib import SMTP
from sqlalchemy import and_, or_, select, update

from services.common.clock import utc_now
from services.common.messaging.bus import stop_if_cancelled
from services.common.settings import Settings
from services.notifications.mail import SMTP_TIMEOUT_SECONDS, SmtpServer, connection, message_for
from services.notifications.models import Notice, Recipient

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
BATCH = 20
# What one e-mail's try is given: as long as a whole SMTP conversation was when each
# e-mail had its own.
TRY = timedelta(seconds=SMTP_TIMEOUT_SECONDS * 2)
# A round's notices are claimed this long, and the round starts no e-mail in the claim's
# last TRY: no other replica takes a notice while this one may still be sending it.
CLAIM = TRY * 2
BACKOFF_CAP = timedelta(minutes=15)

Due = Sequence[tuple[Notice, str]]


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), BACKOFF_CAP)


async def due_notices(runtime: Any, now: datetime) -> Due:
    """The notices due at ``now``, oldest first, each with its recipient's address."""
    async with runtime.database.read_sessions() as session:
        rows = await session.execute(
            select(Notice, Recipient.email)
            .join(Recipient, Recipient.user_id == Notice.user_id)
            .where(Notice.sent_at.is_(None), Notice.next_attempt_at <= now)
            .order_by(Notice.next_attempt_at)
            .limit(BATCH)
        )
        return [(notice, email) for notice, email in rows]


async def claim(runtime: Any, due: Due, now: datetime) -> Due:
    """Of the notices read as due, the ones this round takes: each only if its next try is
    still the one read, since a replica that took it in the meantime moved it on."""
    if not due:
        return []
    async with runtime.unit_of_work() as uow:
        taken = set(
            await uow.session.scalars(
                update(Notice)
                .where(
                    or_(
                        *(
                            and_(Notice.id == n.id, Notice.next_attempt_at == n.next_attempt_at)
                            for n, _ in due
                        )
                    )
                )
                .values(next_attempt_at=now + CLAIM)
                .returning(Notice.id)
                .execution_options(synchronize_session=False)
            )
        )
        await uow.commit()
    return [(notice, email) for notice, email in due if notice.id in taken]


def _sent(notice: Notice) -> dict[str, Any]:
    return {"sent_at": utc_now(), "attempts": notice.attempts + 1, "last_error": None}


def _failed(notice: Notice, failure: Exception) -> dict[str, Any]:
    attempts = notice.attempts + 1
    log.warning("e-mail of notice %s failed (try %d): %s", notice.id, attempts, failure)
    return {
        "attempts": attempts,
        "next_attempt_at": utc_now() + backoff(attempts),
        "last_error": str(failure)[:500],
    }


async def _send(
    server: SmtpServer,
    claimed: Due,
    settings: Settings,
    until: datetime,
    outcomes: dict[UUID, dict[str, Any]],
) -> None:
    """Sends the claimed notices' e-mails over one connection, putting each one's outcome in
    ``outcomes``; the ones it did not get to (out of time, or stopped) have none."""
    try:
        async with connection(server) as smtp:
            try:
                await _send_each(smtp, claimed, settings, until, outcomes)
            except asyncio.CancelledError:
                # Cancelled mid-command, the conversation is out of step (the server may
                # be reading the message's text): a QUIT on leaving would wait out the
                # timeout for its answer. Dropped, the connection leaves at once.
                smtp.close()
                raise
    except Exception as failure:
        # The connection failed: so did every e-mail it had not sent.
        for notice, _ in claimed:
            if notice.id not in outcomes:
                outcomes[notice.id] = _failed(notice, failure)


async def _send_each(
    smtp: SMTP,
    claimed: Due,
    settings: Settings,
    until: datetime,
    outcomes: dict[UUID, dict[str, Any]],
) -> None:
    for notice, email in claimed:
        # Between e-mails too: a cancellation the last one's SMTP steps swallowed (see
        # mail_sender) stops the round here.
        stop_if_cancelled()
        if utc_now() >= until:
            return
        try:
            await smtp.send_message(message_for(notice, email, settings))
        except Exception as failure:
            outcomes[notice.id] = _failed(notice, failure)
            # A refused e-mail leaves the connection to the others; a lost one does not.
            if not smtp.is_connected:
                raise
        else:
            outcomes[notice.id] = _sent(notice)


async def _record(runtime: Any, claimed: Due, outcomes: dict[UUID, dict[str, Any]]) -> None:
    if not claimed:
        return
    # A notice the round did not get to was not tried: due again at once, no try counted.
    untried = {"next_attempt_at": utc_now()}
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Notice),
            [{"id": notice.id, **outcomes.get(notice.id, untried)} for notice, _ in claimed],
        )
        await uow.commit()


async def send_due(runtime: Any, server: SmtpServer) -> int:
    """One round; how many notices it found due."""
    now = utc_now()
    due = await due_notices(runtime, now)
    claimed = await claim(runtime, due, now)
    outcomes: dict[UUID, dict[str, Any]] = {}
    try:
        if claimed:
            await _send(server, claimed, runtime.settings, now + CLAIM - TRY, outcomes)
    finally:
        # Also when the round is cancelled: an e-mail sent and not recorded as sent would
        # go out again once its claim ran out.
        await _record(runtime, claimed, outcomes)
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
