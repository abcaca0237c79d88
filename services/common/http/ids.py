"""Ids in paths: a malformed one names nothing, so it is refused like a missing one."""

from __future__ import annotations

from uuid import UUID

from services.common.errors import Missing


def id_or_not_found(raw: str, missing: type[Missing]) -> UUID:
    """The id, or the service's error for a thing that does not exist."""
    try:
        return UUID(raw)
    except ValueError:
        raise missing() from None
