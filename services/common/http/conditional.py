"""Conditional GETs and the long poll built on them.

A representation's ETag is a digest of its bytes. A client that sends the ETag it holds
in ``If-None-Match`` gets 304 Not Modified while the representation is unchanged (RFC
9110). With ``Prefer: wait=N`` (RFC 7240) the server first waits up to N seconds for a
change and answers the moment there is one, so a client following a purchase asks once
instead of polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import Response

from services.common.http.waiting import WaitingRequests
from services.common.messaging.change_hints import FALLBACK_LOOK_SECONDS, ChangeHints
from services.common.polling import poll_until

# A client waits at most this long per request; it asks again after a 304.
LONGEST_WAIT_SECONDS = 20
# Without hints of changes, the first looks come soon (a change is often moments away),
# then every 100 ms.
FIRST_LOOK_AGAIN_SECONDS = 0.01
LATEST_LOOK_AGAIN_SECONDS = 0.1

_WAIT = re.compile(r"^\s*wait\s*=\s*(\d{1,9})\s*$", re.IGNORECASE)


def etag_of(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


def requested_wait(prefer: str | None) -> int:
    """Seconds asked for by ``Prefer: wait=N``, at most LONGEST_WAIT_SECONDS; 0 when
    not asked or malformed (RFC 7240: a preference not understood is ignored)."""
    for preference in (prefer or "").split(","):
        found = _WAIT.match(preference.split(";")[0])
        if found:
            return min(int(found.group(1)), LONGEST_WAIT_SECONDS)
    return 0


async def conditional_json(
    represent: Callable[[], Awaitable[bytes]],
    *,
    if_none_match: str | None,
    prefer: str | None,
    hints: ChangeHints,
    key: str,
    waiting: WaitingRequests,
    waiter: str,
) -> Response:
    """200 with the JSON ``represent()`` makes and its ETag, or 304 when the client holds
    it already, after waiting for a change if asked to: woken by ``hints`` about ``key``
    where they are heard, looking again and again where not. A wait takes one of
    ``waiting``'s places for ``waiter`` (503 when none is free); ``If-None-Match: *``
    matches any representation, so it never waits."""
    holds_a_tag = if_none_match is not None and if_none_match.strip() != "*"
    wait = requested_wait(prefer) if holds_a_tag else 0

    def changed(seen: bytes) -> bool:
        return not matches(if_none_match, etag_of(seen))

    pause: Callable[[float], Awaitable[None]] = asyncio.sleep
    first, longest = FIRST_LOOK_AGAIN_SECONDS, LATEST_LOOK_AGAIN_SECONDS
    with contextlib.ExitStack() as stack:
        if wait:
            stack.enter_context(waiting.slot(waiter))
        if wait and hints.listening:
            # Woken by a hint; a look every second in case one was lost.
            pause = stack.enter_context(hints.watch(key)).pause
            first = longest = FALLBACK_LOOK_SECONDS
        body = await poll_until(
            represent, changed, within=wait, first_pause=first, longest_pause=longest, pause=pause
        )
    headers = {"ETag": etag_of(body)}
    if wait:
        headers["Preference-Applied"] = f"wait={wait}"
    if matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
