"""Fixtures shared by the events, tickets and common tests (imported by their conftest)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from devstack.nats import NatsServer
from services.common.settings import Settings
from tests.support.apps import make_settings
from tests.support.jetstream import delete_catalogue_streams, jetstream, new_stream_name


@pytest.fixture
async def events_stream(nats_server: NatsServer, nats_url: str) -> AsyncIterator[str]:
    """A stream name no other test uses; the code under test creates the stream."""
    name = new_stream_name()
    async with jetstream(nats_url) as js:
        await delete_catalogue_streams(js)
    yield name
    # The test may have failed with the server stopped.
    nats_server.start()
    async with jetstream(nats_url) as js:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """A raw JetStream client, to look into the stream as an outsider."""
    async with jetstream(nats_url) as context:
        yield context


@pytest.fixture
def settings(tmp_path: Path, nats_url: str, database_url: str, events_stream: str) -> Settings:
    return make_settings(
        data_dir=tmp_path, nats_url=nats_url, database_url=database_url, events_stream=events_stream
    )
