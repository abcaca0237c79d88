"""Routes of /api/notifications: the signed-in user's notices, newest first; how many
are unread; marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select, update

from services.common.clock import utc_now
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, UnitOfWorkDep
from services.notifications.models import Notice
from services.notifications.schemas import NoticeOut, UnreadOut

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=list[NoticeOut])
async def mine(
    user: CurrentUserDep,
    read_sessions: ReadSessionsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NoticeOut]:
    async with read_sessions() as session:
        notices = await session.scalars(
            select(Notice)
            .where(Notice.user_id == user.id)
            .order_by(Notice.created_at.desc(), Notice.id)
            .limit(limit)
        )
        return [NoticeOut.of(notice) for notice in notices]


@router.get("/unread", response_model=UnreadOut)
async def unread(user: CurrentUserDep, read_sessions: ReadSessionsDep) -> UnreadOut:
    async with read_sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(Notice.user_id == user.id, Notice.read_at.is_(None))
        )
    return UnreadOut(unread=int(count or 0))


@router.post("/read", status_code=204)
async def mark_read(user: CurrentUserDep, uow: UnitOfWorkDep) -> None:
    """Every notice of the caller's read (the shop calls it when they are shown)."""
    await uow.session.execute(
        update(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .values(read_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    await uow.commit()
