"""Admin routes of /api/users: banning a user.

An admin holds the role in the auth database (granted by `ticketing admin grant <email>`);
the token must carry it and the row must still hold it, so a revoked admin's tokens stop
working for this at once. Every ban is logged with who did it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth import operations
from services.auth.errors import UserNotFound
from services.auth.models import User
from services.auth.schemas import BannedUserOut
from services.common.http.current_user import CurrentUser, CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, SettingsDep, UnitOfWorkDep
from services.common.http.errors import Forbidden
from services.common.http.ids import id_or_not_found
from services.common.identity.tokens import Role

router = APIRouter(prefix="/api/users", tags=["users"])
log = logging.getLogger(__name__)

ONLY_ADMINS = "Only administrators can ban users"


async def require_admin(user: CurrentUserDep, read_sessions: ReadSessionsDep) -> CurrentUser:
    # The claim first: a plain user's request costs no read.
    if user.claims.role is not Role.ADMIN:
        raise Forbidden(ONLY_ADMINS)
    async with read_sessions() as session:
        row = await session.get(User, user.id)
    if row is None or row.banned or row.role != Role.ADMIN:
        log.warning("refused admin token of %s (%s): not an admin now", user.id, user.email)
        raise Forbidden(ONLY_ADMINS)
    return user


AdminDep = Annotated[CurrentUser, Depends(require_admin)]


@router.post("/{user_id}/ban", response_model=BannedUserOut)
async def ban(
    user_id: str, admin: AdminDep, settings: SettingsDep, uow: UnitOfWorkDep
) -> BannedUserOut:
    """Ban a user: auth refuses their sign-in and every service refuses their tokens."""
    user = await operations.ban(
        uow, id_or_not_found(user_id, UserNotFound), timedelta(seconds=settings.jwt_expires_seconds)
    )
    await uow.commit()
    log.info("user %s (%s) banned by admin %s (%s)", user.id, user.email, admin.id, admin.email)
    return BannedUserOut.of(user)
