"""What a route may ask for, each as an ``Annotated`` alias: exactly the part it uses.

Every part comes from the service's runtime on the app's state, so a test swaps one
through ``app.dependency_overrides[get_<part>]`` and leaves the rest real. Routes read
one way, through ``ReadSessionsDep`` (a new session per look, so a route that looks
again sees what was committed since), and write through ``UnitOfWorkDep``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.data.unit_of_work import UnitOfWork
from services.common.messaging.change_hints import ChangeHints
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.common.temporal import LazyTemporalClient


async def get_runtime(request: Request) -> ServiceRuntime:
    # async, like every dependency here: FastAPI runs a plain `def` dependency in its
    # thread pool, a thread round trip on every request for a lookup.
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# For the dependencies below and the health routes; a route asks for a part instead.
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_settings_of_service(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_unit_of_work(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.unit_of_work() as uow:
        yield uow


async def get_units_of_work(runtime: RuntimeDep) -> Callable[[], UnitOfWork]:
    """For a route whose change takes several transactions (one unit of work each)."""
    return runtime.unit_of_work


async def get_read_sessions(runtime: RuntimeDep) -> async_sessionmaker[AsyncSession]:
    return runtime.database.read_sessions


async def get_read_engine(runtime: RuntimeDep) -> AsyncEngine:
    """For a plain read of a few columns: a Core query on a connection costs a fraction
    of an ORM session's (no identity map, no ORM compilation)."""
    return runtime.database.read_engine


async def get_change_hints(runtime: RuntimeDep) -> ChangeHints:
    return runtime.hints


async def get_temporal(request: Request) -> LazyTemporalClient:
    temporal: LazyTemporalClient = request.app.state.temporal
    return temporal


SettingsDep = Annotated[Settings, Depends(get_settings_of_service)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
UnitsOfWorkDep = Annotated[Callable[[], UnitOfWork], Depends(get_units_of_work)]
ReadSessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_read_sessions)]
ReadEngineDep = Annotated[AsyncEngine, Depends(get_read_engine)]
ChangeHintsDep = Annotated[ChangeHints, Depends(get_change_hints)]
TemporalDep = Annotated[LazyTemporalClient, Depends(get_temporal)]
