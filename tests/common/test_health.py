"""/healthz says the process answers; /readyz says the database and NATS are reachable."""

from __future__ import annotations

import httpx

from devstack.nats import NatsServer
from services.common.settings import Settings
from services.tickets.service import definition
from tests.support.apps import app_client
from tests.support.polling import eventually


async def test_readyz_follows_nats_and_healthz_stays_up(
    settings: Settings, nats_server: NatsServer
) -> None:
    async with app_client(definition, settings) as (client, _app):

        async def readyz() -> httpx.Response:
            return await client.get("/readyz")

        ready = await eventually(readyz, lambda r: r.status_code == 200, what="ready")
        assert ready.json() == {"status": "ready"}

        nats_server.stop()
        try:
            down = await eventually(readyz, lambda r: r.status_code == 503, what="not ready")
            assert down.json() == {"errors": [{"message": "tickets not connected to NATS"}]}
            healthz = await client.get("/healthz")
            assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
        finally:
            nats_server.start()

        back = await eventually(readyz, lambda r: r.status_code == 200, what="ready again")
        assert back.json() == {"status": "ready"}
