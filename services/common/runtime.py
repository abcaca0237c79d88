"""A running service: its database, its bus connection, its outbox relay and consumers.

The HTTP app and the Temporal worker of a service both run inside one of these, so
that both write state and events the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.common.data.db import Database
from services.common.data.migrations import upgrade
from services.common.data.unit_of_work import UnitOfWork
from services.common.identity.refusals import Refusals, refusals_of
from services.common.identity.tokens import (
    TokenSigner,
    TokenVerifier,
    private_key_pem,
    public_key_pem,
)
from services.common.messaging.bus import Bus, nats_tls
from services.common.messaging.change_hints import ChangeHints
from services.common.messaging.consumers import ConsumerRunner, measure_consumers
from services.common.messaging.outbox import OutboxRelay
from services.common.observability.metrics import refreshed_at_scrape
from services.common.service import ServiceDefinition
from services.common.settings import Settings


@dataclass
class ServiceRuntime:
    definition: ServiceDefinition
    settings: Settings
    database: Database
    bus: Bus
    relay: OutboxRelay
    verifier: TokenVerifier
    # Only a service that mints tokens (auth) loads the private key, and at start, so
    # that a missing key stops it at once rather than failing its first sign-in.
    signer: TokenSigner | None = None
    hints: ChangeHints = field(default_factory=lambda: ChangeHints(None))
    # Who is refused (bans, revoked sessions), in memory: services.common.identity.refusals.
    refusals: Refusals = field(default_factory=Refusals)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(
            self.database.write_sessions, self.definition.tables.outbox, self.relay.notify
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, definition: ServiceDefinition, settings: Settings, *, consume: bool = True
    ) -> AsyncIterator[ServiceRuntime]:
        for load_key in definition.keys_needed:
            load_key(settings)
        database = Database.connect(
            settings.database_url_for(definition.name), sqlite_driver=settings.sqlite_driver
        )
        bus = Bus(
            settings.nats_url,
            stream=settings.events_stream,
            duplicate_window=settings.events_duplicate_window_seconds,
            name=definition.name,
            credentials=settings.nats_credentials,
            tls=nats_tls(settings),
            max_age=settings.events_max_age_seconds,
            max_bytes=settings.events_max_bytes,
        )
        runtime = cls(
            definition=definition,
            settings=settings,
            database=database,
            bus=bus,
            relay=OutboxRelay(
                database,
                definition.tables.outbox,
                bus,
                service=definition.name,
                retention=timedelta(seconds=settings.outbox_retention_seconds),
            ),
            verifier=TokenVerifier(
                public_key_pem(settings), issuer=settings.jwt_issuer, audience=settings.jwt_audience
            ),
            signer=TokenSigner(
                private_key_pem(settings),
                timedelta(seconds=settings.jwt_expires_seconds),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            if definition.signs_tokens
            else None,
            hints=ChangeHints(definition.change_hints),
            refusals=refusals_of(database.write_engine.sync_engine),
        )
        try:
            if settings.migrate_on_start:
                await upgrade(database, definition.migrations)
            bus.start()
            runtime._spawn(runtime.relay.run(), f"{definition.name}-relay")
            if consume:
                # Where requests are answered (the worker's runtime answers none).
                runtime._spawn(
                    runtime.refusals.keep_current(database.read_engine, definition.tables, bus),
                    f"{definition.name}-refusals",
                )
            if consume and definition.change_hints is not None:
                runtime._spawn(runtime.hints.listen(bus), f"{definition.name}-change-hints")
            if consume:
                for work in definition.background:
                    runtime._spawn(work(runtime), f"{definition.name}-background")
                for consumer in definition.consumers:
                    runner = ConsumerRunner(
                        consumer,
                        bus,
                        runtime.unit_of_work,
                        ack_wait=settings.consumer_ack_wait_seconds,
                        max_deliver=settings.consumer_max_deliver,
                    )
                    runtime._spawn(runner.run(), f"consumer-{consumer.durable}")

            async def measure() -> None:
                await runtime.relay.measure_backlog()
                # Every process of the service reports them (a worker too), so the lag
                # shows while its API is down.
                await measure_consumers(definition.name, bus, definition.consumers)

            with refreshed_at_scrape(measure):
                yield runtime
        finally:
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await bus.close()
            await database.dispose()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.append(asyncio.create_task(work, name=name))
