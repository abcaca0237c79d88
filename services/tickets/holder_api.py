"""Routes of a ticket's holder and of the gate, under /api/tickets: the holder's entry
code and the tickets they hold, their resale; the gate's check and check-in (the ``gate``
role); the chain of holders (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from services.common.http.current_user import CurrentUser, CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, SettingsDep, UnitOfWorkDep
from services.common.http.errors import Forbidden
from services.common.http.ids import id_or_not_found
from services.common.identity.tokens import Role
from services.common.messaging.events import TicketStatus
from services.common.money import to_cents
from services.tickets import gate, resale
from services.tickets.entry_codes import EntryCode, EntryCodeSigner, entry_code_signer
from services.tickets.errors import GateOnly, NotTicketHolder, TicketNotFound
from services.tickets.holder_schemas import (
    CheckOut,
    CodeIn,
    EntryCodeOut,
    HeldTicketOut,
    HoldingOut,
    ResaleIn,
)
from services.tickets.models import Ticket
from services.tickets.schemas import TicketOut

router = APIRouter(prefix="/api/tickets", tags=["entry codes"])


async def get_signer(request: Request, settings: SettingsDep) -> EntryCodeSigner:
    signer: EntryCodeSigner | None = getattr(request.app.state, "entry_code_signer", None)
    if signer is None:
        signer = request.app.state.entry_code_signer = entry_code_signer(settings)
    return signer


SignerDep = Annotated[EntryCodeSigner, Depends(get_signer)]


async def require_gate(user: CurrentUserDep) -> CurrentUser:
    # The role as the token carries it (this service keeps no roles): a revoked gate
    # account's tokens stop opening these routes when they expire.
    if user.claims.role is not Role.GATE:
        raise GateOnly()
    return user


async def require_admin(user: CurrentUserDep) -> CurrentUser:
    if user.claims.role is not Role.ADMIN:
        raise Forbidden("Only administrators can see who held a ticket")
    return user


GateDep = Annotated[CurrentUser, Depends(require_gate)]
AdminDep = Annotated[CurrentUser, Depends(require_admin)]


@router.get("/held", response_model=list[HeldTicketOut])
async def list_held(user: CurrentUserDep, read_sessions: ReadSessionsDep) -> list[HeldTicketOut]:
    """The tickets the caller holds (bought, not relisted), newest first."""
    async with read_sessions() as session:
        tickets = await session.scalars(
            select(Ticket)
            .where(Ticket.holder_id == user.id, Ticket.status == TicketStatus.SOLD)
            .order_by(Ticket.created_at.desc(), Ticket.id)
        )
        return [HeldTicketOut.of(ticket) for ticket in tickets]


@router.get("/{ticket_id}/entry-code", response_model=EntryCodeOut)
async def entry_code(
    ticket_id: str, user: CurrentUserDep, read_sessions: ReadSessionsDep, signer: SignerDep
) -> EntryCodeOut:
    """The holder's entry code (the seller's until the ticket sells; then the buyer's)."""
    async with read_sessions() as session:
        ticket = await session.get(Ticket, id_or_not_found(ticket_id, TicketNotFound))
    if ticket is None:
        raise TicketNotFound()
    if ticket.holder_id != user.id:
        raise NotTicketHolder()
    code = EntryCode(ticket.id, user.id, ticket.generation)
    return EntryCodeOut(code=signer.sign(code), generation=ticket.generation)


@router.post("/check", response_model=CheckOut)
async def check(
    body: CodeIn, _: GateDep, read_sessions: ReadSessionsDep, signer: SignerDep
) -> CheckOut:
    """What a scanned code is worth now; changes nothing."""
    async with read_sessions() as session:
        return CheckOut.of(await gate.check(session, signer, body.code))


@router.post("/check-in", response_model=CheckOut)
async def check_in(body: CodeIn, _: GateDep, uow: UnitOfWorkDep, signer: SignerDep) -> CheckOut:
    """Let the holder in, once: 409 (saying when) for every later scan of the code."""
    verdict = await gate.check_in(uow, signer, body.code)
    await uow.commit()
    return CheckOut.of(verdict)


@router.post("/{ticket_id}/resale", status_code=201, response_model=TicketOut)
async def resell(
    ticket_id: str, body: ResaleIn, user: CurrentUserDep, uow: UnitOfWorkDep, settings: SettingsDep
) -> TicketOut:
    """The holder lists the ticket again; the answer is the new listing."""
    listing = await resale.resell(
        uow,
        id_or_not_found(ticket_id, TicketNotFound),
        user.id,
        to_cents(body.price),
        settings.resale_price_cap_percent,
    )
    await uow.commit()
    return TicketOut.of(listing)


@router.get("/{ticket_id}/holders", response_model=list[HoldingOut])
async def holders(ticket_id: str, _: AdminDep, read_sessions: ReadSessionsDep) -> list[HoldingOut]:
    """Who held this seat, from when and at what price, oldest first (admins)."""
    async with read_sessions() as session:
        chain = await resale.chain(session, id_or_not_found(ticket_id, TicketNotFound))
    if chain is None:
        raise TicketNotFound()
    return [HoldingOut.of(holding) for holding in chain]
