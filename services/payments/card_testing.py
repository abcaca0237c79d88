"""Card testing: trying card after card until one goes through. A declined card may be
tried again while the window lasts, but not without bound: at most so many attempts for
one order, and so many declined cards for one buyer in an hour; beyond that, 429.
Counted from the payments service's own record of attempts (written by its worker before
each Stripe call), so every replica of the API sees the same counts. A card whose bank
asked for 3-D Secure counts as a declined one the moment it is asked: that answer alone
tells a card tester the card is live.

Accounts cost nothing, so two breakers count what no account does (in the limits' shared
store): declines per client address (429), and declines across the whole site, which
pause card payments for everyone for a while (503), as a burst of them is an attack on
the merchant's standing with Stripe.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.clock import as_utc
from services.common.http.errors import ServiceBusy, TooManyRequests
from services.common.http.throttle import Throttle
from services.common.settings import Settings
from services.payments.models import AttemptStatus, Order, Payment, PaymentAttempt

DECLINE_WINDOW = timedelta(hours=1)
TOO_MANY_FOR_ORDER = "Too many payment attempts for this order"
TOO_MANY_DECLINES = "Too many declined cards: try again later"


async def refuse_card_testing(
    session: AsyncSession, order: Order, settings: Settings, now: datetime
) -> None:
    attempts = await session.scalar(
        select(func.count())
        .select_from(PaymentAttempt)
        .join(Payment, PaymentAttempt.payment_id == Payment.id)
        .where(Payment.order_id == order.id)
    )
    if (attempts or 0) >= settings.payment_attempts_per_order:
        # Never again for this order: come back (with another order) once its window ends.
        left = (as_utc(order.expires_at) - now).total_seconds()
        raise TooManyRequests(math.ceil(left), TOO_MANY_FOR_ORDER)
    await _refuse_declines(session, order.user_id, settings.declines_per_buyer_per_hour, now)


async def _refuse_declines(
    session: AsyncSession, buyer_id: UUID, limit: int, now: datetime
) -> None:
    since = now - DECLINE_WINDOW
    declined = (
        select(PaymentAttempt.started_at)
        .join(Payment, PaymentAttempt.payment_id == Payment.id)
        .where(
            Payment.user_id == buyer_id,
            PaymentAttempt.status.in_((AttemptStatus.DECLINED, AttemptStatus.REQUIRES_ACTION)),
            PaymentAttempt.started_at > since,
        )
        .order_by(PaymentAttempt.started_at.desc())
        .limit(limit)
    )
    recent = list(await session.scalars(declined))
    if len(recent) >= limit:
        oldest = as_utc(recent[-1])
        raise TooManyRequests(
            math.ceil((oldest + DECLINE_WINDOW - now).total_seconds()), TOO_MANY_DECLINES
        )


TOO_MANY_FROM_ADDRESS = "Too many declined cards from your address: try again later"
PAYMENTS_PAUSED = "Card payments are paused for a few minutes: please try again shortly"


async def refuse_decline_bursts(throttle: Throttle, settings: Settings, address: str) -> None:
    """429 while this address's declines are spent; 503 while the site's are."""
    await throttle.refuse_if_spent(
        settings.declines_per_address, "declines-address", address, message=TOO_MANY_FROM_ADDRESS
    )
    paused = await throttle.spent(settings.site_declines, "declines-site")
    if paused is not None:
        raise ServiceBusy(paused, PAYMENTS_PAUSED)


async def count_decline(throttle: Throttle, settings: Settings, address: str) -> None:
    """A card declined, or sent to its bank for 3-D Secure: counted for the breakers."""
    await throttle.count(settings.declines_per_address, "declines-address", address)
    await throttle.count(settings.site_declines, "declines-site")
