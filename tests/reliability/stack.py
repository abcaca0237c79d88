"""The embedded stack run in-process by the harness, so that a scenario can kill,
stop and restart its parts one by one (the `ticketing up` supervisor would stop all)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from devstack.process import ManagedProcess
from devstack.run import WORKER_COMMANDS, Stack
from services.auth.admins import set_role
from services.common.identity.tokens import Role, TokenSigner, private_key_pem
from services.common.settings import SERVICE_NAMES, ServiceName, Settings
from tests.reliability.databases import ServiceDatabases
from tests.support.ports import free_port

ADMIN_EMAIL = "reliability-admin@example.com"
COUNTED: dict[ServiceName, list[str]] = {
    "auth": ["users"],
    "tickets": ["tickets"],
    "orders": ["orders"],
    "payments": ["payments", "payment_attempts"],
    "notifications": ["notices"],
}


class Copies:
    """Several copies of one process, as a deployment's replicas: started and stopped
    together, or one by one through ``processes``."""

    def __init__(self, name: str, processes: list[ManagedProcess]) -> None:
        self.name = name
        self.processes = processes

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def running(self) -> bool:
        return all(process.running() for process in self.processes)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(process.log_tail(lines) for process in self.processes)


class HarnessStack(Stack):
    def __init__(self, settings: Settings, *, copies: int = 1) -> None:
        # The services reach Stripe through a link the scenarios can slow down
        # (``slow_stripe``); known before the children's environment is made.
        self.stripe_link_port = free_port()
        self.stripe_delay_file = settings.data_dir / "stripe-delay-seconds"
        # Every worker process runs every service's worker, as `ticketing up`'s does.
        super().__init__(settings, worker_commands=WORKER_COMMANDS * copies)
        assert self.localstripe is not None, "the harness runs on localstripe"
        self.stripe_link = ManagedProcess(
            name="stripe link",
            command=[
                sys.executable,
                "-m",
                "tests.reliability.balancer",
                "--port",
                str(self.stripe_link_port),
                "--to",
                f"127.0.0.1:{settings.localstripe_port}",
                "--delay-file",
                str(self.stripe_delay_file),
            ],
            ready_port=self.stripe_link_port,
        )
        self.databases = ServiceDatabases(
            {service: settings.database_url_for(service) for service in SERVICE_NAMES}
        )
        self.balancer: ManagedProcess | None = None
        if copies > 1:
            self._several_api_copies(copies)

    def _several_api_copies(self, copies: int) -> None:
        """``copies`` API processes (each every service's API, as the gateway serves
        them) on ports of their own, behind a balancer on the API's port."""
        ports = [free_port() for _ in range(copies)]
        template = list(self.api.command)
        at = template.index("--port") + 1
        codec = template.index("--codec-port")

        def command(index: int, port: int) -> list[str]:
            command = [*template[:at], str(port), *template[at + 1 :]]
            # The first copy serves the codec endpoint too, as `ticketing up`'s API does;
            # the others would find its port taken.
            if index > 1:
                del command[codec : codec + 2]
            return command

        self.api = Copies(  # type: ignore[assignment]
            "api copies",
            [
                ManagedProcess(
                    name=f"api {index}",
                    command=command(index, port),
                    ready_port=port,
                    host=self.settings.api_host,
                    env=self.child_env(),
                    log_path=self.data_dir / "log" / f"api-{index}.log",
                )
                for index, port in enumerate(ports, start=1)
            ],
        )
        self.balancer = ManagedProcess(
            name="balancer",
            command=[
                sys.executable,
                "-m",
                "tests.reliability.balancer",
                "--port",
                str(self.settings.api_port),
                "--to",
                ",".join(f"{self.settings.api_host}:{port}" for port in ports),
            ],
            ready_port=self.settings.api_port,
            host=self.settings.api_host,
        )

    def start(self) -> None:
        self.started.append(self.stripe_link)
        self.stripe_link.start()
        super().start()
        if self.balancer is not None:
            self.started.append(self.balancer)
            self.balancer.start()

    def child_env(self) -> dict[str, str]:
        # Named outright, so that the services write exactly the databases the checks
        # read, whatever DATABASE_URL the harness itself was started with.
        urls = {
            f"{service.upper()}_DATABASE_URL": self.settings.database_url_for(service)
            for service in SERVICE_NAMES
        }
        stripe = {"STRIPE_API_BASE": f"http://127.0.0.1:{self.stripe_link_port}"}
        return {**super().child_env(), **urls, **stripe}

    def slow_stripe(self, seconds: float) -> None:
        """Every request from the services to Stripe waits ``seconds`` from now on (0: none)."""
        self.stripe_delay_file.write_text(str(seconds))

    def set_window(self, seconds: int) -> None:
        """The payment window of orders placed from now on: the orders API reads it when
        it starts a purchase, so only the API restarts."""
        self.set_api_env(ORDER_EXPIRATION_SECONDS=str(seconds))

    def set_api_env(self, **values: str) -> None:
        """The API restarted with these settings (its counts kept in memory start afresh)."""
        os.environ.update(values)
        self.api.stop()
        self.api.start()

    def expired_token(self, user_id: str) -> str:
        from uuid import UUID

        signer = TokenSigner(private_key_pem(self.settings), timedelta(seconds=-60))
        return signer.sign(UUID(user_id), "expired@example.com")

    async def set_role(self, email: str, role: Role) -> None:
        """What `ticketing admin grant|revoke <email>` does, on the stack's auth database."""
        await set_role(self.settings, email, role)

    async def row_counts(self) -> dict[str, int]:
        return {
            f"{service}.{table}": await self.databases.count(service, table)
            for service, tables in COUNTED.items()
            for table in tables
        }


@contextmanager
def running_stack(
    data_dir: Path,
    *,
    window_seconds: int,
    database_urls: Mapping[ServiceName, str] | None = None,
    copies: int = 1,
) -> Iterator[HarnessStack]:
    """A whole stack on free ports, its services on ``database_urls`` (default: a SQLite
    file each under ``data_dir``); the children read the window and admins from the
    environment they inherit."""
    urls = database_urls or {}
    ports = {
        name: free_port()
        for name in ("api", "nats", "monitor", "temporal", "ui", "stripe", "codec", "mail")
    }
    settings = Settings(
        _env_file=None,
        data_dir=data_dir.resolve(),
        database_url=None,
        auth_database_url=urls.get("auth"),
        tickets_database_url=urls.get("tickets"),
        orders_database_url=urls.get("orders"),
        payments_database_url=urls.get("payments"),
        api_port=ports["api"],
        nats_port=ports["nats"],
        nats_monitor_port=ports["monitor"],
        temporal_port=ports["temporal"],
        temporal_ui_port=ports["ui"],
        localstripe_port=ports["stripe"],
        # Not the embedded stack's 8025: a harness beside another (or beside `ticketing
        # up`) would find its mail catcher's port taken.
        mail_catcher_port=ports["mail"],
        codec_server_port=ports["codec"],
        # Several worker copies would want a port each from this one up: none is free for
        # sure, and nothing here reads their metrics.
        worker_health_port=0,
        stripe_secret_key=None,
    )
    # Its market signs up and signs in its thousand buyers from one address; the other
    # throttles stay as they are, for the hostile-input scenario to try.
    harness_env = {
        "ORDER_EXPIRATION_SECONDS": str(window_seconds),
        # An unconfirmed card authentication is given up soon after the window.
        "PAYMENT_AUTHENTICATION_GRACE_SECONDS": "3",
        "SIGNUPS_PER_ADDRESS": "100000/hour",
        "SIGNIN_ATTEMPTS_PER_ADDRESS": "100000/minute",
        # Its hundreds of 3-D Secure cards and declines all come from this one machine.
        "DECLINES_PER_ADDRESS": "100000/hour",
        "SITE_DECLINES": "100000/minute",
        # One seller lists the rush's hundreds of tickets.
        "LISTINGS_PER_SELLER": "100000/hour",
        # A thousand sign-ups at once are the market's setup, not what is checked.
        "PASSWORD_HASH_COST": "10",
        "HASH_QUEUE": "100000",
    }
    saved = {key: os.environ.get(key) for key in harness_env}
    os.environ.update(harness_env)
    stack = HarnessStack(settings, copies=copies)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


assert set(COUNTED) == set(SERVICE_NAMES)
