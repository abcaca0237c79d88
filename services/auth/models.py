"""The auth service's tables: users and their password hashes, and their sessions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables
from services.common.identity.tokens import Role


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)

# RFC 5321 caps a forward path at 254 characters.
EMAIL_MAX_LENGTH = 254


class User(Base):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    # Stored lower-cased; the unique constraint is what settles two concurrent signups.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Permanent in auth (sign-in stays refused); the ban list only outlives the tokens.
    banned: Mapped[bool] = mapped_column(default=False)
    # Granted by command only (`ticketing admin grant <email>`); tokens carry it.
    role: Mapped[Role] = mapped_column(String(16), default=Role.USER, server_default=Role.USER)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # Optimistic concurrency: an UPDATE that finds another version changes nothing.
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}


class UserSession(Base):
    """One sign-in: every token minted for it (the first, and each sliding refresh) names
    it, and none outlives ``expires_at``, however active its user. Revoked by signing out,
    signing out everywhere, or changing the password."""

    __tablename__ = "user_sessions"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The absolute end of the session (SESSION_MAX_SECONDS after it started).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}
