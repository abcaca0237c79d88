"""The ``ticketing`` command: the embedded stack, one service, or one service's worker."""

import importlib
from typing import Annotated

import typer

from services.common.settings import SERVICE_NAMES, ServiceName, get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def up(
    api_app: Annotated[str, typer.Option("--app", hidden=True)] = "devstack.gateway.main:app",
) -> None:
    """Run the whole system: NATS, Temporal (with Web UI), localstripe, API and workers."""
    from devstack.run import run

    raise typer.Exit(run(get_settings(), api_app=api_app))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}, web")],
    port: Annotated[int | None, typer.Option(help="default: 8001 + the service's index")] = None,
    host: Annotated[str | None, typer.Option(help="default: API_HOST")] = None,
) -> None:
    """Serve one service's HTTP API, or the web shop (`web`, default port 8005), on its own."""
    import uvicorn

    if service == "web":
        uvicorn.run(
            "web.main:app",
            host=host or get_settings().api_host,
            port=port if port is not None else 8001 + len(SERVICE_NAMES),
        )
        return

    if service not in SERVICE_NAMES:
        raise typer.BadParameter(f"unknown service {service!r}", param_hint="SERVICE")
    settings = get_settings()
    uvicorn.run(
        f"services.{service}.main:app",
        host=host or settings.api_host,
        port=port if port is not None else 8001 + SERVICE_NAMES.index(service),
    )


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}")],
) -> None:
    """Apply a service's database migrations (what a deployment runs before its replicas)."""
    import asyncio

    from devstack.gateway.app import load_definition
    from services.common.data.db import Database
    from services.common.data.migrations import upgrade

    name = _service_name(service)
    definition = load_definition(name)

    async def _migrate() -> None:
        database = Database.connect(get_settings().database_url_for(name))
        try:
            await upgrade(database, definition.migrations)
        finally:
            await database.dispose()

    asyncio.run(_migrate())


@app.command()
def revision(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}")],
    message: Annotated[str, typer.Option("-m", "--message", help="what the migration does")],
) -> None:
    """Autogenerate a migration from the difference between a service's models and its database."""
    from devstack.gateway.app import load_definition
    from services.common.data.migrations import make_revision

    name = _service_name(service)
    make_revision(load_definition(name).migrations, get_settings().database_url_for(name), message)


@app.command("search-attributes")
def search_attributes() -> None:
    """Register the saga's search attributes on the Temporal namespace (idempotent); the
    embedded stack's dev server starts with them, a production server needs this once."""
    import asyncio

    from services.common.temporal import connect_temporal, register_search_attributes

    async def _register() -> None:
        settings = get_settings()
        client = await connect_temporal(settings)
        await register_search_attributes(client, settings.temporal_namespace)

    asyncio.run(_register())


def _service_name(service: str) -> ServiceName:
    for name in SERVICE_NAMES:
        if name == service:
            return name
    raise typer.BadParameter(f"unknown service {service!r}", param_hint="SERVICE")


@app.command()
def worker(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}, all")],
) -> None:
    """Run the Temporal worker(s) of one service, or of all of them."""
    if service != "all" and service not in SERVICE_NAMES:
        raise typer.BadParameter(f"unknown service {service!r}", param_hint="SERVICE")
    # Imported by name so the CLI loads (and type-checks) before the worker package exists.
    importlib.import_module("worker.main").run(service)


if __name__ == "__main__":
    app()
