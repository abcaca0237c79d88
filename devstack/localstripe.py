"""localstripe, the Stripe stand-in, with its store in a file of our choosing."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from devstack.process import ManagedProcess

STORE_ENV = "LOCALSTRIPE_STORE"
# The events the purchase saga waits for (its payment_event signal).
WEBHOOK_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
WEBHOOK_ID = "ticketing"


class LocalStripe:
    def __init__(self, *, port: int, store_path: Path, log_path: Path | None = None) -> None:
        self.port = port
        self.store_path = store_path
        self.process = ManagedProcess(
            name="localstripe",
            command=[sys.executable, "-m", "devstack.localstripe_main", "--port", str(port)],
            ready_port=port,
            env={STORE_ENV: str(store_path)},
            log_path=log_path,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_path.parent.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()

    def send_webhooks(self, url: str, secret: str) -> None:
        """Register (again: localstripe forgets on restart) the endpoint its signed
        webhooks go to, as a Stripe dashboard's webhook endpoint would be."""
        registered = httpx.post(
            f"{self.url}/_config/webhooks/{WEBHOOK_ID}",
            json={"url": url, "secret": secret, "events": list(WEBHOOK_EVENTS)},
            timeout=10,
        )
        registered.raise_for_status()
