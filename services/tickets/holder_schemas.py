"""Request and response bodies of a ticket's holder, entry code, gate and resale."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from services.common.clock import as_utc
from services.common.http.schemas import ApiModel
from services.common.money import PriceInput, PriceOutput, from_cents
from services.tickets.gate import CodeStatus, Verdict
from services.tickets.models import Ticket
from services.tickets.resale import Holding, face_value_cents
from services.tickets.schemas import TicketOut


class EntryCodeOut(ApiModel):
    code: str = Field(description="The signed entry code, for a QR code or to type in.")
    generation: int = Field(description="Bumped each time the ticket changes holder.")


class HeldTicketOut(TicketOut):
    generation: int
    face_value: PriceOutput
    used_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> HeldTicketOut:
        return cls.model_construct(
            **TicketOut.of(ticket).model_dump(),
            generation=ticket.generation,
            face_value=from_cents(face_value_cents(ticket)),
            used_at=as_utc(ticket.used_at) if ticket.used_at is not None else None,
        )


class CodeIn(ApiModel):
    code: str = Field(min_length=1, max_length=200, description="An entry code as scanned.")


class CheckOut(ApiModel):
    status: CodeStatus = Field(description="valid, void (re-issued since), used or unknown.")
    message: str
    ticket_id: UUID | None = None
    title: str | None = None
    generation: int | None = None
    event_name: str | None = None
    venue: str | None = None
    starts_at: datetime | None = None
    section: str | None = None
    row: str | None = None
    seat: str | None = None
    used_at: datetime | None = None
    replaced_at: datetime | None = Field(
        default=None, description="A void code: when the ticket changed holder."
    )

    @classmethod
    def of(cls, verdict: Verdict) -> CheckOut:
        known = verdict.status is not CodeStatus.UNKNOWN and verdict.ticket is not None
        ticket = verdict.ticket if known else None
        event = ticket.event if ticket is not None else None
        return cls(
            event_name=event.name if event is not None else None,
            venue=event.venue if event is not None else None,
            starts_at=as_utc(event.starts_at) if event is not None else None,
            section=ticket.section if ticket is not None else None,
            row=ticket.row if ticket is not None else None,
            seat=ticket.seat if ticket is not None else None,
            status=verdict.status,
            message=verdict.message,
            ticket_id=verdict.ticket.id if known and verdict.ticket else None,
            title=verdict.ticket.title if known and verdict.ticket else None,
            generation=verdict.code.generation if known and verdict.code else None,
            used_at=verdict.used_at,
            replaced_at=verdict.replaced_at,
        )


class ResaleIn(ApiModel):
    price: PriceInput = Field(description="The asking price in major units.")


class HoldingOut(ApiModel):
    ticket_id: UUID
    holder_id: UUID
    since: datetime
    price: PriceOutput | None = Field(description="What they paid; none for the first lister.")
    order_id: UUID | None

    @classmethod
    def of(cls, holding: Holding) -> HoldingOut:
        return cls(
            ticket_id=holding.ticket_id,
            holder_id=holding.holder_id,
            since=holding.since,
            price=from_cents(holding.price_cents) if holding.price_cents is not None else None,
            order_id=holding.order_id,
        )
