from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.settings import Settings
from tests.payments.support import own_stream, payments_settings


@pytest.fixture
async def settings(
    tmp_path: Path, nats_url: str, database_url: str, localstripe_url: str
) -> AsyncIterator[Settings]:
    settings = payments_settings(
        tmp_path, nats_url=nats_url, database_url=database_url, localstripe_url=localstripe_url
    )
    async with own_stream(settings):
        yield settings
