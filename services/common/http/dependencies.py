"""FastAPI dependencies for the service's runtime, its unit of work and read sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.data.unit_of_work import UnitOfWork
from services.common.runtime import ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    # async, like every dependency here: FastAPI runs a plain `def` dependency in its
    # thread pool, a thread round trip on every request for a lookup.
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_unit_of_work(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.unit_of_work() as uow:
        yield uow


async def get_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.database.read_sessions() as session:
        yield session


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
