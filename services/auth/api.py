"""Routes of /api/users: sign up, sign in, sign out (here or everywhere), who is signed
in, and changing one's password."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth import operations
from services.auth.cookies import clear_session_cookie, set_session_cookie
from services.auth.errors import EmailInUse
from services.auth.models import User, UserSession
from services.auth.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from services.auth.schemas import (
    CurrentUserOut,
    PasswordChangeIn,
    SessionUserOut,
    SigninIn,
    SignupIn,
    UserOut,
)
from services.auth.signer import SignerDep
from services.auth.throttles import guard_signin, guard_signup, hashing_slot
from services.common.clock import as_utc
from services.common.http.current_user import CurrentUserDep, OptionalUserDep, VerifierDep
from services.common.http.dependencies import ReadSessionsDep, SettingsDep, UnitOfWorkDep
from services.common.http.errors import BadRequest, NotAuthorized
from services.common.http.throttle import per_user
from services.common.identity.tokens import Role, TokenClaims, TokenSigner, TokenVerifier
from services.common.settings import Settings

router = APIRouter(prefix="/api/users", tags=["users"])


async def find_user(read_sessions: async_sessionmaker[AsyncSession], email: str) -> User | None:
    async with read_sessions() as session:
        user: User | None = await session.scalar(select(User).where(User.email == email))
        return user


def session_max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_max_seconds)


def token_lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.jwt_expires_seconds)


def mint(
    signer: TokenSigner, verifier: TokenVerifier, user: User, session: UserSession
) -> tuple[str, TokenClaims]:
    """A token of the session, never outliving it; verified once here, so the verifier
    already knows it when the client sends it back."""
    token = signer.sign(
        user.id,
        user.email,
        session_id=session.id,
        session_ends_at=as_utc(session.expires_at),
        role=Role(user.role),
    )
    return token, verifier.verify(token)


def start_signed_in(
    response: Response,
    signer: TokenSigner,
    verifier: TokenVerifier,
    user: User,
    session: UserSession,
    settings: Settings,
) -> None:
    token, claims = mint(signer, verifier, user, session)
    set_session_cookie(response, token, claims, settings)


@router.post(
    "/signup",
    status_code=201,
    response_model=UserOut,
    dependencies=[Depends(guard_signup), Depends(hashing_slot)],
)
async def signup(
    body: SignupIn,
    response: Response,
    read_sessions: ReadSessionsDep,
    uow: UnitOfWorkDep,
    signer: SignerDep,
    verifier: VerifierDep,
    settings: SettingsDep,
) -> UserOut:
    # Checked first only to spare the hash; the unique constraint is what decides a race.
    if await find_user(read_sessions, body.email) is not None:
        raise EmailInUse()
    # Hashed before the transaction starts, so no write lock is held while scrypt runs.
    password_hash = await asyncio.to_thread(
        hash_password, body.password, settings.password_hash_cost
    )
    user = await operations.sign_up(uow, body.email, password_hash)
    session = await operations.start_session(uow, user.id, session_max_age(settings))
    await uow.commit()
    start_signed_in(response, signer, verifier, user, session, settings)
    return UserOut.of(user)


@router.post(
    "/signin", response_model=UserOut, dependencies=[Depends(guard_signin), Depends(hashing_slot)]
)
async def signin(
    body: SigninIn,
    response: Response,
    read_sessions: ReadSessionsDep,
    uow: UnitOfWorkDep,
    signer: SignerDep,
    verifier: VerifierDep,
    settings: SettingsDep,
) -> UserOut:
    user = await find_user(read_sessions, body.email)
    cost = settings.password_hash_cost
    # An unknown email costs one scrypt too, so the answer's timing tells nothing (the
    # dummy is made once, off the loop like every hash).
    stored_hash = (
        user.password_hash if user is not None else await asyncio.to_thread(dummy_hash, cost)
    )
    matches = await asyncio.to_thread(verify_password, body.password, stored_hash)
    if user is None or not matches:
        raise BadRequest("Invalid credentials")
    if user.banned:
        raise NotAuthorized("Account is banned")
    if needs_rehash(stored_hash, cost):
        # Made with older parameters: replaced now that the password is at hand.
        upgraded = await asyncio.to_thread(hash_password, body.password, cost)
        await operations.upgrade_password_hash(uow, user.id, stored_hash, upgraded)
    session = await operations.start_session(uow, user.id, session_max_age(settings))
    await uow.commit()
    start_signed_in(response, signer, verifier, user, session, settings)
    return UserOut.of(user)


@router.post("/signout")
async def signout(
    response: Response, user: OptionalUserDep, uow: UnitOfWorkDep, settings: SettingsDep
) -> dict[str, str]:
    """Ends the session the request carries: its tokens are refused by every service
    within the event lag, however long they had to run. Without one, only the cookie goes."""
    if user is not None:
        await operations.end_session(uow, user.claims.session_id, token_lifetime(settings))
        await uow.commit()
    clear_session_cookie(response, settings)
    return {}


@router.post("/signout/everywhere")
async def signout_everywhere(
    response: Response, user: CurrentUserDep, uow: UnitOfWorkDep, settings: SettingsDep
) -> dict[str, str]:
    """Ends every session of the user, on every device, this one included."""
    await operations.end_sessions(uow, user.id, token_lifetime(settings))
    await uow.commit()
    clear_session_cookie(response, settings)
    return {}


def past_half_life(claims: TokenClaims) -> bool:
    half_life = (claims.expires_at - claims.issued_at) / 2
    return datetime.now(UTC) >= claims.issued_at + half_life


async def refreshed_session(
    read_sessions: async_sessionmaker[AsyncSession],
    signer: TokenSigner,
    verifier: TokenVerifier,
    claims: TokenClaims,
) -> tuple[str, TokenClaims] | None:
    """A fresh token of the same session, minted from the user's row and the session's
    (None if the user is gone or banned, or the session revoked or at its end)."""
    async with read_sessions() as db:
        user = await db.get(User, claims.user_id)
        session = await db.get(UserSession, claims.session_id)
    if user is None or user.banned:
        return None
    if session is None or session.user_id != user.id or session.revoked_at is not None:
        return None
    if as_utc(session.expires_at) <= datetime.now(UTC):
        return None
    return mint(signer, verifier, user, session)


@router.get("/currentuser", response_model=CurrentUserOut)
async def current_user(
    user: OptionalUserDep,
    response: Response,
    read_sessions: ReadSessionsDep,
    signer: SignerDep,
    verifier: VerifierDep,
    settings: SettingsDep,
) -> CurrentUserOut:
    """Never 401: an absent, invalid, expired, revoked or banned session is ``null``.

    Sliding session: past half its lifetime the token is replaced, so that a user who
    keeps coming back stays signed in, up to the session's absolute end.
    """
    if user is None:
        return CurrentUserOut(current_user=None)
    claims = user.claims
    if past_half_life(claims):
        refreshed = await refreshed_session(read_sessions, signer, verifier, claims)
        if refreshed is None:
            return CurrentUserOut(current_user=None)
        token, claims = refreshed
        set_session_cookie(response, token, claims, settings)
    return CurrentUserOut(current_user=SessionUserOut.of(claims))


@router.put(
    "/currentuser/password",
    response_model=UserOut,
    dependencies=[
        # Each try checks the current password: bounded, or a stolen session guesses it.
        per_user(
            lambda settings: settings.password_changes_per_user,
            "password-change",
            "Too many password changes in a short time: try again later",
        ),
        Depends(hashing_slot),
    ],
)
async def change_password(
    body: PasswordChangeIn,
    user: CurrentUserDep,
    read_sessions: ReadSessionsDep,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> UserOut:
    """The current password proves it is the user; every other session of theirs is
    revoked (this one stays signed in) and ``user.updated`` is published."""
    async with read_sessions() as session:
        stored = await session.get(User, user.id)
    if stored is None:
        raise NotAuthorized()
    matches = await asyncio.to_thread(verify_password, body.current_password, stored.password_hash)
    if not matches:
        raise BadRequest("Current password is incorrect", field="currentPassword")
    new_hash = await asyncio.to_thread(
        hash_password, body.new_password, settings.password_hash_cost
    )
    changed = await operations.change_password(
        uow,
        user.id,
        new_hash,
        token_lifetime(settings),
        keep_session=user.claims.session_id,
    )
    await uow.commit()
    return UserOut.of(changed)
