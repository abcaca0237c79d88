"""Every change to a user, each with the event it raises in the caller's unit of work
(which the caller commits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from services.auth.events import user_banned, user_created
from services.auth.models import User, tables
from services.common.data.unit_of_work import UnitOfWork
from services.common.http.errors import Conflict, NotFound
from services.common.identity.bans import record_ban

EMAIL_IN_USE = "Email in use"

# Added to the token lifetime: covers clock skew between services and a session refresh
# that read the user just before the ban committed.
BAN_MARGIN = timedelta(minutes=5)


async def sign_up(uow: UnitOfWork, email: str, password_hash: str) -> User:
    """A new account; Conflict if the email is taken (the unique constraint decides a race)."""
    user = User(email=email, password_hash=password_hash)
    uow.session.add(user)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict(EMAIL_IN_USE, field="email") from None
    uow.publish(user_created(user))
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


async def ban(uow: UnitOfWork, user_id: UUID, token_lifetime: timedelta) -> User:
    """Auth refuses the user's sign-in, and every service their tokens, from now on."""
    # Locked (PostgreSQL; SQLite writes are serialized anyway) so two admins banning at
    # once do not collide on the version.
    user = await uow.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("User not found")
    if user.banned:
        return user
    # No token issued before now outlives this instant, and none is issued after.
    banned_until = datetime.now(UTC) + token_lifetime + BAN_MARGIN
    user.banned = True
    await uow.session.flush()
    await record_ban(tables, uow, user.id, banned_until)
    uow.publish(user_banned(user, banned_until))
    return user
