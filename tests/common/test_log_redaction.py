"""No password reaches the logs: the bus names NATS without its URL's credentials while
it waits for NATS, and every line the process's handler writes (text or JSON, exception
text included) has the credentials of every URL in it taken out."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from uuid import uuid4

import pytest

from services.common.messaging.bus import Bus
from services.common.observability.logging import log_handler, redact_credentials
from services.common.settings import Environment, Settings

SECRET = "s3cret-Pa55"


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """The process's own handler (as configure_logging installs it) on the root logger."""
    out = io.StringIO()
    settings = Settings.model_construct(
        environment=Environment.PRODUCTION, log_format=request.param, log_level="INFO"
    )
    handler = log_handler(settings, out)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield root, out
    root.removeHandler(handler)
    root.setLevel(previous)


async def test_the_bus_waiting_for_nats_logs_no_password(
    captured: tuple[logging.Logger, io.StringIO], nats_url: str
) -> None:
    _root, out = captured
    address = nats_url.removeprefix("nats://")
    # A stream name JetStream refuses: every try connects, fails, and says so.
    bus = Bus(
        f"nats://ticketing:{SECRET}@{address}",
        stream="NOT.A.STREAM",
        duplicate_window=60,
        name=f"redaction-{uuid4().hex[:8]}",
    )
    bus.start()
    try:
        for _ in range(100):
            if "NATS not reachable" in out.getvalue():
                break
            await asyncio.sleep(0.05)
    finally:
        await bus.close()
    logged = out.getvalue()
    assert "NATS not reachable" in logged
    assert f"nats://***@{address}" in logged
    assert SECRET not in logged


def test_no_url_in_any_line_keeps_its_credentials(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    root, out = captured
    urls = [
        f"postgresql+asyncpg://tickets:{SECRET}@db:5432/tickets?ssl=verify-full",
        f"redis://:{SECRET}@redis:6379/0",
        f"nats://{SECRET}@nats:4222",
        f"tls://user:{SECRET}@nats.example:4222",
    ]
    for url in urls:
        root.info("connecting to %s", url)
        try:
            raise ConnectionError(f"could not reach {url}")
        except ConnectionError:
            root.exception("failed")
    logged = out.getvalue()
    assert SECRET not in logged
    for kept in ("db:5432/tickets", "redis:6379/0", "nats:4222", "nats.example:4222"):
        assert f"***@{kept}" in logged, kept


def test_what_redaction_leaves_alone() -> None:
    assert redact_credentials("GET /api/users/a@b.io") == "GET /api/users/a@b.io"
    assert redact_credentials("mail ann@example.com") == "mail ann@example.com"
    assert redact_credentials("http://host:8000/x") == "http://host:8000/x"
