"""Tables every service's database has besides its own: the outbox, the ban list and the
list of revoked sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

# SQLite autoincrements only an INTEGER primary key; PostgreSQL wants a BIGINT.
_Sequence = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class CommonTables:
    outbox: Table
    banned_users: Table
    revoked_sessions: Table


def common_tables(metadata: MetaData) -> CommonTables:
    outbox = Table(
        "outbox",
        metadata,
        # Publication order: the relay publishes rows in the order they were written.
        Column("seq", _Sequence, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", String(64), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        # The W3C traceparent of the change that raised the event (tracing on), so that
        # its publish and its consumers join the same trace.
        Column("traceparent", String(55), nullable=True),
    )
    Index("ix_outbox_unpublished", outbox.c.published_at, outbox.c.seq)
    banned_users = Table(
        "banned_users",
        metadata,
        Column("user_id", Uuid, primary_key=True),
        Column("banned_until", DateTime(timezone=True), nullable=False),
    )
    # Signed-out sessions, fed by ``user.sessions_revoked``; a row is needed only until
    # every token of its session has expired.
    revoked_sessions = Table(
        "revoked_sessions",
        metadata,
        Column("session_id", Uuid, primary_key=True),
        Column("revoked_until", DateTime(timezone=True), nullable=False),
    )
    Index("ix_revoked_sessions_revoked_until", revoked_sessions.c.revoked_until)
    return CommonTables(outbox=outbox, banned_users=banned_users, revoked_sessions=revoked_sessions)
