"""What stands between a flood and the password hash: throttled sign-ins (per client
address, and per account after repeated wrong passwords) and sign-ups (per address), and
a bound on how many scrypt hashes run at once.

Each is a route dependency, so the routes themselves stay about signing in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import Request

from services.auth.schemas import normalized_email
from services.common.http.dependencies import SettingsDep
from services.common.http.errors import BadRequest, ServiceBusy
from services.common.http.forwarded import client_address
from services.common.http.throttle import ThrottleDep
from services.common.settings import Settings

ACCOUNT_LOCKED = "Too many failed sign-ins for this account: try again later"
TOO_MANY_SIGNUPS = "Too many sign-ups from your address: try again later"
TOO_MANY_SIGNINS = "Too many sign-ins from your address: try again later"


async def _email_of(request: Request) -> str | None:
    """The account a sign-in names, normalised exactly as the route looks it up, so that
    no other spelling of the address gets a lock of its own; None for a body the route
    will refuse anyway. Starlette keeps the body read, so the route reads it again free."""
    try:
        email = json.loads(await request.body()).get("email")
    except (ValueError, AttributeError):
        return None
    return normalized_email(email) if isinstance(email, str) else None


async def guard_signin(
    request: Request, throttle: ThrottleDep, settings: SettingsDep
) -> AsyncIterator[None]:
    await throttle.hit(
        settings.signin_attempts_per_address,
        "signin-address",
        client_address(request),
        message=TOO_MANY_SIGNINS,
    )
    account = await _email_of(request)
    if account is None:
        yield
        return
    limit = settings.signin_failures_per_account
    await throttle.refuse_if_spent(limit, "signin-account", account, message=ACCOUNT_LOCKED)
    try:
        yield
    except BadRequest:
        # A wrong password (or an unknown account: the answer tells them apart nowhere).
        await throttle.count(limit, "signin-account", account)
        raise


async def guard_signup(request: Request, throttle: ThrottleDep, settings: SettingsDep) -> None:
    await throttle.hit(
        settings.signups_per_address,
        "signup-address",
        client_address(request),
        message=TOO_MANY_SIGNUPS,
    )


class Hashing:
    """At most ``concurrent_hashes`` scrypt runs at once, and at most ``hash_queue``
    requests waiting for one: past that, 503 at once instead of an ever longer queue."""

    def __init__(self, settings: Settings) -> None:
        self._slots = asyncio.Semaphore(settings.concurrent_hashes)
        self._queue = settings.hash_queue
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self._queue:
            raise ServiceBusy(1, "Too many sign-ins at once: try again in a moment")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


async def hashing_slot(request: Request, settings: SettingsDep) -> AsyncIterator[None]:
    """The route's turn to hash; one ``Hashing`` per app, made on first use."""
    hashing: Hashing | None = getattr(request.app.state, "hashing", None)
    if hashing is None:
        hashing = request.app.state.hashing = Hashing(settings)
    async with hashing.slot():
        yield
