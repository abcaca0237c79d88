"""Admin routes of /api/users: banning a user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from services.auth.events import user_banned
from services.auth.models import User, tables
from services.auth.schemas import BannedUserOut
from services.common.http.current_user import CurrentUser, CurrentUserDep
from services.common.http.dependencies import RuntimeDep, UnitOfWorkDep
from services.common.http.errors import Forbidden, NotFound
from services.common.http.ids import id_or_not_found
from services.common.identity.bans import record_ban
from services.common.settings import Settings

router = APIRouter(prefix="/api/users", tags=["users"])

# Added to the token lifetime: covers clock skew between services and a session refresh
# that read the user just before the ban committed.
BAN_MARGIN = timedelta(minutes=5)


def is_admin(user: CurrentUser, settings: Settings) -> bool:
    admins = {email.strip().lower() for email in settings.admin_emails}
    return user.email.lower() in admins


@router.post("/{user_id}/ban", response_model=BannedUserOut)
async def ban(
    user_id: str, caller: CurrentUserDep, runtime: RuntimeDep, uow: UnitOfWorkDep
) -> BannedUserOut:
    """Ban a user: auth refuses their sign-in and every service refuses their tokens."""
    if not is_admin(caller, runtime.settings):
        raise Forbidden("Only administrators can ban users")
    # Locked (PostgreSQL; SQLite writes are serialized anyway) so two admins banning at
    # once do not collide on the version.
    user = await uow.session.get(User, id_or_not_found(user_id, "User"), with_for_update=True)
    if user is None:
        raise NotFound("User not found")
    if user.banned:
        return BannedUserOut.of(user)
    # No token issued before now outlives this instant, and none is issued after.
    lifetime = timedelta(seconds=runtime.settings.jwt_expires_seconds)
    banned_until = datetime.now(UTC) + lifetime + BAN_MARGIN
    user.banned = True
    await uow.session.flush()
    await record_ban(tables, uow, user.id, banned_until)
    uow.publish(user_banned(user, banned_until))
    await uow.commit()
    return BannedUserOut.of(user)
