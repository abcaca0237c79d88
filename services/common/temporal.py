"""Temporal as the services see it: the client (connected lazily for the apps), a
business failure behind a failed Update, and registering search attributes. It names no
workflow: the saga's own vocabulary is in ``workflows.contracts``."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import sys
from collections.abc import Awaitable, Iterable
from typing import NoReturn, TypeVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from services.common.observability.temporal_metrics import temporal_runtime
from services.common.observability.tracing import temporal_interceptors
from services.common.payload_codec import payload_codec
from services.common.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    """Every client (and the workers built on one) converts and encrypts alike."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(payload_codec(settings)),
        tls=temporal_tls(settings),
        api_key=settings.temporal_api_key,
        # The SDK's metrics in this process's /metrics; traced where tracing is on.
        runtime=temporal_runtime(),
        interceptors=temporal_interceptors(),
    )


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """The saga's messages are pydantic models; with a codec, encrypted, and so are
    failures' messages and stack traces (they may quote an id). Without one (the
    workflow tests' doubles), histories read as they always did."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS to Temporal as the settings ask: off on the embedded stack; with a client
    certificate (mTLS), a private CA or a server name, a TLSConfig from those PEM files;
    on with the system's CAs for an API key (Temporal Cloud) or ``TEMPORAL_TLS``."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")
    ca, server_name = settings.temporal_tls_ca, settings.temporal_tls_server_name
    if cert is not None or ca is not None or server_name is not None:
        return TLSConfig(
            client_cert=cert.read_bytes() if cert is not None else None,
            client_private_key=key.read_bytes() if key is not None else None,
            server_root_ca_cert=ca.read_bytes() if ca is not None else None,
            domain=server_name,
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


class LazyTemporalClient:
    """A service app's way to Temporal: connected on first use, so that the app starts
    while Temporal is still coming up, and a request refused before it reaches the saga
    (404, 403, ...) does not need Temporal at all."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, client: Client, settings: Settings) -> LazyTemporalClient:
        """One already connected (a test's own server)."""
        lazy = cls(settings)
        lazy._client = client
        return lazy

    async def get(self) -> Client:
        if self._client is None:
            # Concurrent first requests connect once.
            async with self._lock:
                if self._client is None:
                    self._client = await connect_temporal(self._settings)
        return self._client


def business_failure(error: BaseException, types: Iterable[str]) -> ApplicationError | None:
    """The business failure (one of ``types``) behind a failed Update, however deep
    Temporal wrapped it (an activity's failure sits under ActivityError)."""
    wanted = set(types)
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type in wanted:
            return cause
        cause = cause.__cause__
    return None


T = TypeVar("T")


class TemporalUnavailable(Exception):
    """Temporal, or the worker a call needs, did not answer in time; worth trying again
    after ``retry_after_seconds``."""

    def __init__(self, what: str, retry_after_seconds: int) -> None:
        super().__init__(f"{what}: no answer from Temporal in time")
        self.retry_after_seconds = retry_after_seconds


async def answered_within(seconds: float, call: Awaitable[T], what: str) -> T:
    """``call``'s answer, or TemporalUnavailable past ``seconds`` or when Temporal cannot
    be reached (a call to Temporal otherwise waits as long as the outage lasts)."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await call
    except TimeoutError:
        raise TemporalUnavailable(what, math.ceil(seconds)) from None
    except RPCTimeoutOrCancelledError:
        # What the SDK turns its own cancellation into, here by the deadline.
        if deadline.expired():
            raise TemporalUnavailable(what, math.ceil(seconds)) from None
        raise
    except RPCError as error:
        if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise TemporalUnavailable(what, math.ceil(seconds)) from error
        raise


def saga_has_finished(error: RPCError) -> bool:
    """What Temporal answers an Update sent to a saga that has ended (paid, expired or
    cancelled) or never ran; any other RPC error is an outage, not an answer."""
    return error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


async def register_search_attributes(
    client: Client, keys: Iterable[SearchAttributeKey[str]], namespace: str = "default"
) -> None:
    """Keyword search attributes, for servers not started with ``--search-attribute``;
    safe to call again."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in keys},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise


def exit_without_finalizing(code: int = 0) -> NoReturn:
    """Ends a process that used a Temporal client, once its work is done. The client's
    core threads may still be winding down while the interpreter finalizes, which then
    aborts the process (PyGILState_Release, exit -6): flushed, it leaves without
    finalizing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
