"""A worker process's health endpoints, for its probes (a worker has no HTTP API).

``GET /healthz`` answers 200 while the process runs (liveness). ``GET /readyz`` answers
200 once every Worker of the process polls its task queue and each service runtime
reaches its database and NATS; 503 otherwise, in the API's error shape (readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.worker import Worker

from services.common.http.health import readiness_problems
from services.common.observability.metrics import metrics_response
from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceName


class WorkerHealth:
    """What the probes look at: the process's workers and their runtimes, recorded as
    they start (``worker.main.running_workers``)."""

    def __init__(self, services: Sequence[ServiceName]) -> None:
        self.services = tuple(services)
        self.runtimes: list[ServiceRuntime] = []
        self.workers: dict[str, Worker] = {}

    def add(self, service: ServiceName, runtime: ServiceRuntime, worker: Worker) -> None:
        self.runtimes.append(runtime)
        self.workers[service] = worker

    async def problems(self) -> list[dict[str, str]]:
        problems = [
            {"message": f"{service} worker not polling"}
            for service in self.services
            if not ((worker := self.workers.get(service)) and worker.is_running)
        ]
        for runtime in self.runtimes:
            problems.extend(await readiness_problems(runtime))
        return problems


def health_app(health: WorkerHealth) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        problems = await health.problems()
        if problems:
            return JSONResponse({"errors": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        # The process's figures: the purchases its activities settled, among them.
        return await metrics_response()

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the signals alone: the worker's own handlers stop
    the process, and this server with it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serving_health(health: WorkerHealth, host: str, port: int) -> AsyncIterator[int | None]:
    """The endpoints on ``host:port`` while the block runs (its port, or None when
    ``port`` is 0: no endpoints). A port already taken stops the worker at once."""
    if port == 0:
        yield None
        return
    try:
        sock = socket.create_server((host, port))
    except OSError as error:
        raise SystemExit(
            f"worker health endpoints: cannot listen on {host}:{port} ({error.strerror}); "
            "set WORKER_HEALTH_PORT to a free port, or 0 for none"
        ) from None
    config = uvicorn.Config(health_app(health), log_config=None, access_log=False, lifespan="off")
    server = _Server(config)
    with sock:
        task = asyncio.create_task(server.serve(sockets=[sock]), name="worker-health")
        try:
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True
            await task
