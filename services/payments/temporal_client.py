"""The Temporal client the payments route pays through (the saga's ``pay`` Update).

Connected once per app, on first use: the common app factory (and the gateway, which
builds every service's app with it) has no hook for extra startup work. A test may set
``app.state.temporal`` to a client of its own before the first request.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


async def temporal_for(app: FastAPI, settings: Settings) -> Client:
    """The app's client, connected on first use (only routes that need it pay for it)."""
    state = app.state
    client: Client | None = getattr(state, "temporal", None)
    if client is not None:
        return client
    if getattr(state, "temporal_lock", None) is None:
        state.temporal_lock = asyncio.Lock()
    async with state.temporal_lock:
        if getattr(state, "temporal", None) is None:
            state.temporal = await connect_temporal(settings)
    connected: Client = state.temporal
    return connected
