"""Response bodies of /api/notifications."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from services.common.clock import as_utc
from services.common.http.schemas import ApiModel
from services.notifications.models import Notice, NoticeKind


class NoticeOut(ApiModel):
    id: UUID
    kind: NoticeKind = Field(description="receipt, sold, hold_expired or order_cancelled.")
    order_id: UUID | None
    ticket_id: UUID | None
    title: str
    event: str = Field(description="The ticket's event: name, venue, city, start; or empty.")
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        return cls(
            id=notice.id,
            kind=NoticeKind(notice.kind),
            order_id=notice.order_id,
            ticket_id=notice.ticket_id,
            title=notice.title,
            event=notice.event,
            created_at=as_utc(notice.created_at),
            read=notice.read_at is not None,
        )


class UnreadOut(ApiModel):
    unread: int
