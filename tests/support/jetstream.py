"""A stream of its own for each test, and a raw JetStream client to look inside it.

The catalogue's subjects can belong to only one stream per server, so before a test
gives the code under test a fresh stream name, streams left on these subjects by earlier
tests are deleted; the test's own stream is deleted after it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import nats
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from services.common.messaging.events import STREAM_SUBJECTS, Event, Subject, decode, encode
from tests.support.polling import eventually

E = TypeVar("E", bound=Event)


@contextlib.asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    connection = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=-1)
    try:
        yield connection.jetstream(timeout=5)
    finally:
        await connection.close()


def new_stream_name() -> str:
    return f"TEST_{uuid.uuid4().hex[:12].upper()}"


async def delete_catalogue_streams(js: JetStreamContext) -> None:
    for info in await js.streams_info():
        name = info.config.name
        if name and set(info.config.subjects or ()) & set(STREAM_SUBJECTS):
            await js.delete_stream(name)


async def stream_messages(
    js: JetStreamContext, stream: str, subject: Subject | None = None
) -> list[RawStreamMsg]:
    """Every message the stream holds (of one subject, if given), in order; none while the
    code under test has not created it yet (its bus connects in the background, and a
    route may answer first).

    The one reader of a stream in the tests: each message is fetched by sequence, the
    next one on the subject, so nothing is consumed and no consumer is left behind."""
    try:
        state = (await js.stream_info(stream)).state
    except NotFoundError:
        return []
    messages: list[RawStreamMsg] = []
    seq = state.first_seq
    while state.messages and seq <= state.last_seq:
        try:
            message = await js.get_msg(
                stream, seq, subject=subject.value if subject else ">", next=True
            )
        except NotFoundError:
            break
        assert message.seq is not None
        messages.append(message)
        seq = message.seq + 1
    return messages


def decoded(message: RawStreamMsg) -> Event:
    assert message.subject is not None and message.data is not None
    return decode(message.subject, message.data)


async def stream_events(url: str, stream: str, subject: Subject | None = None) -> list[Event]:
    """Every event the stream holds (of one subject, if given), in order."""
    async with jetstream(url) as js:
        return [decoded(message) for message in await stream_messages(js, stream, subject)]


async def first_event(
    url: str,
    stream: str,
    event_type: type[E],
    matches: Callable[[E], bool],
    *,
    within: float = 10.0,
) -> E:
    """The first event of that type in the stream that ``matches``, once it is there."""

    async def found() -> E | None:
        for event in await stream_events(url, stream, event_type.subject):
            assert isinstance(event, event_type)
            if matches(event):
                return event
        return None

    return await eventually(found, within=within, what=f"a matching {event_type.subject}")


def msg_id(message: RawStreamMsg) -> str | None:
    """The id the stream deduplicates by (the event id, for our publishers)."""
    return (message.headers or {}).get("Nats-Msg-Id")


async def message_count(js: JetStreamContext, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


async def publish_raw(
    js: JetStreamContext, stream: str, subject: str, data: bytes, msg_id: str | None = None
) -> None:
    """Put bytes on the stream as another service (or a broken one) would."""
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    await js.publish(subject, data, stream=stream, headers=headers)


async def publish_event(
    js: JetStreamContext, stream: str, event: Event, *, msg_id: str | None = None
) -> None:
    await publish_raw(js, stream, event.subject.value, encode(event), msg_id or str(event.event_id))


@contextlib.asynccontextmanager
async def own_stream(url: str, stream: str) -> AsyncIterator[None]:
    """``stream`` alone on the server while the test runs: streams left on the catalogue's
    subjects by earlier tests are removed first, and this one after."""
    async with jetstream(url) as js:
        await delete_catalogue_streams(js)
    try:
        yield
    finally:
        async with jetstream(url) as js:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
