"""The rule every replica applies events by: in version order, each exactly once."""

from __future__ import annotations

from services.common.listener import NotYetApplicable


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
