"""The notifications service: each notice written once per event and e-mailed once, also
when the events are delivered again across a restart of its consumer and when replicas
send at once; a mail server that fails is tried again later without holding the consumer
up; a round of the sender claims, sends (over one connection) and records its notices
together; the user's notices over /api/notifications."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from nats.js import JetStreamContext
from sqlalchemy import Connection, event, func, select, update

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
from services.notifications import sender as sender_module
from services.notifications.mail import SMTP_TIMEOUT_SECONDS, SmtpServer
from services.notifications.models import Notice, NoticeKind, Recipient
from services.notifications.sender import claim, due_notices, mail_sender, send_due
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
        # The connection each message came over, and how many connections said QUIT.
        self.sessions: list[Session] = []
        self.quits = 0
        # Addresses it answers "no such user"; seconds it takes over each message.
        self.refused: set[str] = set()
        self.delay = 0.0
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.content))
        self.sessions.append(session)
        return "250 OK"

    async def handle_QUIT(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 Bye"

    def connections(self) -> int:
        # The list keeps each session alive, so no two share an id.
        return len({id(session) for session in self.sessions})

    def recipients(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.messages)

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
    cancellation lands at each loop turn of a round in turn, from the mail server's first
    contact to its QUIT (two e-mails over one connection, so also between them), against a
    mail server in this event loop, so that the turns come the same way every time."""
    inbox = Inbox(free_port())
    contacted = asyncio.Event()

    def session() -> SMTPServer:
        contacted.set()
        return SMTPServer(inbox, hostname="inbox.test")

    server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", inbox.port)
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    # Without the consumers, and so without the service's own sender: this test runs one.
    async with ServiceRuntime.running(notifications, settings, consume=False) as runtime:
        await add_notices(runtime, 2)
        senders: list[asyncio.Task[None]] = []
        try:
            for turns in range(1000):
                async with runtime.unit_of_work() as uow:
                    # Due again, whether the last turn sent them or left them claimed.
                    await uow.session.execute(
                        update(Notice).values(sent_at=None, next_attempt_at=utc_now())
                    )
                    await uow.commit()
                contacted.clear()
                before_round, quits = len(inbox.messages), inbox.quits
                sender = asyncio.create_task(mail_sender(runtime))
                senders.append(sender)
                await asyncio.wait_for(contacted.wait(), WAIT)
                for _ in range(turns):
                    await asyncio.sleep(0)
                # Once the cancellation comes after the round's QUIT, every step had its turn.
                whole_round = len(inbox.messages) == before_round + 2 and inbox.quits > quits
                before_cancel = len(inbox.messages)
                sender.cancel()
                # A cancelled sender may finish the e-mail it is sending (its SMTP steps are
                # bounded), but starts no other.
                await asyncio.wait({sender}, timeout=SMTP_TIMEOUT_SECONDS + 10)
                assert sender.done(), f"the sender went on, cancelled {turns} turns into a round"
                assert len(inbox.messages) <= before_cancel + 1, f"cancelled at turn {turns}"
                if whole_round:
                    break
            assert whole_round, "no round finished before its cancellation"
        finally:
            for sender in senders:
                sender.cancel()
            server.close()
            await server.wait_closed()


async def add_notices(runtime: ServiceRuntime, count: int) -> list[Notice]:
    """``count`` receipts due now, each to a user of its own: user0@test.dev, user1@..."""
    notices = [
        Notice(event_id=uuid4(), user_id=uuid4(), kind=NoticeKind.RECEIPT, title=f"Gala {i}")
        for i in range(count)
    ]
    async with runtime.unit_of_work() as uow:
        for i, notice in enumerate(notices):
            uow.session.add(Recipient(user_id=notice.user_id, email=f"user{i}@test.dev", version=1))
            uow.session.add(notice)
        await uow.commit()
    return notices


async def notices_by_address(runtime: ServiceRuntime) -> dict[str, Notice]:
    async with runtime.database.read_sessions() as session:
        rows = await session.execute(
            select(Recipient.email, Notice).join(Recipient, Recipient.user_id == Notice.user_id)
        )
        return {email: notice for email, notice in rows}


@contextlib.contextmanager
def notice_writes(runtime: ServiceRuntime) -> Iterator[list[int]]:
    """The write transactions committed that changed notices, each as how many UPDATE
    statements it ran on them."""
    engine = runtime.database.write_engine.sync_engine
    writes: list[int] = []

    def counted(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE NOTICES"):
            conn.info["notice_updates"] = conn.info.get("notice_updates", 0) + 1

    def committed(conn: Connection) -> None:
        if updates := conn.info.pop("notice_updates", 0):
            writes.append(updates)

    def rolled_back(conn: Connection) -> None:
        conn.info.pop("notice_updates", None)

    hooks: dict[str, Callable[..., None]] = {
        "before_cursor_execute": counted,
        "commit": committed,
        "rollback": rolled_back,
    }
    for name, hook in hooks.items():
        event.listen(engine, name, hook)
    try:
        yield writes
    finally:
        for name, hook in hooks.items():
            event.remove(engine, name, hook)


async def test_a_round_claims_sends_and_records_its_notices_together(
    settings: Settings, inbox: Inbox
) -> None:
    """A round's notices are claimed in one write transaction, sent over one connection
    and recorded in one more write transaction, whatever their number."""
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    async with ServiceRuntime.running(notifications, settings, consume=False) as runtime:
        notices = await add_notices(runtime, 5)
        with notice_writes(runtime) as writes:
            assert await send_due(runtime, SmtpServer.of(settings)) == 5
        assert len(writes) == 2, f"write transactions on notices: {writes}"
        assert inbox.recipients() == [f"user{i}@test.dev" for i in range(5)]
        assert inbox.connections() == 1
        assert sorted(str(m["Message-ID"]) for m in inbox.messages) == sorted(
            f"<{n.id}@ticketing>" for n in notices
        )
        recorded = await notices_by_address(runtime)
        assert all(n.sent_at and n.attempts == 1 and not n.last_error for n in recorded.values())
        # Nothing is due any more: the next round writes nothing and connects to no one.
        with notice_writes(runtime) as writes:
            assert await send_due(runtime, SmtpServer.of(settings)) == 0
        assert writes == []
        assert inbox.connections() == 1


async def test_a_refused_e_mail_fails_alone_and_is_tried_again(
    settings: Settings, inbox: Inbox
) -> None:
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    inbox.refused.add("user1@test.dev")
    async with ServiceRuntime.running(notifications, settings, consume=False) as runtime:
        await add_notices(runtime, 3)
        assert await send_due(runtime, SmtpServer.of(settings)) == 3
        # The ones after the refused one went out over the same connection.
        assert inbox.recipients() == ["user0@test.dev", "user2@test.dev"]
        assert inbox.connections() == 1
        refused = (await notices_by_address(runtime))["user1@test.dev"]
        assert refused.sent_at is None and refused.attempts == 1
        assert refused.last_error and "No such user" in refused.last_error
        # Its next try comes after the first backoff, 2 s.
        assert await due_notices(runtime, utc_now() + timedelta(seconds=1.5)) == []
        assert [n.id for n, _ in await due_notices(runtime, utc_now() + timedelta(seconds=3))] == [
            refused.id
        ]

        inbox.refused.clear()
        sender = asyncio.create_task(mail_sender(runtime))
        try:
            await eventually(
                lambda: _subjects(inbox), lambda got: len(got) == 3, within=WAIT, what="the retry"
            )
        finally:
            sender.cancel()
            await asyncio.wait({sender}, timeout=SMTP_TIMEOUT_SECONDS + 10)
        assert inbox.recipients() == [f"user{i}@test.dev" for i in range(3)]


async def test_replicas_sending_at_once_send_each_notice_once(
    settings: Settings, inbox: Inbox
) -> None:
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    smtp = SmtpServer.of(settings)
    async with (
        ServiceRuntime.running(notifications, settings, consume=False) as one,
        ServiceRuntime.running(notifications, settings, consume=False) as other,
    ):
        notices = await add_notices(one, 6)
        # Both read the same notices due before either claims them: each claims a share,
        # together all, none twice (at once: on PostgreSQL the second waits for the first's
        # row locks, then finds the rows moved on).
        now = utc_now()
        due = [await due_notices(replica, now) for replica in (one, other)]
        assert [len(d) for d in due] == [6, 6]
        taken = await asyncio.gather(claim(one, due[0], now), claim(other, due[1], now))
        ids = [notice.id for share in taken for notice, _ in share]
        assert sorted(ids) == sorted(n.id for n in notices)

        # And whole rounds at once: each e-mail goes out once.
        async with one.unit_of_work() as uow:
            await uow.session.execute(update(Notice).values(next_attempt_at=utc_now()))
            await uow.commit()
        await asyncio.gather(send_due(one, smtp), send_due(other, smtp))
        assert sorted(str(m["Message-ID"]) for m in inbox.messages) == sorted(
            f"<{n.id}@ticketing>" for n in notices
        )
        recorded = await notices_by_address(one)
        assert all(n.sent_at and n.attempts == 1 for n in recorded.values())


async def test_a_round_starts_no_e_mail_late_in_its_claim(
    settings: Settings, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow mail server: the round stops before its claim nears its end, so another
    replica can never take a notice it may still be sending; the rest are due again at
    once, with no try counted."""
    monkeypatch.setattr(sender_module, "TRY", timedelta(seconds=5))
    # Claimed 5.5 s: e-mails start in the first half second of the round alone.
    monkeypatch.setattr(sender_module, "CLAIM", timedelta(seconds=5.5))
    inbox.delay = 1.0
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}"})
    async with ServiceRuntime.running(notifications, settings, consume=False) as runtime:
        await add_notices(runtime, 3)
        await send_due(runtime, SmtpServer.of(settings))
        recorded = await notices_by_address(runtime)
        sent = [n for n in recorded.values() if n.sent_at]
        # One e-mail at most started in time (none if connecting took the half second).
        assert len(sent) == len(inbox.messages) <= 1
        untried = [n for n in recorded.values() if not n.sent_at]
        assert all(n.attempts == 0 and n.last_error is None for n in untried)
        due = await due_notices(runtime, utc_now())
        assert sorted(n.id for n, _ in due) == sorted(n.id for n in untried)


async def _subjects(inbox: Inbox) -> list[tuple[str, str]]:
    return inbox.subjects()


def _sorted(inbox: Inbox) -> list[tuple[str, str]]:
    return inbox.subjects()
