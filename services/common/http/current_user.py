"""Who is calling: the current user from the session cookie or a Bearer token.

Every service verifies tokens itself with the public key, and refuses users on its own
ban list (fed by ``user.banned``), so a ban takes effect everywhere within the event lag.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import Select, Table, bindparam, select

from services.common.http.dependencies import RuntimeDep
from services.common.http.errors import NotAuthorized
from services.common.identity.tokens import (
    SESSION_COOKIE,
    InvalidToken,
    TokenClaims,
    TokenVerifier,
)
from services.common.runtime import ServiceRuntime


@dataclass(frozen=True)
class CurrentUser:
    id: UUID
    email: str
    claims: TokenClaims


def token_from_request(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(SESSION_COOKIE) or None


@functools.cache
def _ban_in_force(banned_users: Table) -> Select[UUID]:
    # Built once per service: every signed-in request runs it.
    return select(banned_users.c.user_id).where(
        banned_users.c.user_id == bindparam("user_id"),
        banned_users.c.banned_until > bindparam("now"),
    )


async def is_banned(runtime: ServiceRuntime, user_id: UUID) -> bool:
    query = _ban_in_force(runtime.definition.tables.banned_users)
    async with runtime.database.read_engine.connect() as connection:
        found = await connection.scalar(query, {"user_id": user_id, "now": datetime.now(UTC)})
    return found is not None


async def authenticate(runtime: ServiceRuntime, token: str | None) -> CurrentUser | None:
    if not token:
        return None
    try:
        claims = runtime.verifier.verify(token)
    except InvalidToken:
        return None
    if await is_banned(runtime, claims.user_id):
        return None
    return CurrentUser(id=claims.user_id, email=claims.email, claims=claims)


async def get_token_verifier(runtime: RuntimeDep) -> TokenVerifier:
    return runtime.verifier


VerifierDep = Annotated[TokenVerifier, Depends(get_token_verifier)]


async def get_optional_user(request: Request, runtime: RuntimeDep) -> CurrentUser | None:
    return await authenticate(runtime, token_from_request(request))


OptionalUserDep = Annotated[CurrentUser | None, Depends(get_optional_user)]


async def require_user(user: OptionalUserDep) -> CurrentUser:
    if user is None:
        raise NotAuthorized()
    return user


CurrentUserDep = Annotated[CurrentUser, Depends(require_user)]
