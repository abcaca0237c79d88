"""The embedded stack behind ``ticketing up``: every server, the API and the workers.

Everything it keeps lives under ``settings.data_dir``, so a restart picks up where the
last run stopped. Children get their addresses through the environment, the same
variables a deployment would set.
"""

from __future__ import annotations

import secrets
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from devstack.localstripe import LocalStripe
from devstack.mail_catcher import MailCatcher
from devstack.nats import NatsServer
from devstack.process import ManagedProcess
from devstack.temporal import TemporalDevServer
from services.common.settings import Settings

DEFAULT_API_APP = "devstack.gateway.main:app"

# Every service's Temporal worker in one process on the embedded stack: one process per
# service (as deployed) measured no faster here and cost about 140 MiB each.
WORKER_COMMANDS: list[list[str]] = [[sys.executable, "-m", "services.cli", "worker", "all"]]


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        api_app: str = DEFAULT_API_APP,
        worker_commands: Sequence[Sequence[str]] = WORKER_COMMANDS,
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        logs = self.data_dir / "log"
        self.codec_url = f"http://{settings.api_host}:{settings.codec_server_port}"
        self.nats = NatsServer(
            port=settings.nats_port,
            monitor_port=settings.nats_monitor_port,
            store_dir=self.data_dir / "nats",
            log_path=logs / "nats.log",
        )
        self.temporal = TemporalDevServer(
            port=settings.temporal_port,
            ui_port=settings.temporal_ui_port,
            db_path=self.data_dir / "temporal.db",
            log_path=logs / "temporal.log",
            ui_codec_endpoint=self.codec_url,
        )
        # localstripe signs the webhooks it sends with this; the payments service checks.
        self.webhook_secret = settings.stripe_webhook_secret or (
            f"whsec_development_{secrets.token_hex(16)}"
        )
        self.localstripe = (
            LocalStripe(
                port=settings.localstripe_port,
                store_path=self.data_dir / "localstripe.pickle",
                log_path=logs / "localstripe.log",
            )
            if settings.uses_localstripe
            else None
        )
        # Development's mail server, in this process: every e-mail a file of var/mail/new/.
        self.maildir = self.data_dir / "mail"
        self.mail_catcher = (
            MailCatcher(
                host=settings.api_host,
                port=settings.mail_catcher_port,
                maildir=self.maildir,
                log_path=logs / "mail-catcher.log",
            )
            if not settings.smtp_url
            else None
        )
        env = self.child_env()
        # The API process serves the Temporal Web UI's codec endpoint too, on its own port
        # (a process of its own cost about 110 MiB); deployments run `ticketing codec-server`.
        self.api = ManagedProcess(
            name="api",
            command=[
                sys.executable,
                "-m",
                "devstack.api_main",
                api_app,
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
                "--codec-port",
                str(settings.codec_server_port),
            ],
            ready_port=settings.api_port,
            host=settings.api_host,
            env=env,
        )
        # Each worker process on a health port of its own (where its /metrics is), from
        # WORKER_HEALTH_PORT up; 0: none.
        self.worker_health_ports = [
            settings.worker_health_port + i if settings.worker_health_port else 0
            for i in range(len(worker_commands))
        ]
        self.workers = [
            ManagedProcess(
                name=f"worker {i}",
                command=list(command),
                env={**env, "WORKER_HEALTH_PORT": str(port)},
            )
            for i, (command, port) in enumerate(
                zip(worker_commands, self.worker_health_ports, strict=True), start=1
            )
        ]
        self.started: list[ManagedProcess | MailCatcher] = []

    def child_env(self) -> dict[str, str]:
        env = {
            "NATS_URL": self.nats.url,
            "TEMPORAL_ADDRESS": self.temporal.address,
            "DATA_DIR": str(self.data_dir),
        }
        if self.mail_catcher is not None:
            env["MAIL_CATCHER_PORT"] = str(self.settings.mail_catcher_port)
        if self.localstripe is not None:
            env["STRIPE_API_BASE"] = self.localstripe.url
            env["STRIPE_WEBHOOK_SECRET"] = self.webhook_secret
        return env

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def urls(self) -> dict[str, str]:
        base = self.api_url
        urls = {
            "Web shop": f"{base}/",
            "API": f"{base}/api",
            "Temporal Web UI": self.temporal.ui_url,
            "Codec server": f"{self.codec_url} (decrypts payloads for the UI)",
            "NATS": f"{self.nats.url} (monitoring {self.nats.monitor_url})",
        }
        if self.localstripe is not None:
            urls["localstripe"] = self.localstripe.url
        if self.mail_catcher is not None:
            urls["Mail (sent)"] = f"{self.maildir / 'new'} (one file per e-mail)"
        urls["API metrics"] = f"{base}/metrics"
        for i, port in enumerate(self.worker_health_ports, start=1):
            if port:
                name = "Worker metrics" if len(self.workers) == 1 else f"Worker {i} metrics"
                urls[name] = f"http://{self.settings.worker_health_host}:{port}/metrics"
        urls["data"] = str(self.data_dir)
        return urls

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        servers: list[NatsServer | TemporalDevServer | LocalStripe] = [self.nats, self.temporal]
        if self.localstripe is not None:
            servers.append(self.localstripe)
        # Recorded before starting, so a Ctrl-C in the middle of a start still stops it.
        for server in servers:
            self.started.append(server.process)
            server.start()
        if self.localstripe is not None:
            webhook = f"{self.api_url}/api/payments/webhook"
            self.localstripe.send_webhooks(webhook, self.webhook_secret)
        if self.mail_catcher is not None:
            self.started.append(self.mail_catcher)
            self.mail_catcher.start()
        for process in [self.api, *self.workers]:
            self.started.append(process)
            process.start()

    def stop(self) -> None:
        # Reverse order: the API and workers still flush to the bus while they stop.
        while self.started:
            self.started.pop().stop()

    def first_dead(self) -> ManagedProcess | MailCatcher | None:
        return next((process for process in self.started if not process.running()), None)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(settings: Settings, *, api_app: str = DEFAULT_API_APP) -> int:
    """Runs the stack until Ctrl-C or SIGTERM; the exit code is 1 if a process died."""
    stack = Stack(settings, api_app=api_app)
    # SIGINT explicitly too: a shell starting us in the background leaves it ignored.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        stack.start()
        print("Ticketing is up:")
        for name, url in stack.urls().items():
            print(f"  {name:<18}{url}")
        print("Press Ctrl-C to stop.", flush=True)
        while (dead := stack.first_dead()) is None:
            time.sleep(0.5)
        print(f"{dead.name} exited; stopping.\n{dead.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave orphans.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping...", flush=True)
        stack.stop()
