"""The payments service's tables: one payment per order with its charge attempts, and a
replica of orders (fed by the order events) that the payment route checks first."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables
from workflows.contracts import OrderStatus


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)


class PaymentStatus(StrEnum):
    # An attempt is with Stripe, or was when its outcome went unrecorded.
    PENDING = "pending"
    # Stripe waits for the buyer to authenticate the card (3-D Secure).
    AUTHENTICATING = "authenticating"
    DECLINED = "declined"
    SUCCEEDED = "succeeded"
    REFUNDED = "refunded"


class AttemptStatus(StrEnum):
    PENDING = "pending"
    # Its PaymentIntent (stripe_id) waits for the buyer's authentication.
    REQUIRES_ACTION = "requires_action"
    DECLINED = "declined"
    SUCCEEDED = "succeeded"


class Payment(Base):
    """The one payment of an order: the unique order id is what forbids a second charge."""

    __tablename__ = "payments"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    order_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    amount_cents: Mapped[int]
    status: Mapped[PaymentStatus] = mapped_column(String(16))
    # The attempt that last claimed the payment (see PaymentAttempt).
    current_attempt: Mapped[int | None] = mapped_column(default=None)
    # The succeeded PaymentIntent, and the refund that undid it.
    stripe_id: Mapped[str | None] = mapped_column(String(255), default=None)
    refund_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now
    )
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}


class PaymentAttempt(Base):
    """One try at charging an order, recorded before Stripe is called and settled after,
    so that a retry after a crash replays the same request (same idempotency key)."""

    __tablename__ = "payment_attempts"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    payment_id: Mapped[UUID] = mapped_column(ForeignKey("payments.id"))
    attempt: Mapped[int]
    token: Mapped[str] = mapped_column(String(255))
    status: Mapped[AttemptStatus] = mapped_column(String(16))
    stripe_id: Mapped[str | None] = mapped_column(String(255), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(1000), default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    __table_args__ = (UniqueConstraint("payment_id", "attempt"),)


class StripeEvent(Base):
    """A Stripe webhook event handled: Stripe delivers one again until it hears 2xx,
    and a second delivery must change nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Order(Base):
    """The replica of an order, as far as the order events have told us."""

    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[UUID] = mapped_column(Uuid)
    ticket_id: Mapped[UUID] = mapped_column(Uuid)
    price_cents: Mapped[int]
    status: Mapped[OrderStatus] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The orders service's version of the order: events apply strictly in this order.
    version: Mapped[int]
