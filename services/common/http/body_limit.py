"""Refuses request bodies over a size limit with 413, before a route parses them.

A plain ASGI middleware. A declared ``Content-Length`` over the limit is refused before
any of it reaches a route (what the client still sends is read and dropped, up to a
bound, so that it reads the answer rather than a reset connection); a body sent without
one (chunked) is read as it arrives and refused the moment it passes the limit, so no
route ever holds more than the limit in memory.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.http.errors import PayloadTooLarge, error_body

# A declared body up to this many times the limit is read and dropped before the 413.
DRAIN_FACTOR = 64


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            # The server holds the client to its Content-Length: checking it is enough.
            if not declared.isdigit():
                await _refuse(send, close=True)
                return
            if int(declared) > self.max_bytes:
                # Read (and drop) what the client is still sending, up to a bound, so it
                # reads our answer instead of a reset connection; past the bound, close.
                drain = int(declared) <= self.max_bytes * DRAIN_FACTOR
                if drain:
                    await _discard_body(receive)
                await _refuse(send, close=not drain)
                return
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): read up to the limit, then hand the app the body.
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await _refuse(send, close=True)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _discard_body(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _refuse(send: Send, *, close: bool) -> None:
    body = json.dumps(error_body(PayloadTooLarge.default_message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
