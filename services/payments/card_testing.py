"""Card testing: trying card after card until one goes through. A declined card may be
tried again while the window lasts, but not without bound: at most so many attempts for
one order, and so many declined cards for one buyer in an hour; beyond that, 429.

Counted from the payments service's own record of attempts (written by its worker before
each Stripe call), so every replica of the API sees the same counts.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.clock import as_utc
from services.common.http.errors import TooManyRequests
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
        select(PaymentAttempt.settled_at)
        .join(Payment, PaymentAttempt.payment_id == Payment.id)
        .where(
            Payment.user_id == buyer_id,
            PaymentAttempt.status == AttemptStatus.DECLINED,
            PaymentAttempt.settled_at > since,
        )
        .order_by(PaymentAttempt.settled_at.desc())
        .limit(limit)
    )
    recent = list(await session.scalars(declined))
    if len(recent) >= limit:
        oldest = as_utc(recent[-1]) if recent[-1] is not None else now
        raise TooManyRequests(
            math.ceil((oldest + DECLINE_WINDOW - now).total_seconds()), TOO_MANY_DECLINES
        )
