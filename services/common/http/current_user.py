"""Who is calling: the current user from the session cookie or a Bearer token.

Every service verifies tokens itself with the public key, and refuses users on its own
ban list (fed by ``user.banned``) and sessions on its own list of revoked sessions (fed by
``user.sessions_revoked``), so a ban or a sign-out takes effect everywhere within the
event lag.

A cookie rides along on any request the browser makes, whichever site asked for it, so a
POST, PUT, PATCH or DELETE signed by the cookie must come from our own origin: the
request's own host, or one listed in ``ALLOWED_ORIGINS`` (judged by ``Sec-Fetch-Site`` and
``Origin``, which pages cannot forge). A request with neither header is no browser's (a
server-side client such as the web shop) and passes; a Bearer token is never sent by
itself, so Bearer requests are not concerned.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import CompoundSelect, Table, bindparam, literal, select, union_all

from services.common.http.dependencies import RuntimeDep
from services.common.http.errors import Forbidden, NotAuthorized
from services.common.http.same_origin import from_our_origin
from services.common.identity.tokens import (
    InvalidToken,
    TokenClaims,
    TokenVerifier,
    session_cookie_name,
)
from services.common.runtime import ServiceRuntime


@dataclass(frozen=True)
class CurrentUser:
    id: UUID
    email: str
    claims: TokenClaims


CROSS_ORIGIN = "Cross-origin request refused"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


@functools.cache
def _refusal_in_force(banned_users: Table, revoked_sessions: Table) -> CompoundSelect[tuple[int]]:
    # Built once per service, and one round trip: until the lists are in memory.
    return union_all(
        select(literal(1)).where(
            banned_users.c.user_id == bindparam("user_id"),
            banned_users.c.banned_until > bindparam("now"),
        ),
        select(literal(1)).where(
            revoked_sessions.c.session_id == bindparam("session_id"),
            revoked_sessions.c.revoked_until > bindparam("now"),
        ),
    )


async def is_refused(runtime: ServiceRuntime, claims: TokenClaims) -> bool:
    """Whether the user is banned or the token's session revoked: from memory once the
    lists are loaded (services.common.identity.refusals), from the database before."""
    refusals = runtime.refusals
    if refusals.loaded:
        return refusals.refuses(claims.user_id, claims.session_id, datetime.now(UTC))
    tables = runtime.definition.tables
    query = _refusal_in_force(tables.banned_users, tables.revoked_sessions)
    parameters = {
        "user_id": claims.user_id,
        "session_id": claims.session_id,
        "now": datetime.now(UTC),
    }
    async with runtime.database.read_engine.connect() as connection:
        found = (await connection.execute(query, parameters)).first()
    return found is not None


async def authenticate(runtime: ServiceRuntime, token: str | None) -> CurrentUser | None:
    if not token:
        return None
    try:
        claims = runtime.verifier.verify(token)
    except InvalidToken:
        return None
    if await is_refused(runtime, claims):
        return None
    return CurrentUser(id=claims.user_id, email=claims.email, claims=claims)


async def get_token_verifier(runtime: RuntimeDep) -> TokenVerifier:
    return runtime.verifier


VerifierDep = Annotated[TokenVerifier, Depends(get_token_verifier)]


async def get_optional_user(request: Request, runtime: RuntimeDep) -> CurrentUser | None:
    token = bearer_token(request)
    if token is None:
        token = request.cookies.get(session_cookie_name(runtime.settings.environment)) or None
        if (
            token is not None
            and request.method in UNSAFE_METHODS
            and not from_our_origin(request.headers, runtime.settings.allowed_origins)
        ):
            raise Forbidden(CROSS_ORIGIN)
    return await authenticate(runtime, token)


OptionalUserDep = Annotated[CurrentUser | None, Depends(get_optional_user)]


async def require_user(user: OptionalUserDep) -> CurrentUser:
    if user is None:
        raise NotAuthorized()
    return user


CurrentUserDep = Annotated[CurrentUser, Depends(require_user)]
