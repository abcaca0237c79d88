"""The rule every replica applies events by: in version order, each exactly once."""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from sqlalchemy import CursorResult, Select, Table, Update, bindparam, select, update

from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.consumers import NotYetApplicable


def is_next(current: int | None, incoming: int, *, creates: bool, entity: str) -> bool:
    """Whether an event of version ``incoming`` applies to a replica row at ``current``
    (None: no row yet). False when it was applied already (ack it, change nothing);
    NotYetApplicable when events before it are missing (it is redelivered later).
    ``creates``: the event may create the row."""
    if current is None:
        if creates:
            return True
        raise NotYetApplicable(f"{entity} v{incoming} before the event that creates it")
    if incoming <= current:
        return False
    if incoming > current + 1:
        raise NotYetApplicable(f"{entity} v{incoming} while the replica is at v{current}")
    return True


async def move_to_version(
    uow: UnitOfWork, table: Table, row_id: UUID, version: int, values: dict[str, Any]
) -> bool:
    """Applies an event of ``version`` to an existing replica row: one conditional
    UPDATE when the row is at the version before, as it is on the usual path. False when
    the event was applied already; NotYetApplicable when events before it are missing."""
    statement = _move_to_version(table, tuple(sorted(values)))
    result: CursorResult[Any] = await uow.session.execute(  # type: ignore[assignment]
        statement,
        {
            **{f"new_{name}": value for name, value in values.items()},
            "row_id": row_id,
            "previous": version - 1,
            "new_version": version,
        },
    )
    if result.rowcount:
        return True
    current = await uow.session.scalar(_version_of(table), {"row_id": row_id})
    entity = f"{table.name} row {row_id}"
    if is_next(current, version, creates=False, entity=entity):
        # At the version before after all: moved by another replica meanwhile. Later.
        raise NotYetApplicable(f"{entity} v{version} raced another replica")
    return False


# Built once per replica table: every event applied runs them.
@functools.cache
def _move_to_version(table: Table, columns: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.version == bindparam("previous"))
        .values(
            {
                **{name: bindparam(f"new_{name}") for name in columns},
                "version": bindparam("new_version"),
            }
        )
    )


@functools.cache
def _version_of(table: Table) -> Select[int]:
    return select(table.c.version).where(table.c.id == bindparam("row_id"))
