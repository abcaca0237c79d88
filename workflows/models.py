"""The messages of the purchase saga: the workflow's input, its update and query
payloads, and one input model per activity (fields can be added compatibly).

Workflow code, activities, the orders service (which starts the saga) and the payments
service (which pays through it) all speak these types; nothing here does I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from workflows.contracts import CancelReason


class PurchaseInput(BaseModel):
    order_id: UUID
    ticket_id: UUID
    buyer_id: UUID
    # The price as the orders service knew it (its replica, which may lag an edit).
    price_cents: int
    payment_window_seconds: int
    # The price the buyer saw, if they said: a ticket locked at another price is let go.
    expected_price_cents: int | None = None
    # How long past the window a card authentication (3-D Secure) begun inside it may
    # still finish.
    authentication_grace_seconds: int = 0


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    # The card needs the buyer's authentication (3-D Secure) before Stripe charges it.
    REQUIRES_ACTION = "requires_action"
    # Only where a decline is an answer rather than a failure (settling an authentication).
    DECLINED = "declined"


# --- messages to and from the running saga ------------------------------------------


class PaymentRequest(BaseModel):
    """Sent by the payments service (Update ``pay``) when a buyer pays."""

    order_id: UUID
    buyer_id: UUID
    # A Stripe PaymentMethod (or card token) id.
    token: str


class PaymentAnswer(BaseModel):
    """What the ``pay`` Update answers: the charge has succeeded (``status`` succeeded),
    or it waits for the buyer to authenticate the card with ``client_secret`` (in the
    browser, through Stripe.js), and nothing is paid yet."""

    payment_id: UUID
    # The PaymentIntent.
    stripe_id: str
    status: ChargeOutcome = ChargeOutcome.SUCCEEDED
    client_secret: str | None = None


class PaymentEvent(BaseModel):
    """Sent by the payments service (Signal ``payment_event``) when Stripe says that a
    PaymentIntent of this order has moved (its webhook): the saga settles the
    authentication from what Stripe itself answers then, so that a replayed or forged
    event can change nothing."""

    payment_intent_id: str
    # What the webhook said: payment_intent.succeeded or payment_intent.payment_failed.
    event_type: str


class Phase(StrEnum):
    """Where the saga stands."""

    # Locking the ticket.
    RESERVING = "reserving"
    # The window is open: the buyer may pay, try another card, or cancel.
    AWAITING_PAYMENT = "awaiting_payment"
    # The window has ended, or a cancel came: a charge or card authentication begun
    # inside it still decides the outcome.
    CLOSING = "closing"
    # Paid: the ticket is being sold and the order completed; it only goes forward.
    COMPLETING = "completing"
    # Undoing what was done: refund, release the ticket, cancel the order.
    COMPENSATING = "compensating"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class PaymentStep(StrEnum):
    """The one payment interaction (with Stripe) under way at a time."""

    CHARGE = "charge"
    # Settling a card authentication (3-D Secure) from what Stripe says of it.
    SETTLE = "settle"


class Canceller(StrEnum):
    BUYER = "buyer"
    # The workflow itself was cancelled (Web UI, CLI).
    OPERATOR = "operator"


class PurchaseState(BaseModel):
    """The saga's state, the one it acts on; what the ``state`` query answers."""

    phase: Phase = Phase.RESERVING
    # The order's status as the saga last set it (also its OrderStatus search attribute).
    status: str = "created"
    deadline: datetime | None = None
    # What the order costs: the replica's price until the lock fixes it.
    price_cents: int | None = None
    payment_attempts: int = 0
    paying: PaymentStep | None = None
    # The attempt whose card authentication (3-D Secure) is under way, and whether
    # Stripe has said something of it since the saga last looked.
    authentication_attempt: int | None = None
    stripe_moved: bool = False
    # The successful charge's, once paid.
    receipt: PaymentAnswer | None = None
    ticket_reserved: bool = False
    refunded: bool = False
    cancel_requested: Canceller | None = None
    cancel_reason: CancelReason | None = None
    # The refusal that stopped the purchase, in the refusing service's words (a ticket
    # taken or its event started; a completion refused after payment).
    refusal: str | None = None

    @property
    def charged(self) -> bool:
        return self.receipt is not None

    @property
    def authenticating(self) -> bool:
        return self.authentication_attempt is not None


# --- activity inputs ----------------------------------------------------------------


class ChargeInput(BaseModel):
    order_id: UUID
    buyer_id: UUID
    amount_cents: int
    token: str
    # Which try this is: a declined card may be retried with a new token until the window
    # ends, each try with its own Stripe idempotency key.
    attempt: int
    # Whether the saga waits for a card authentication: a saga begun before it did
    # hears of one as a decline.
    accepts_authentication: bool = False


class ChargeResult(BaseModel):
    payment_id: UUID
    stripe_id: str
    outcome: ChargeOutcome = ChargeOutcome.SUCCEEDED
    client_secret: str | None = None
    # Why, when declined.
    message: str | None = None


class AuthenticationInput(BaseModel):
    """Settle the card authentication of an order's attempt from what Stripe says of its
    PaymentIntent; with ``give_up``, one still unfinished is cancelled (declined)."""

    order_id: UUID
    attempt: int
    give_up: bool = False


class RefundInput(BaseModel):
    order_id: UUID


class RefundOutcome(BaseModel):
    # Whether money was returned (nothing is, when nothing was taken).
    refunded: bool
