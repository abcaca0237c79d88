"""The embedded stack run in-process by the harness, so that a scenario can kill,
stop and restart its parts one by one (the `ticketing up` supervisor would stop all)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from devstack.run import Stack
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
}


class HarnessStack(Stack):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.databases = ServiceDatabases(
            {service: settings.database_url_for(service) for service in SERVICE_NAMES}
        )

    def child_env(self) -> dict[str, str]:
        # Named outright, so that the services write exactly the databases the checks
        # read, whatever DATABASE_URL the harness itself was started with.
        urls = {
            f"{service.upper()}_DATABASE_URL": self.settings.database_url_for(service)
            for service in SERVICE_NAMES
        }
        return {**super().child_env(), **urls}

    def set_window(self, seconds: int) -> None:
        """The payment window of orders placed from now on: the orders API reads it when
        it starts a purchase, so only the API restarts."""
        os.environ["ORDER_EXPIRATION_SECONDS"] = str(seconds)
        self.api.stop()
        self.api.start()

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

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
) -> Iterator[HarnessStack]:
    """A whole stack on free ports, its services on ``database_urls`` (default: a SQLite
    file each under ``data_dir``); the children read the window and admins from the
    environment they inherit."""
    urls = database_urls or {}
    ports = {name: free_port() for name in ("api", "nats", "monitor", "temporal", "ui", "stripe")}
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
        stripe_secret_key=None,
    )
    # Its market signs up and signs in its thousand buyers from one address; the other
    # throttles stay as they are, for the hostile-input scenario to try.
    harness_env = {
        "ORDER_EXPIRATION_SECONDS": str(window_seconds),
        "SIGNUPS_PER_ADDRESS": "100000/hour",
        "SIGNIN_ATTEMPTS_PER_ADDRESS": "100000/minute",
        # A thousand sign-ups at once are the market's setup, not what is checked.
        "PASSWORD_HASH_COST": "10",
        "HASH_QUEUE": "100000",
    }
    saved = {key: os.environ.get(key) for key in harness_env}
    os.environ.update(harness_env)
    stack = HarnessStack(settings)
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
