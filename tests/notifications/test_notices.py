"""The notifications service: each notice written once per event and e-mailed once, also
when the events are delivered again across a restart of its consumer; a mail server that
fails is tried again later without holding the consumer up; the user's notices over
/api/notifications."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from uuid import UUID, uuid4

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from nats.js import JetStreamContext
from sqlalchemy import func, select, update

from services.common.clock import utc_now
from services.common.messaging.events import (
    Event,
    EventOfTicket,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    TicketCreated,
    TicketStatus,
    TicketUpdated,
    UserCreated,
)
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.notifications.mail import SMTP_TIMEOUT_SECONDS
from services.notifications.models import Notice, NoticeKind, Recipient
from services.notifications.sender import mail_sender
from services.notifications.service import definition as notifications
from tests.events.test_consumers import wait_settled
from tests.support.apps import app_client, bearer
from tests.support.jetstream import publish_event
from tests.support.polling import eventually
from tests.support.ports import free_port

# Generous: the machine running the tests may be busy; each wait ends as soon as it can.
WAIT = 60.0

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


class Inbox:
    """A real SMTP server (aiosmtpd) keeping what it is sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[tuple[str, str]]:
        return sorted((str(m["To"]), str(m["Subject"])) for m in self.messages)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(free_port())
    box.controller.start()
    yield box
    box.controller.stop()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    async with app_client(notifications, settings) as (client, app):
        runtime: ServiceRuntime = app.state.runtime
        # The bus connects in the background; the stream exists once it has.
        await asyncio.wait_for(runtime.bus.jetstream(), 10)
        yield runtime, client


def purchase_events(buyer: UUID, seller: UUID) -> tuple[list[Event], UUID]:
    ticket, order = uuid4(), uuid4()
    return [
        UserCreated(version=1, user_id=buyer, email="buyer@test.dev"),
        UserCreated(version=1, user_id=seller, email="seller@test.dev"),
        TicketCreated(
            version=1,
            ticket_id=ticket,
            title="Gala",
            price_cents=4000,
            user_id=seller,
            event=EventOfTicket(
                id=uuid4(),
                name="Nils Frahm",
                venue="Funkhaus",
                city="Berlin",
                starts_at="2027-01-05T19:00:00Z",
            ),
        ),
        OrderCreated(
            version=1,
            order_id=order,
            user_id=buyer,
            ticket_id=ticket,
            price_cents=4000,
            status="awaiting:payment",
            expires_at="2026-12-06T12:15:00Z",
        ),
        TicketUpdated(
            version=3,
            ticket_id=ticket,
            title="Gala",
            price_cents=4000,
            user_id=seller,
            status=TicketStatus.SOLD,
            order_id=order,
        ),
        OrderCompleted(version=2, order_id=order, ticket_id=ticket),
    ], order


async def notice_count(runtime: ServiceRuntime) -> int:
    async with runtime.database.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Notice)) or 0)


async def test_each_notice_once_across_redeliveries_and_restarts(
    settings: Settings, inbox: Inbox, js: JetStreamContext
) -> None:
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    buyer, seller = uuid4(), uuid4()
    events, order = purchase_events(buyer, seller)
    expected = [
        ("buyer@test.dev", "Your receipt: Gala"),
        ("seller@test.dev", "Your ticket sold: Gala"),
    ]
    async with running(settings) as (runtime, client):
        for event in events:
            await publish_event(js, settings.events_stream, event)
        await eventually(
            lambda: _subjects(inbox), lambda got: got == expected, within=WAIT, what="2 e-mails"
        )
        receipt = next(m for m in inbox.messages if m["To"] == "buyer@test.dev")
        parts = {part.get_content_type(): part.get_payload(decode=True) for part in receipt.walk()}
        assert str(order).encode() in parts["text/plain"]
        assert b"Event: Nils Frahm, Funkhaus, Berlin, 2027-01-05 19:00 UTC" in parts["text/plain"]
        assert b"/entry-code" in parts["text/html"]

        listed = await client.get("/api/notifications", headers=bearer(settings, buyer))
        assert [(n["kind"], n["orderId"], n["read"]) for n in listed.json()] == [
            ("receipt", str(order), False)
        ]
        unread = await client.get("/api/notifications/unread", headers=bearer(settings, buyer))
        assert unread.json() == {"unread": 1}
        read = await client.post("/api/notifications/read", headers=bearer(settings, buyer))
        assert read.status_code == 204
        unread = await client.get("/api/notifications/unread", headers=bearer(settings, buyer))
        assert unread.json() == {"unread": 0}

    # Stopped; every event delivered again (as after a lost ack), and the sold ticket
    # changed once more (checked in at a gate: a new event, still sold), then started.
    sold = events[4]
    assert isinstance(sold, TicketUpdated)
    events.append(sold.model_copy(update={"version": 4, "event_id": uuid4()}))
    for event in events:
        await publish_event(js, settings.events_stream, event, msg_id=str(uuid4()))
    async with running(settings) as (runtime, _):
        await wait_settled(js, settings.events_stream, "notifications")
        # One more event after the copies: once its e-mail is out, the copies' would be.
        again, _ = purchase_events(buyer, seller)
        created = again[3]
        assert isinstance(created, OrderCreated)
        # Another order, of another ticket, that expires.
        expired = [
            *again[2:4],
            OrderExpired(version=2, order_id=created.order_id, ticket_id=created.ticket_id),
        ]
        for event in expired:
            await publish_event(js, settings.events_stream, event)
        await eventually(
            lambda: _subjects(inbox),
            lambda got: ("buyer@test.dev", "Your hold expired: Gala") in got,
            within=WAIT,
            what="the hold-expired e-mail",
        )
        assert await notice_count(runtime) == 3
    assert _sorted(inbox) == sorted([*expected, ("buyer@test.dev", "Your hold expired: Gala")])


async def test_a_failing_mail_server_is_tried_again_and_holds_no_event_up(
    settings: Settings, js: JetStreamContext
) -> None:
    port = free_port()
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    buyer, seller = uuid4(), uuid4()
    events, _ = purchase_events(buyer, seller)
    async with running(settings) as (runtime, _):
        for event in events:
            await publish_event(js, settings.events_stream, event)
        # Nothing listens: the consumer still takes every event and writes the notices.
        await wait_settled(js, settings.events_stream, "notifications")
        assert await notice_count(runtime) == 2

        async def tried() -> bool:
            async with runtime.database.read_sessions() as session:
                rows = (await session.scalars(select(Notice))).all()
            return all(n.attempts >= 1 and n.last_error and n.sent_at is None for n in rows)

        await eventually(tried, within=WAIT, what="a failed first try of each e-mail")
        inbox = Inbox(port)
        inbox.controller.start()
        try:
            await eventually(
                lambda: _subjects(inbox), lambda got: len(got) == 2, within=WAIT, what="the retries"
            )
        finally:
            inbox.controller.stop()


async def test_a_sender_cancelled_mid_send_stops(settings: Settings) -> None:
    """The service stops its sender by cancelling it, whatever it is doing. Each SMTP step
    waits in ``asyncio.wait_for``, which on Python 3.11 drops a cancellation that arrives
    as the step completes; the sender then went on for ever, and the service's stop waited
    for it (as the retry test above may stop it: while its last e-mail is going out). The
    cancellation lands at each loop turn of a send's first steps in turn, against a mail
    server in this event loop, so that the turns come the same way every time."""
    inbox = Inbox(free_port())
    contacted = asyncio.Event()

    def session() -> SMTPServer:
        contacted.set()
        return SMTPServer(inbox, hostname="inbox.test")

    server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", inbox.port)
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    buyer = uuid4()
    # Without the consumers, and so without the service's own sender: this test runs one.
    async with ServiceRuntime.running(notifications, settings, consume=False) as runtime:
        async with runtime.unit_of_work() as uow:
            uow.session.add(Recipient(user_id=buyer, email="buyer@test.dev", version=1))
            uow.session.add(Notice(event_id=uuid4(), user_id=buyer, kind=NoticeKind.RECEIPT))
            await uow.commit()
        senders: list[asyncio.Task[None]] = []
        try:
            for turns in range(8):
                async with runtime.unit_of_work() as uow:
                    # Due again, whether the last turn sent it or left it claimed.
                    await uow.session.execute(
                        update(Notice).values(sent_at=None, next_attempt_at=utc_now())
                    )
                    await uow.commit()
                contacted.clear()
                sender = asyncio.create_task(mail_sender(runtime))
                senders.append(sender)
                await asyncio.wait_for(contacted.wait(), WAIT)
                for _ in range(turns):
                    await asyncio.sleep(0)
                sender.cancel()
                # A cancelled sender may finish its round first: its SMTP steps are bounded.
                await asyncio.wait({sender}, timeout=SMTP_TIMEOUT_SECONDS + 10)
                assert sender.done(), f"the sender went on, cancelled {turns} turns into a send"
        finally:
            for sender in senders:
                sender.cancel()
            server.close()
            await server.wait_closed()


async def _subjects(inbox: Inbox) -> list[tuple[str, str]]:
    return inbox.subjects()


def _sorted(inbox: Inbox) -> list[tuple[str, str]]:
    return inbox.subjects()
