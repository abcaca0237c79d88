"""The gate: what a scanned entry code is worth, and checking a ticket in, once.

A code is ``unknown`` unless we signed it and it names a generation the ticket has had;
``void`` when the ticket was re-issued since (sold on: the code of an earlier holder);
``used`` once its ticket was checked in; else ``valid``. Checking in is one conditional
UPDATE on the ticket's row (this generation, not used yet), so of two gates scanning the
same code at the same instant the database lets exactly one through.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.clock import as_utc, utc_now
from services.common.data.unit_of_work import UnitOfWork
from services.tickets.entry_codes import EntryCode, EntryCodeSigner, UnreadableCode
from services.tickets.errors import EntryCodeUsed, EntryCodeVoid, UnknownEntryCode
from services.tickets.events import ticket_updated
from services.tickets.models import Ticket, TicketHolder


class CodeStatus(StrEnum):
    VALID = "valid"
    VOID = "void"
    USED = "used"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    status: CodeStatus
    ticket: Ticket | None = None
    code: EntryCode | None = None
    used_at: datetime | None = None
    # A void code: when the holder after it took over (the sale that re-issued it).
    replaced_at: datetime | None = None

    @property
    def message(self) -> str:
        if self.status is CodeStatus.VALID:
            return "Valid" if self.used_at is None else "Valid: checked in"
        if self.status is CodeStatus.USED and self.used_at is not None:
            return f"This ticket was already checked in at {_shown(self.used_at)}"
        if self.status is CodeStatus.VOID:
            if self.replaced_at is not None:
                return f"This code was replaced on {_shown(self.replaced_at)}"
            return EntryCodeVoid.default_message
        return UnknownEntryCode.default_message


def _shown(moment: datetime) -> str:
    return f"{as_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


async def _replaced_at(session: AsyncSession, code: EntryCode) -> datetime | None:
    since = await session.scalar(
        select(TicketHolder.since).where(
            TicketHolder.ticket_id == code.ticket_id,
            TicketHolder.generation == code.generation + 1,
        )
    )
    return as_utc(since) if since is not None else None


async def check(session: AsyncSession, signer: EntryCodeSigner, text: str) -> Verdict:
    """What the code is worth now; changes nothing."""
    try:
        code = signer.verify(text)
    except UnreadableCode:
        return Verdict(CodeStatus.UNKNOWN)
    ticket = await session.get(Ticket, code.ticket_id, populate_existing=True)
    if ticket is None or code.generation > ticket.generation:
        return Verdict(CodeStatus.UNKNOWN, code=code)
    if code.generation < ticket.generation:
        return Verdict(
            CodeStatus.VOID,
            ticket=ticket,
            code=code,
            replaced_at=await _replaced_at(session, code),
        )
    if ticket.holder_id != code.holder_id:
        return Verdict(CodeStatus.UNKNOWN, code=code)
    if ticket.used_at is not None:
        return Verdict(CodeStatus.USED, ticket=ticket, code=code, used_at=as_utc(ticket.used_at))
    return Verdict(CodeStatus.VALID, ticket=ticket, code=code)


async def check_in(uow: UnitOfWork, signer: EntryCodeSigner, text: str) -> Verdict:
    """Mark the code's ticket used, once: EntryCodeUsed (saying when) for every scan
    after the first, EntryCodeVoid or UnknownEntryCode for a code that never lets in."""
    try:
        code = signer.verify(text)
    except UnreadableCode:
        raise UnknownEntryCode() from None
    result = await uow.session.execute(
        update(Ticket)
        .where(
            Ticket.id == code.ticket_id,
            Ticket.generation == code.generation,
            Ticket.holder_id == code.holder_id,
            Ticket.used_at.is_(None),
        )
        .values(used_at=utc_now(), version=Ticket.version + 1)
        .execution_options(synchronize_session=False)
    )
    verdict = await check(uow.session, signer, text)
    if getattr(result, "rowcount", 0):
        assert verdict.ticket is not None
        uow.publish(ticket_updated(verdict.ticket))
        # Valid as scanned, and now used: this scan let the holder in.
        return replace(verdict, status=CodeStatus.VALID)
    if verdict.status is CodeStatus.USED:
        raise EntryCodeUsed(verdict.message)
    if verdict.status is CodeStatus.VOID:
        raise EntryCodeVoid(verdict.message)
    raise UnknownEntryCode()
