"""Every change to a user, each with the event it raises in the caller's unit of work
(which the caller commits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.auth.errors import EmailInUse, UserNotFound
from services.auth.events import user_banned, user_created, user_sessions_revoked, user_updated
from services.auth.models import User, UserSession, tables
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.bans import record_ban
from services.common.identity.revocations import record_revocation
from services.common.identity.tokens import Role

# Added to the token lifetime: covers clock skew between services and a session refresh
# that read the user (or the session) just before the ban (or the sign-out) committed.
BAN_MARGIN = timedelta(minutes=5)


async def sign_up(uow: UnitOfWork, email: str, password_hash: str) -> User:
    """A new account; EmailInUse if the email is taken (the unique constraint decides a
    race)."""
    user = User(email=email, password_hash=password_hash)
    uow.session.add(user)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise EmailInUse() from None
    uow.publish(user_created(user))
    return user


async def start_session(uow: UnitOfWork, user_id: UUID, max_age: timedelta) -> UserSession:
    """A new session of the user, ending ``max_age`` from now however active it stays."""
    now = datetime.now(UTC)
    session = UserSession(user_id=user_id, started_at=now, expires_at=now + max_age)
    uow.session.add(session)
    await uow.session.flush()
    return session


async def _revoke(
    uow: UnitOfWork, user_id: UUID, sessions: list[UserSession], token_lifetime: timedelta
) -> list[UUID]:
    """Marks the sessions revoked, lists them here and tells every service."""
    live = [session for session in sessions if session.revoked_at is None]
    if not live:
        return []
    user = await uow.session.get(User, user_id)
    assert user is not None, "a session belongs to a user"
    now = datetime.now(UTC)
    for session in live:
        session.revoked_at = now
    await uow.session.flush()
    # No token of these sessions issued before now outlives this instant, and none is
    # issued after (a refresh reads the session first).
    revoked_until = now + token_lifetime + BAN_MARGIN
    session_ids = [session.id for session in live]
    await record_revocation(tables, uow, session_ids, revoked_until)
    uow.publish(user_sessions_revoked(user, session_ids, revoked_until))
    return session_ids


async def end_session(uow: UnitOfWork, session_id: UUID, token_lifetime: timedelta) -> None:
    """Sign-out: this session's tokens are refused everywhere from now on (idempotent)."""
    session = await uow.session.get(UserSession, session_id, with_for_update=True)
    if session is not None:
        await _revoke(uow, session.user_id, [session], token_lifetime)


async def end_sessions(
    uow: UnitOfWork, user_id: UUID, token_lifetime: timedelta, *, keep: UUID | None = None
) -> list[UUID]:
    """Sign-out everywhere: every live session of the user but ``keep`` (the caller's own,
    when a password change keeps it); the ids of those revoked."""
    now = datetime.now(UTC)
    sessions = await uow.session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.id != keep if keep is not None else UserSession.id.is_not(None),
        )
        .with_for_update()
    )
    return await _revoke(uow, user_id, list(sessions), token_lifetime)


async def change_password(
    uow: UnitOfWork,
    user_id: UUID,
    new_hash: str,
    token_lifetime: timedelta,
    *,
    keep_session: UUID,
) -> User:
    """A new password (``user.updated``); every other session of the user is revoked, so
    whoever knew the old password is signed out everywhere but here."""
    user = await uow.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound()
    user.password_hash = new_hash
    await uow.session.flush()
    uow.publish(user_updated(user))
    await end_sessions(uow, user.id, token_lifetime, keep=keep_session)
    return user


async def upgrade_password_hash(
    uow: UnitOfWork, user_id: UUID, verified_hash: str, upgraded_hash: str
) -> None:
    """The same password under stronger parameters, unless the hash changed meanwhile (a
    password change wins). Auth's own secret, replicated nowhere: no event, no version."""
    await uow.session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash == verified_hash)
        .values(password_hash=upgraded_hash)
        .execution_options(synchronize_session=False)
    )


async def set_role(uow: UnitOfWork, email: str, role: Role) -> User:
    """Grant or revoke the admin role (``ticketing admin``); ``user.updated`` when it
    changes. Tokens minted before keep their claim until they expire, so whatever an
    admin may do is checked against this row too."""
    user = await uow.session.scalar(
        select(User).where(User.email == email.strip().lower()).with_for_update()
    )
    if user is None:
        raise UserNotFound(f"No user has the address {email}")
    if user.role != role:
        user.role = role
        await uow.session.flush()
        uow.publish(user_updated(user))
    return user


async def ban(uow: UnitOfWork, user_id: UUID, token_lifetime: timedelta) -> User:
    """Auth refuses the user's sign-in, and every service their tokens, from now on."""
    # Locked (PostgreSQL; SQLite writes are serialized anyway) so two admins banning at
    # once do not collide on the version.
    user = await uow.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound()
    if user.banned:
        return user
    # No token issued before now outlives this instant, and none is issued after.
    banned_until = datetime.now(UTC) + token_lifetime + BAN_MARGIN
    user.banned = True
    await uow.session.flush()
    await record_ban(tables, uow, user.id, banned_until)
    uow.publish(user_banned(user, banned_until))
    return user
