"""The system as compose runs it, from parts this machine runs without containers:
Debian's nginx configured from docker/nginx.conf (only its upstreams' addresses and its
port written in), two auth API processes behind it, the web shop (calling the API
through nginx, as compose's does), and redis-server as the limits' shared store; every
process with compose's production settings. Visitors connect from loopback addresses of
their own (127.0.0.2, 127.0.0.3, ...), as distinct machines would."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.process import ManagedProcess
from tests.auth.test_production_settings import key_pair
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "docker" / "nginx.conf"
# Loopback is nginx's address as the services see it (compose: the gateway's), and the
# shop's (compose: the web container's): the proxies they trust.
PROXIES = "127.0.0.1"
SIGNIN_LIMIT = 4
API_COPIES = 2


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        raise RuntimeError("no nginx: apt-get install nginx (.ci/run does)")
    return found


def nginx_server_block(api_ports: list[int], web_port: int, port: int) -> str:
    """docker/nginx.conf with this machine's addresses: every API upstream to the API
    processes (only auth's routes answer there), the shop's to the shop, and its port."""
    conf = NGINX_CONF.read_text()
    apis = " ".join(f"server 127.0.0.1:{api};" for api in api_ports)
    conf, count = re.subn(r"server (auth|tickets|orders|payments|notifications):8000;", apis, conf)
    assert count == 5, "docker/nginx.conf: an upstream per service"
    conf = conf.replace("server web:8000;", f"server 127.0.0.1:{web_port};")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    return conf


@dataclass
class Deployment:
    root: Path
    redis_url: str
    nats_url: str
    port: int = field(default_factory=free_port)
    api_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(API_COPIES)])
    web_port: int = field(default_factory=free_port)
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        private, public = key_pair()
        keys = self.root / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        (keys / "private.pem").write_text(private)
        (keys / "public.pem").write_text(public)
        # What compose gives every API process (docker/compose.yaml's x-app), here.
        return {
            "ENVIRONMENT": "production",
            "AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{self.root / 'auth.db'}",
            "NATS_URL": self.nats_url,
            "JWT_PUBLIC_KEY": str(keys / "public.pem"),
            "JWT_PRIVATE_KEY": str(keys / "private.pem"),
            "MIGRATE_ON_START": "false",
            "TRUSTED_PROXIES": PROXIES,
            "THROTTLE_STORAGE": self.redis_url,
            "REPLICAS": str(API_COPIES),
            "SIGNIN_ATTEMPTS_PER_ADDRESS": f"{SIGNIN_LIMIT}/minute",
            "LOG_FORMAT": "text",
            "DATA_DIR": str(self.root),
        }

    def start(self) -> None:
        env = self.env()
        subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate", "auth"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )
        # Ports are taken afresh, now, and nginx's is bound at once: a port chosen before
        # the migration could be taken meanwhile by a server of the other test process.
        self.port = free_port()
        self.api_ports = [free_port() for _ in range(API_COPIES)]
        self.web_port = free_port()
        self._start_nginx()
        for index, port in enumerate(self.api_ports, start=1):
            self._start(
                f"auth {index}",
                ["serve", "auth", "--host", "127.0.0.1", "--port", str(port)],
                port,
                env,
            )
        self._start(
            "web",
            ["serve", "web", "--host", "127.0.0.1", "--port", str(self.web_port)],
            self.web_port,
            {
                "ENVIRONMENT": "production",
                "WEB_API_URL": self.url,
                "STRIPE_PUBLISHABLE_KEY": "pk_test_deployed_shape",
                "WEB_CSRF_SECRET": secrets.token_urlsafe(32),
                "TRUSTED_PROXIES": PROXIES,
            },
        )

    def _start(self, name: str, args: list[str], port: int, env: dict[str, str]) -> None:
        process = ManagedProcess(
            name=name,
            command=[sys.executable, "-m", "services.cli", *args],
            ready_port=port,
            env=env,
            cwd=ROOT,
            log_path=self.root / "log" / f"{name.replace(' ', '-')}.log",
        )
        process.start()
        self.processes.append(process)

    def _start_nginx(self) -> None:
        prefix = self.root / "nginx"
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / temp).mkdir(parents=True, exist_ok=True)
        # As root, nginx's workers would run as nobody, who may not read under a test's
        # private temporary directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {nginx_server_block(self.api_ports, self.web_port, self.port)}
}}
"""
        )
        command = [nginx_binary(), "-p", str(prefix), "-e", str(prefix / "error.log")]
        process = ManagedProcess(
            name="nginx",
            command=[*command, "-c", str(prefix / "nginx.conf")],
            ready_port=self.port,
            log_path=prefix / "nginx.out",
        )
        process.start()
        self.processes.append(process)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def visitor(self, address: str) -> httpx.AsyncClient:
        """A client connecting from ``address`` (a loopback address of its own)."""
        transport = httpx.AsyncHTTPTransport(local_address=address)
        return httpx.AsyncClient(transport=transport, base_url=self.url, timeout=30.0)

    def api(self, index: int) -> httpx.AsyncClient:
        """One API process, straight (its /metrics)."""
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.api_ports[index]}")
