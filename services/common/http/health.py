"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz``; and the
process's metrics, ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.responses import Response

from services.common.http.dependencies import RuntimeDep
from services.common.observability.metrics import metrics_response
from services.common.runtime import ServiceRuntime

router = APIRouter()


async def readiness_problems(runtime: ServiceRuntime) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    try:
        async with runtime.database.read_sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        problems.append({"message": f"{runtime.definition.name} database unreachable"})
    if not runtime.bus.is_connected:
        problems.append({"message": f"{runtime.definition.name} not connected to NATS"})
    return problems


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return await metrics_response()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    problems = await readiness_problems(runtime)
    if problems:
        return JSONResponse({"errors": problems}, status_code=503)
    return JSONResponse({"status": "ready"})
