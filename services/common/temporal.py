"""The Temporal client a service's routes talk to the purchase saga through.

Connected on first use and kept on the app's state: the app starts even while Temporal
is still coming up, and only routes that need the saga wait for it. A test may set
``app.state.temporal`` to a client of its own before the first request.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Request
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.common.settings import Settings
from workflows.errors import PurchaseError
from workflows.search_attributes import SEARCH_ATTRIBUTES


async def connect_temporal(settings: Settings) -> Client:
    """The saga's messages are pydantic models: every client uses the pydantic converter."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


class Saga:
    """The app's way to the saga: the client is connected on first use, so a request
    refused before it reaches the saga (404, 403, ...) does not need Temporal up."""

    def __init__(self, app_state: Any) -> None:
        self._state = app_state

    async def client(self) -> Client:
        state = self._state
        client: Client | None = getattr(state, "temporal", None)
        if client is None:
            # One lock per app (so per event loop): concurrent first requests connect once.
            if getattr(state, "temporal_lock", None) is None:
                state.temporal_lock = asyncio.Lock()
            async with state.temporal_lock:
                client = getattr(state, "temporal", None)
                if client is None:
                    client = await connect_temporal(state.runtime.settings)
                    state.temporal = client
        return client


async def get_saga(request: Request) -> Saga:
    return Saga(request.app.state)


SagaDep = Annotated[Saga, Depends(get_saga)]


def business_failure(error: BaseException) -> ApplicationError | None:
    """The saga's business failure (a ``PurchaseError`` type) behind a failed Update,
    however deep Temporal wrapped it (an activity's failure sits under ActivityError)."""
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type in set(PurchaseError):
            return cause
        cause = cause.__cause__
    return None


def saga_has_finished(error: RPCError) -> bool:
    """What Temporal answers an Update sent to a saga that has ended (paid, expired or
    cancelled) or never ran; any other RPC error is an outage, not an answer."""
    return error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """For servers not started with ``--search-attribute``; safe to call again."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={
            key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in SEARCH_ATTRIBUTES
        },
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
