"""The tickets service's activities (task queue ``tickets``): the saga's lock on a ticket.

Each runs one unit of work (the change and its ``ticket.updated`` together) and is
idempotent, so Temporal may retry it freely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.data.unit_of_work import UnitOfWork
from services.common.runtime import ServiceRuntime
from services.tickets import operations
from services.tickets.event_errors import EventStarted
from services.tickets.operations import Outcome
from workflows.contracts import FailureType
from workflows.steps import Activity, LockedTicket, TicketHold, TicketSale

TicketChange = Callable[[UnitOfWork, UUID, UUID], Awaitable[Outcome]]


class TicketsActivities:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def functions(self) -> Sequence[Callable[..., Any]]:
        return [self.reserve_ticket, self.release_ticket, self.mark_ticket_sold]

    async def aclose(self) -> None:
        pass

    async def _change(self, change: TicketChange, hold: TicketHold) -> Outcome:
        async with self.runtime.unit_of_work() as uow:
            outcome = await change(uow, hold.ticket_id, hold.order_id)
            await uow.commit()
        return outcome

    @activity.defn(name=Activity.RESERVE_TICKET)
    async def reserve_ticket(self, hold: TicketHold) -> LockedTicket:
        """Lock the ticket for the order, and answer its price at that moment;
        TicketUnavailable (non-retryable) if it is taken, or its event has started."""
        async with self.runtime.unit_of_work() as uow:
            try:
                outcome = await operations.reserve(uow, hold.ticket_id, hold.order_id)
            except EventStarted as started:
                # Refused like a taken ticket: the saga cancels the order, nothing held.
                raise ApplicationError(
                    started.message, type=FailureType.TICKET_UNAVAILABLE, non_retryable=True
                ) from None
            if outcome is Outcome.REFUSED:
                raise ApplicationError(
                    "Ticket is already reserved",
                    type=FailureType.TICKET_UNAVAILABLE,
                    non_retryable=True,
                )
            price_cents = await operations.locked_price(uow, hold.ticket_id, hold.order_id)
            await uow.commit()
        return LockedTicket(price_cents=price_cents)

    @activity.defn(name=Activity.RELEASE_TICKET)
    async def release_ticket(self, hold: TicketHold) -> None:
        """Unlock the ticket if this order still holds it; otherwise change nothing."""
        await self._change(operations.release, hold)

    @activity.defn(name=Activity.MARK_TICKET_SOLD)
    async def mark_ticket_sold(self, sale: TicketSale) -> None:
        """Sell the ticket to the order holding it, its buyer now its holder (a new entry
        code); TicketNotHeld (non-retryable, the paid order is then refunded) if the order
        no longer holds it."""
        async with self.runtime.unit_of_work() as uow:
            outcome = await operations.mark_sold(
                uow, sale.ticket_id, sale.order_id, buyer_id=sale.buyer_id
            )
            await uow.commit()
        if outcome is Outcome.REFUSED:
            raise ApplicationError(
                f"ticket {sale.ticket_id} is not held by order {sale.order_id}",
                type=FailureType.TICKET_NOT_HELD,
                non_retryable=True,
            )
