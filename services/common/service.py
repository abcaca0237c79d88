"""What a service is made of, declared once: its tables, its app and its consumers (its
Temporal worker, if it has one, is declared in ``worker/``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import MetaData

from services.common.data.tables import CommonTables
from services.common.messaging.change_hints import HintSource
from services.common.messaging.consumers import Consumer
from services.common.settings import ServiceName, Settings


@dataclass(frozen=True)
class ServiceDefinition:
    name: ServiceName
    metadata: MetaData
    tables: CommonTables
    # The folder of the service's Alembic scripts (env.py, versions/).
    migrations: Path
    # Each router's prefix is the one place its path is written; the first router's is
    # the service's own (its OpenAPI document lives under it).
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[Consumer] = field(default_factory=tuple)
    # Only auth mints tokens, and only it needs the private key.
    signs_tokens: bool = False
    # Keys the service loads at start (each called with the settings), so that a missing
    # one stops it at once rather than failing its first request.
    keys_needed: Sequence[Callable[[Settings], object]] = ()
    # Work the service runs beside its consumers, each called with its runtime (typed
    # Any: the runtime is built of this definition), e.g. the notifications' mail sender.
    background: Sequence[Callable[[Any], Coroutine[Any, Any, None]]] = ()
    # The events whose arrival wakes the service's long polls.
    change_hints: HintSource | None = None

    @property
    def api_prefix(self) -> str:
        assert self.routers, f"{self.name} has no routes"
        return self.routers[0].prefix

    @property
    def api_prefixes(self) -> tuple[str, ...]:
        """Every prefix the service answers under (tickets also owns /api/events)."""
        return tuple(dict.fromkeys(router.prefix for router in self.routers))
