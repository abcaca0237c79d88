"""Ids in paths: a malformed one names nothing, so it is a 404 like a missing one."""

from __future__ import annotations

from uuid import UUID

from services.common.http.errors import NotFound


def id_or_not_found(raw: str, thing: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound(f"{thing} not found") from None
