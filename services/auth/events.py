"""The events a user raises, built from its row."""

from __future__ import annotations

from datetime import datetime

from services.auth.models import User
from services.common.messaging.events import UserBanned, UserCreated


def user_created(user: User) -> UserCreated:
    return UserCreated(version=user.version, user_id=user.id, email=user.email)


def user_banned(user: User, banned_until: datetime) -> UserBanned:
    return UserBanned(version=user.version, user_id=user.id, banned_until=banned_until)
