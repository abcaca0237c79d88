"""The events a user raises, built from its row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from services.auth.models import User
from services.common.messaging.events import (
    UserBanned,
    UserCreated,
    UserSessionsRevoked,
    UserUpdated,
)


def user_created(user: User) -> UserCreated:
    return UserCreated(version=user.version, user_id=user.id, email=user.email)


def user_updated(user: User) -> UserUpdated:
    return UserUpdated(version=user.version, user_id=user.id, email=user.email)


def user_banned(user: User, banned_until: datetime) -> UserBanned:
    return UserBanned(version=user.version, user_id=user.id, banned_until=banned_until)


def user_sessions_revoked(
    user: User, session_ids: Sequence[UUID], revoked_until: datetime
) -> UserSessionsRevoked:
    return UserSessionsRevoked(
        version=user.version,
        user_id=user.id,
        session_ids=list(session_ids),
        revoked_until=revoked_until,
    )
