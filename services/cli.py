"""The ``ticketing`` command: the embedded stack, one service, or one service's worker."""

from typing import Annotated

import typer

from services.common.settings import SERVICE_NAMES, ServiceName, get_settings
from services.definitions import load_definition, service_name

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def up(
    api_app: Annotated[str | None, typer.Option("--app", hidden=True)] = None,
) -> None:
    """Run the whole system: NATS, Temporal (with Web UI and codec server), localstripe,
    API and workers."""
    from devstack.run import DEFAULT_API_APP, run

    raise typer.Exit(run(get_settings(), api_app=api_app or DEFAULT_API_APP))


# The default ports of `ticketing serve`: the services from 8001 in their order, the
# shop on 8005 (where it was before the notifications service came), that one after it.
WEB_PORT = 8005
# How long an idle keep-alive connection stays open: longer than any client or proxy in
# front keeps one (nginx's and ingress-nginx's upstream keep-alive: 60 s; httpx's: 5 s).
# The side that keeps a connection longer must be the server: were it to close one first,
# a request sent on it at that moment fails (a 502 from the proxy, a read error for a
# client). uvicorn's default, 5 s, equals httpx's.
KEEP_ALIVE_SECONDS = 75


def _default_port(name: ServiceName) -> int:
    index = SERVICE_NAMES.index(name)
    return 8001 + index if 8001 + index < WEB_PORT else 8002 + index


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}, web")],
    port: Annotated[int | None, typer.Option(help="default: 8001 + the service's index")] = None,
    host: Annotated[str | None, typer.Option(help="default: API_HOST")] = None,
) -> None:
    """Serve one service's HTTP API, or the web shop (`web`, default port 8005), on its own."""
    import uvicorn

    from services.common.observability.logging import configure_logging
    from services.common.observability.tracing import configure_tracing

    # uvicorn's own lines go through the process's handler (log_config=None). The app
    # finds the client behind its TRUSTED_PROXIES itself (services.common.http.forwarded),
    # so uvicorn's own proxy handling, with its own default, stays out of the way.
    if service == "web":
        from web.settings import get_web_settings

        # The shop's own settings only: it holds none of the services' keys.
        web = get_web_settings()
        configure_logging(web)
        uvicorn.run(
            "web.main:app",
            host=host or web.api_host,
            port=port if port is not None else WEB_PORT,
            log_config=None,
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        return

    settings = get_settings()
    configure_logging(settings)
    name = _service_name(service)
    configure_tracing(settings, name)
    uvicorn.run(
        f"services.{name}.main:app",
        host=host or settings.api_host,
        port=port if port is not None else _default_port(name),
        log_config=None,
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}")],
) -> None:
    """Apply a service's database migrations (what a deployment runs before its replicas)."""
    import asyncio

    from services.common.data.db import Database
    from services.common.data.migrations import upgrade

    name = _service_name(service)
    definition = load_definition(name)

    async def _migrate() -> None:
        settings = get_settings()
        database = Database.connect(
            settings.database_url_for(name), sqlite_driver=settings.sqlite_driver
        )
        try:
            await upgrade(database, definition.migrations)
        finally:
            await database.dispose()

    asyncio.run(_migrate())


@app.command()
def revision(
    service: Annotated[
        str,
        typer.Argument(
            help=f"one of: {', '.join(SERVICE_NAMES)}; or shared, for the tables every "
            "service's database has (outbox, banned_users, revoked_sessions)"
        ),
    ],
    message: Annotated[str, typer.Option("-m", "--message", help="what the migration does")],
) -> None:
    """Autogenerate a migration from the difference between a service's models and its
    database (`shared`: the shared tables', compared on the tickets database)."""
    from services.common.data.migrations import SHARED_MIGRATIONS, make_revision

    if service == "shared":
        make_revision(SHARED_MIGRATIONS, get_settings().database_url_for("tickets"), message)
        return
    name = _service_name(service)
    make_revision(load_definition(name).migrations, get_settings().database_url_for(name), message)


@app.command("search-attributes")
def search_attributes() -> None:
    """Register the saga's search attributes on the Temporal namespace (idempotent); the
    embedded stack's dev server starts with them, a production server needs this once."""
    import asyncio

    from services.common.temporal import (
        connect_temporal,
        exit_without_finalizing,
        register_search_attributes,
    )
    from workflows.contracts import SEARCH_ATTRIBUTES

    async def _register() -> None:
        settings = get_settings()
        client = await connect_temporal(settings)
        await register_search_attributes(client, SEARCH_ATTRIBUTES, settings.temporal_namespace)

    asyncio.run(_register())
    exit_without_finalizing()


@app.command("codec-server")
def codec_server(
    port: Annotated[int | None, typer.Option(help="default: CODEC_SERVER_PORT")] = None,
    host: Annotated[str | None, typer.Option(help="default: API_HOST")] = None,
) -> None:
    """Serve the Temporal Web UI's codec endpoint (/encode, /decode): the UI shows the
    saga's payloads decrypted, to the UI's origins only (TEMPORAL_UI_ORIGINS)."""
    import uvicorn

    from services.codec_server import create_codec_app

    settings = get_settings()
    uvicorn.run(
        create_codec_app(settings),
        host=host or settings.api_host,
        port=port if port is not None else settings.codec_server_port,
    )


admin = typer.Typer(
    no_args_is_help=True,
    help="Grant or revoke a role (admin: who may ban users; gate: who checks entry codes"
    " in), in the auth database.",
)
app.add_typer(admin, name="admin")


def _set_role(email: str, role_name: str) -> None:
    import asyncio

    from services.auth.admins import set_role
    from services.common.errors import DomainError
    from services.common.identity.tokens import Role

    try:
        asyncio.run(set_role(get_settings(), email, Role(role_name)))
    except DomainError as refused:
        typer.echo(refused.message, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{email}: {role_name} (tokens minted from now on carry it)")


@admin.command("grant")
def admin_grant(
    email: Annotated[str, typer.Argument(help="the user's e-mail address")],
    role: Annotated[
        str, typer.Option(help="admin, or gate (gate staff: they check entry codes in)")
    ] = "admin",
) -> None:
    """Make a user an admin (or gate staff); they sign in again for a token that says so."""
    if role not in ("admin", "gate"):
        raise typer.BadParameter("admin or gate", param_hint="--role")
    _set_role(email, role)


@admin.command("revoke")
def admin_revoke(email: Annotated[str, typer.Argument(help="the user's e-mail address")]) -> None:
    """Take the admin role back; their tokens stop opening admin routes at once."""
    _set_role(email, "user")


events = typer.Typer(
    no_args_is_help=True, help="Look after events, in the tickets database (admins)."
)
app.add_typer(events, name="events")


@events.command("merge")
def events_merge(
    keep: Annotated[str, typer.Argument(help="the id of the event to keep")],
    duplicate: Annotated[str, typer.Argument(help="the id of its duplicate, deleted")],
) -> None:
    """Merge a duplicate event into another: its tickets move, then it is deleted."""
    import asyncio
    from uuid import UUID

    from services.common.errors import DomainError
    from services.tickets.event_admin import merge

    try:
        keep_id, duplicate_id = UUID(keep), UUID(duplicate)
    except ValueError:
        raise typer.BadParameter("an event id is a UUID") from None
    try:
        moved = asyncio.run(merge(get_settings(), keep_id, duplicate_id))
    except DomainError as refused:
        typer.echo(refused.message, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{moved} ticket(s) moved to {keep_id}; event {duplicate_id} deleted")


def _service_name(service: str) -> ServiceName:
    try:
        return service_name(service)
    except ValueError as unknown:
        raise typer.BadParameter(str(unknown), param_hint="SERVICE") from None


@app.command()
def replay(
    since: Annotated[
        str, typer.Option(help="how far back purchases started, e.g. 30m, 2h, 1d")
    ] = "1d",
    query: Annotated[str | None, typer.Option(help="a visibility query to narrow it")] = None,
    limit: Annotated[int, typer.Option(help="at most this many histories")] = 1000,
) -> None:
    """Replay recent purchases' histories from the namespace on this code (before a
    deploy): exits 1, naming them, if any would not replay."""
    import asyncio
    from datetime import timedelta

    from services.common.temporal import connect_temporal, exit_without_finalizing
    from worker.replay import replay_recent

    units = {"m": "minutes", "h": "hours", "d": "days"}
    if since[-1:] not in units or not since[:-1].isdigit():
        raise typer.BadParameter("a number and m, h or d, e.g. 30m", param_hint="--since")
    window = timedelta(**{units[since[-1]]: int(since[:-1])})

    async def _replay() -> int:
        client = await connect_temporal(get_settings())
        report = await replay_recent(client, window, query=query, limit=limit)
        for workflow_id, failure in report.failures.items():
            typer.echo(f"{workflow_id}: {failure}", err=True)
        typer.echo(f"replayed {report.replayed}, {len(report.failures)} would not replay")
        return 1 if report.failures else 0

    exit_without_finalizing(asyncio.run(_replay()))


@app.command()
def worker(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICE_NAMES)}, all")],
) -> None:
    """Run the Temporal worker(s) of one service, or of all of them."""
    from worker.main import run

    run(service)


if __name__ == "__main__":
    app()
