"""Tables every service's database has besides its own: the outbox and the ban list."""

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
    )
    Index("ix_outbox_unpublished", outbox.c.published_at, outbox.c.seq)
    banned_users = Table(
        "banned_users",
        metadata,
        Column("user_id", Uuid, primary_key=True),
        Column("banned_until", DateTime(timezone=True), nullable=False),
    )
    return CommonTables(outbox=outbox, banned_users=banned_users)
