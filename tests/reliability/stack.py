"""The embedded stack run in-process by the harness, so that a scenario can kill,
stop and restart its parts one by one (the `ticketing up` supervisor would stop all)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from services.common.settings import SERVICE_NAMES, Settings
from services.common.tokens import TokenSigner, private_key_pem
from services.stack.run import Stack
from tests.stack.ports import free_port

ADMIN_EMAIL = "reliability-admin@example.com"
COUNTED = {
    "auth": ["users"],
    "tickets": ["tickets"],
    "orders": ["orders"],
    "payments": ["payments", "payment_attempts"],
}


class HarnessStack(Stack):
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

    def row_counts(self) -> dict[str, int]:
        counts = {}
        for service, tables in COUNTED.items():
            with sqlite3.connect(f"file:{self.data_dir / service}.db?mode=ro", uri=True) as db:
                for table in tables:
                    counts[f"{service}.{table}"] = db.execute(
                        f"SELECT count(*) FROM {table}"
                    ).fetchone()[0]
        return counts


@contextmanager
def running_stack(data_dir: Path, *, window_seconds: int) -> Iterator[HarnessStack]:
    """A whole stack on free ports; the children read the window and admins from the
    environment they inherit."""
    ports = {name: free_port() for name in ("api", "nats", "monitor", "temporal", "ui", "stripe")}
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        api_port=ports["api"],
        nats_port=ports["nats"],
        nats_monitor_port=ports["monitor"],
        temporal_port=ports["temporal"],
        temporal_ui_port=ports["ui"],
        localstripe_port=ports["stripe"],
        stripe_secret_key=None,
    )
    saved = {key: os.environ.get(key) for key in ("ORDER_EXPIRATION_SECONDS", "ADMIN_EMAILS")}
    os.environ["ORDER_EXPIRATION_SECONDS"] = str(window_seconds)
    os.environ["ADMIN_EMAILS"] = ADMIN_EMAIL
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
