"""Routes of /api/users: sign up, sign in, sign out, and who is signed in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.auth.cookies import clear_session_cookie, set_session_cookie
from services.auth.events import user_created
from services.auth.models import User
from services.auth.passwords import DUMMY_HASH, hash_password, verify_password
from services.auth.schemas import CurrentUserOut, SessionUserOut, SigninIn, SignupIn, UserOut
from services.auth.signer import SignerDep
from services.common.http.current_user import authenticate, token_from_request
from services.common.http.dependencies import RuntimeDep, UnitOfWorkDep
from services.common.http.errors import BadRequest, Conflict, NotAuthorized
from services.common.identity.tokens import TokenClaims, TokenSigner
from services.common.runtime import ServiceRuntime

router = APIRouter(prefix="/api/users", tags=["users"])


async def find_user(runtime: ServiceRuntime, email: str) -> User | None:
    async with runtime.database.read_sessions() as session:
        user: User | None = await session.scalar(select(User).where(User.email == email))
        return user


@router.post("/signup", status_code=201, response_model=UserOut)
async def signup(
    body: SignupIn,
    response: Response,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    signer: SignerDep,
) -> UserOut:
    # Checked first only to spare the hash; the unique constraint is what decides a race.
    if await find_user(runtime, body.email) is not None:
        raise Conflict("Email in use", field="email")
    # Hashed before the transaction starts, so no write lock is held while scrypt runs.
    password_hash = await asyncio.to_thread(hash_password, body.password)
    user = User(email=body.email, password_hash=password_hash)
    uow.session.add(user)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict("Email in use", field="email") from None
    uow.publish(user_created(user))
    await uow.commit()
    set_session_cookie(response, signer.sign(user.id, user.email), runtime.settings)
    return UserOut.of(user)


@router.post("/signin", response_model=UserOut)
async def signin(
    body: SigninIn, response: Response, runtime: RuntimeDep, signer: SignerDep
) -> UserOut:
    user = await find_user(runtime, body.email)
    # An unknown email costs one scrypt too, so the answer's timing tells nothing.
    stored_hash = user.password_hash if user is not None else DUMMY_HASH
    matches = await asyncio.to_thread(verify_password, body.password, stored_hash)
    if user is None or not matches:
        raise BadRequest("Invalid credentials")
    if user.banned:
        raise NotAuthorized("Account is banned")
    set_session_cookie(response, signer.sign(user.id, user.email), runtime.settings)
    return UserOut.of(user)


@router.post("/signout")
async def signout(response: Response, runtime: RuntimeDep) -> dict[str, str]:
    clear_session_cookie(response, runtime.settings)
    return {}


def past_half_life(claims: TokenClaims) -> bool:
    half_life = (claims.expires_at - claims.issued_at) / 2
    return datetime.now(UTC) >= claims.issued_at + half_life


async def refreshed_session(
    runtime: ServiceRuntime, signer: TokenSigner, claims: TokenClaims
) -> tuple[str, TokenClaims] | None:
    """A fresh token for the user, minted from their row (None if gone or banned)."""
    async with runtime.database.read_sessions() as session:
        user = await session.get(User, claims.user_id)
    if user is None or user.banned:
        return None
    token = signer.sign(user.id, user.email)
    return token, runtime.verifier.verify(token)


@router.get("/currentuser", response_model=CurrentUserOut)
async def current_user(
    request: Request, response: Response, runtime: RuntimeDep, signer: SignerDep
) -> CurrentUserOut:
    """Never 401: an absent, invalid, expired or banned session is ``null``.

    Sliding session: past half its lifetime the token is replaced, so that a user who
    keeps coming back stays signed in.
    """
    user = await authenticate(runtime, token_from_request(request))
    if user is None:
        return CurrentUserOut(current_user=None)
    claims = user.claims
    if past_half_life(claims):
        refreshed = await refreshed_session(runtime, signer, claims)
        if refreshed is None:
            return CurrentUserOut(current_user=None)
        token, claims = refreshed
        set_session_cookie(response, token, runtime.settings)
    return CurrentUserOut(current_user=SessionUserOut.of(claims))
