"""The deployed shape, started once per test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.nats import NatsServer
from tests.deploy.deployed import Deployment


@pytest.fixture(scope="session")
def deployed(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, nats_server: NatsServer
) -> Iterator[Deployment]:
    deployment = Deployment(
        tmp_path_factory.mktemp("deployed"), redis_url=redis_url, nats_url=nats_server.url
    )
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
