"""The connection to NATS JetStream, kept in the background.

A service must keep answering while NATS is down (its events wait in the outbox), so
the connection is made by a background task that retries forever; whoever needs the
bus awaits ``jetstream()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from services.common.messaging.events import STREAM_SUBJECTS
from services.common.observability.logging import redact_credentials
from services.common.settings import Settings

log = logging.getLogger(__name__)


def stop_if_cancelled() -> None:
    """Raise the cancellation a library swallowed, so that a background loop stops.

    On Python 3.11, ``asyncio.wait_for`` (used inside nats-py for requests and fetches)
    drops a cancellation that arrives as its future completes; the task stays marked as
    cancelling, which loops check here at every turn.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def nats_tls(settings: Settings) -> ssl.SSLContext | None:
    """TLS to NATS with a private CA and/or a client certificate, as the settings ask."""
    cert, key = settings.nats_tls_cert, settings.nats_tls_key
    if (cert is None) != (key is None):
        raise ValueError("NATS_TLS_CERT and NATS_TLS_KEY go together")
    if cert is None and settings.nats_tls_ca is None:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.nats_tls_ca) if settings.nats_tls_ca else None
    )
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


class Bus:
    def __init__(
        self,
        url: str,
        *,
        stream: str,
        duplicate_window: float,
        name: str,
        credentials: Path | None = None,
        tls: ssl.SSLContext | None = None,
        max_age: float = 0.0,
        max_bytes: int = -1,
    ) -> None:
        """``max_age`` (seconds, 0: none) and ``max_bytes`` (-1: none): what the stream
        keeps at most; older messages are dropped first."""
        self.url = url
        self._max_age = max_age
        self._max_bytes = max_bytes
        self._credentials = str(credentials) if credentials else None
        self._tls = tls
        self.stream = stream
        self._duplicate_window = duplicate_window
        self._name = name
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"bus-connect-{self._name}")

    async def jetstream(self) -> JetStreamContext:
        await self._ready.wait()
        assert self._js is not None
        return self._js

    def jetstream_if_connected(self) -> JetStreamContext | None:
        """JetStream now, or None while the bus is not connected (never waits)."""
        return self._js if self._ready.is_set() and self.is_connected else None

    async def client(self) -> Client:
        """The plain NATS connection, once made."""
        await self._ready.wait()
        assert self._client is not None
        return self._client

    async def _connect(self) -> None:
        while True:
            client: Client | None = None
            try:
                client = self._client = await nats.connect(
                    self.url,
                    name=self._name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=self._on_error,
                    user_credentials=self._credentials,
                    tls=self._tls,
                )
                self._js = self._client.jetstream(timeout=5)
                await ensure_stream(
                    self._js,
                    self.stream,
                    self._duplicate_window,
                    max_age=self._max_age,
                    max_bytes=self._max_bytes,
                )
                self._ready.set()
                return
            except Exception:
                log.warning(
                    "NATS not reachable at %s yet; retrying",
                    redact_credentials(self.url),
                    exc_info=True,
                )
                # Connected but the stream could not be made: this connection (and its
                # reconnecting task) is not kept, the next try makes a new one.
                if client is not None:
                    self._client = self._js = None
                    with contextlib.suppress(Exception):
                        await client.close()
                await asyncio.sleep(1)

    async def _on_error(self, error: Exception) -> None:
        log.debug("NATS connection error: %s", error)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None and not self._client.is_closed:
            with contextlib.suppress(Exception):
                await self._client.drain()


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    duplicate_window: float,
    *,
    max_age: float = 0.0,
    max_bytes: int = -1,
) -> None:
    """Create the event stream, or bring an existing one to this configuration."""
    config = StreamConfig(
        name=name,
        subjects=STREAM_SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window,
        # Bounded (the oldest dropped first), so that a flood of writes cannot fill the
        # server's disk and stop every publish.
        max_age=max_age,
        max_bytes=max_bytes,
        discard=DiscardPolicy.OLD,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
