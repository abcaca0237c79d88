"""Admin routes of /api/users: banning a user."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth import operations
from services.auth.schemas import BannedUserOut
from services.common.http.current_user import CurrentUser, CurrentUserDep
from services.common.http.dependencies import SettingsDep, UnitOfWorkDep
from services.common.http.errors import Forbidden
from services.common.http.ids import id_or_not_found
from services.common.settings import Settings

router = APIRouter(prefix="/api/users", tags=["users"])


def is_admin(user: CurrentUser, settings: Settings) -> bool:
    admins = {email.strip().lower() for email in settings.admin_emails}
    return user.email.lower() in admins


async def require_admin(user: CurrentUserDep, settings: SettingsDep) -> CurrentUser:
    if not is_admin(user, settings):
        raise Forbidden("Only administrators can ban users")
    return user


AdminDep = Annotated[CurrentUser, Depends(require_admin)]


@router.post("/{user_id}/ban", response_model=BannedUserOut)
async def ban(
    user_id: str, _admin: AdminDep, settings: SettingsDep, uow: UnitOfWorkDep
) -> BannedUserOut:
    """Ban a user: auth refuses their sign-in and every service refuses their tokens."""
    user = await operations.ban(
        uow, id_or_not_found(user_id, "User"), timedelta(seconds=settings.jwt_expires_seconds)
    )
    await uow.commit()
    return BannedUserOut.of(user)
