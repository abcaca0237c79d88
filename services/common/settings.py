"""Settings for every process, read from the environment (pydantic-settings).

One ``Settings`` object serves the whole stack: the services, the workers and the
embedded runner. Development defaults let ``make run`` work on a fresh machine; outside
development the defaults that would be unsafe (generated signing keys) are refused.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ServiceName = Literal["auth", "tickets", "orders", "payments", "notifications"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("auth", "tickets", "orders", "payments", "notifications")


# Whom TRUSTED_PROXIES names by default: only this machine (uvicorn's own default).
LOOPBACK: tuple[str, ...] = ("127.0.0.1", "::1")


def split_list(value: object) -> object:
    """A list setting as the environment gives it: a JSON list or comma-separated."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def parse_trusted_proxies(entries: list[str]) -> list[str]:
    """TRUSTED_PROXIES, each an address or a network (``10.0.0.0/8``), or ``*``."""
    for entry in entries:
        if entry.strip() == "*":
            continue
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES: {entry!r} is neither an address nor a network"
            ) from None
    return [entry.strip() for entry in entries]


def refuse_trusting_anyone(trusted_proxies: list[str], *, production: bool) -> None:
    # With `*` the client names itself: X-Forwarded-For's leftmost entry, whatever it says.
    if production and "*" in trusted_proxies:
        raise ValueError(
            "TRUSTED_PROXIES=* is refused in production: name the proxies' addresses or networks"
        )


# TRUSTED_PROXIES, in the services' settings and the web shop's alike.
TrustedProxies = Annotated[
    list[str], NoDecode, BeforeValidator(split_list), AfterValidator(parse_trusted_proxies)
]


class Environment(StrEnum):
    """Development runs on generated keys and localstripe; production, on configured
    ones. There is no third: a deployment that tests is a production deployment."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    # An empty variable counts as unset (compose passes optional ones through empty).
    # A refused value is not echoed: it may be a key (PAYLOAD_KEYS, JWT_*) bound for a log.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")

    # Databases. `<SERVICE>_DATABASE_URL` wins; then `DATABASE_URL`, where `{service}`
    # is replaced by the service name (one database per service); then a SQLite file.
    database_url: str | None = None
    auth_database_url: str | None = None
    tickets_database_url: str | None = None
    orders_database_url: str | None = None
    payments_database_url: str | None = None
    notifications_database_url: str | None = None

    # How SQLite is driven: "inline" on the event loop's thread (measured faster), or
    # "aiosqlite" on its own thread (services.common.data.db).
    sqlite_driver: Literal["inline", "aiosqlite"] = "inline"

    nats_url: str = "nats://127.0.0.1:4222"
    events_stream: str = "EVENTS"
    # How long JetStream remembers a Nats-Msg-Id to drop a republished event.
    events_duplicate_window_seconds: float = 120.0
    # What the stream keeps at most (the oldest dropped first): a week, and 10 GiB. A
    # consumer down for a day still finds every event it missed; a flood of writes
    # cannot fill the server's disk. 0 (age) or -1 (bytes): no bound.
    events_max_age_seconds: float = Field(default=7 * 24 * 60 * 60, ge=0)
    events_max_bytes: int = Field(default=10 * 1024**3, ge=-1)
    # Published outbox rows are deleted once they are this old (the stream has them).
    outbox_retention_seconds: int = Field(default=7 * 24 * 60 * 60, ge=60)
    consumer_ack_wait_seconds: float = 30.0
    # -1: never give an event up (see services.common.messaging.consumers). A bound drops an event
    # after that many deliveries, leaving its replica behind for good.
    consumer_max_deliver: int = Field(default=-1, ge=-1)

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # A real cluster's Temporal: TLS (on by itself with a client certificate or an API
    # key), a client certificate and key (mTLS, self-hosted or Temporal Cloud), a CA for
    # a private server certificate (PEM file paths), or a Temporal Cloud API key.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: str | None = None
    # How long a service waits for Temporal (and the worker a call needs) to take a call:
    # past it the API answers 503 with Retry-After, and undoes what it began. Well above
    # a loaded stack's slowest answers (50 buyers at once on 2 cores: order p99 about
    # 5 s), so that it tells an outage, not a busy minute.
    temporal_call_timeout_seconds: float = Field(default=10.0, gt=0)
    # Orders left "created" by a process stopped between saving one and starting its
    # saga (services.orders.unstarted_orders): looked for this often, and cancelled once
    # this old if Temporal has no saga for them.
    unstarted_order_sweep_seconds: float = Field(default=30.0, gt=0)
    unstarted_order_age_seconds: float = Field(default=120.0, gt=0)
    # How long POST /api/payments waits for a charge the saga has taken on: past it, 503
    # with Retry-After (the charge goes on; the same Idempotency-Key gets its answer).
    payment_answer_timeout_seconds: float = Field(default=60.0, gt=0)
    # Temporal payloads are encrypted (AES-256-GCM, services.common.payload_codec) with the
    # first of these keys and decrypted with whichever one a payload names, so a key
    # rotates by going first while the old ones stay for the histories they encrypted.
    # Each `id:base64 of 32 random bytes`, a JSON list or comma-separated. Generated under
    # data_dir in development; elsewhere required by every process that uses Temporal.
    payload_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # `ticketing codec-server`, the Temporal Web UI's codec endpoint: its port, and the
    # UI origins whose pages may call it (default: the embedded stack's UI).
    # Entry codes (services.tickets.entry_codes): signed with the first of these keys
    # (HMAC-SHA256), checked with whichever one a code names, so a key rotates like
    # PAYLOAD_KEYS. Each `id:base64 of 32 random bytes`; generated under data_dir in
    # development, required by the tickets service elsewhere.
    entry_code_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    codec_server_port: int = Field(default=8234, ge=1, le=65535)
    temporal_ui_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # NATS beyond one machine: a credentials file (NKey/JWT, `.creds`), and TLS with a
    # private CA and a client certificate (a `tls://` URL alone uses the system's CAs).
    # User and password may also ride in NATS_URL (nats://user:password@host:4222).
    nats_credentials: Path | None = None
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None

    # A worker process's health endpoints (/healthz, /readyz) for its probes; 0: none.
    # Loopback by default; a container sets 0.0.0.0 so that the kubelet reaches it.
    worker_health_host: str = "127.0.0.1"
    worker_health_port: int = Field(default=9000, ge=0, le=65535)

    # Traces (services.common.observability.tracing): exported over OTLP/HTTP to this
    # collector (e.g. http://otel-collector:4318) when set; off, and free, when unset.
    # The service name defaults to the process's role (orders, worker-orders, gateway).
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str | None = None
    # Log lines (services.common.observability.logging): JSON objects outside
    # development, readable text in it, unless LOG_FORMAT says which.
    log_format: Literal["json", "text"] | None = None
    log_level: str = "INFO"

    # Tokens: Ed25519-signed JWTs. Only auth holds the private key; the other services
    # need only the public one. In development a key pair is generated under data_dir.
    jwt_private_key: str | None = None
    jwt_public_key: str | None = None
    jwt_expires_seconds: int = 60 * 60
    # Who mints the tokens and for whom (their iss and aud): another deployment's tokens
    # are refused even where it shares a key. JWT_PUBLIC_KEY may hold several keys while
    # one rotates (services.common.identity.tokens).
    jwt_issuer: str = "ticketing"
    jwt_audience: str = "ticketing"
    # A session's absolute lifetime: its tokens slide while it is active, never past this.
    session_max_seconds: int = Field(default=7 * 24 * 60 * 60, ge=60)
    # Origins besides the request's own host from which a browser may send a cookie-signed
    # POST, PUT or DELETE (a front end served elsewhere), e.g. https://shop.example.com:
    # a JSON list or comma-separated. Admins are a role in auth's database, not a setting.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # scrypt's cost as log2 of N (r=8, p=1; services.auth.passwords). 17 is OWASP's
    # minimum, about 0.3 s of one core and 128 MiB a hash; lower only for tests and
    # benchmarks (refused in production). Older hashes are upgraded at sign-in.
    password_hash_cost: int = Field(default=17, ge=4, le=20)

    stripe_secret_key: str | None = None
    stripe_api_base: str = "http://127.0.0.1:8420"
    # The webhook endpoint's signing secret (whsec_...): Stripe's events reach
    # POST /api/payments/webhook only with it. `ticketing up` makes one for localstripe.
    stripe_webhook_secret: str | None = None
    # How long past the payment window a card authentication (3-D Secure) begun inside
    # it may still finish; then the saga asks Stripe and cancels what is unfinished.
    payment_authentication_grace_seconds: int = Field(default=120, ge=0)

    # E-mail (services.notifications): the SMTP server, as smtp://[user:password@]host:port
    # (smtps:// for TLS from the start; STARTTLS is used whenever the server offers it).
    # Unset in development: the embedded stack's mail catcher on MAIL_CATCHER_PORT.
    smtp_url: str | None = None
    mail_from: str = "Ticketing <tickets@localhost>"
    # Where the links in e-mails point: the shop's public base URL.
    public_url: str = "http://127.0.0.1:8000"
    mail_catcher_port: int = Field(default=8025, ge=1, le=65535)

    order_expiration_seconds: int = 15 * 60
    # Orders one buyer may hold unpaid at once, so that one account cannot lock the
    # catalogue.
    max_open_orders_per_buyer: int = Field(default=3, ge=1)
    # Against holding tickets by cancelling and ordering again: after a buyer's order of
    # a ticket ends unpaid (cancelled or expired), they may order that ticket again only
    # this long after its window would have ended (unset: one payment window); and a
    # buyer's orders that end unpaid are at most this many in a day.
    order_cooldown_seconds: int | None = Field(default=None, ge=0)
    unpaid_orders_per_buyer_per_day: int = Field(default=10, ge=1)
    # A holder's resale may ask at most this many percent above what they paid (0: face
    # value); unset, no cap.
    resale_price_cap_percent: int | None = Field(default=None, ge=0)

    # The proxies in front of this process whose X-Forwarded-For (and -Proto) are
    # believed: addresses or CIDRs, comma-separated or a JSON list. The client is the
    # rightmost X-Forwarded-For hop that is none of them (services.common.http.forwarded).
    # Loopback by default; a deployment names its nginx / ingress and web-shop networks.
    # `*` (anyone may say who the client is) is refused in production.
    trusted_proxies: TrustedProxies = Field(default_factory=lambda: list(LOOPBACK))

    # Throttles (services.common.http.throttle): each limit in the `limits` notation.
    throttling: bool = True
    # Where the counts live: in the process (memory://), or in Redis (redis://host:6379/0)
    # that every replica of every service shares.
    throttle_storage: str = "memory://"
    # How many copies of this process the deployment runs at most (the chart sets each
    # API's HPA maximum): above 1, production refuses counts kept in the process, which
    # would let a visitor spread attempts over the replicas.
    replicas: int = Field(default=1, ge=1)
    signin_attempts_per_address: str = "30/minute"
    # Past this many wrong passwords the account's sign-in is locked until the window ends.
    signin_failures_per_account: str = "5/15 minutes"
    signups_per_address: str = "10/hour"
    # Tries at changing one's password (each checks the current one).
    password_changes_per_user: str = "5/15 minutes"
    orders_per_buyer: str = "20/minute"
    # Every listing and edit is an outbox row, an event and a replica update: a bound per
    # seller on each.
    listings_per_seller: str = "60/hour"
    ticket_edits_per_seller: str = "120/hour"
    payment_attempts_per_buyer: str = "10/minute"
    # Card testing: tries for one order, and declined cards for one buyer in an hour.
    payment_attempts_per_order: int = Field(default=5, ge=1)
    declines_per_buyer_per_hour: int = Field(default=10, ge=1)
    # Card testing over many accounts: declined cards (and 3-D Secure challenges) per
    # client address, and across the whole site, past which card payments pause (503).
    declines_per_address: str = "20/hour"
    site_declines: str = "200/10 minutes"
    # scrypt runs at most this many at once; more sign-ins than ``hash_queue`` waiting
    # for one are told to come back (503) rather than queued without bound.
    concurrent_hashes: int = Field(default=2, ge=1)
    hash_queue: int = Field(default=32, ge=0)
    # Requests held waiting for a change (Prefer: wait): in all, and per user.
    max_waiting_requests: int = Field(default=1000, ge=1)
    max_waiting_requests_per_user: int = Field(default=5, ge=1)

    # Bodies over this size are refused (413) before any route parses them.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Apply the service's Alembic migrations when it starts (convenient for one
    # process per service; a multi-replica deployment runs `ticketing migrate` first).
    migrate_on_start: bool = True

    # The embedded stack (`ticketing up`).
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    localstripe_port: int = 8420

    @field_validator(
        "allowed_origins", "payload_keys", "entry_code_keys", "temporal_ui_origins", mode="before"
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        return split_list(value)

    @field_validator("allowed_origins", "temporal_ui_origins", mode="after")
    @classmethod
    def _bare_origins(cls, origins: list[str]) -> list[str]:
        # As browsers send them: scheme://host[:port], lower-case, no path or slash.
        return [origin.strip().rstrip("/").lower() for origin in origins]

    @field_validator("payload_keys", mode="after")
    @classmethod
    def _payload_keys_parse(cls, entries: list[str]) -> list[str]:
        # Refused when the process starts, not at its first purchase.
        ids = [parse_payload_key(entry)[0] for entry in entries]
        if len(set(ids)) != len(ids):
            raise ValueError("PAYLOAD_KEYS: each key id once")
        return [entry.strip() for entry in entries]

    @field_validator("entry_code_keys", mode="after")
    @classmethod
    def _entry_code_keys_parse(cls, entries: list[str]) -> list[str]:
        ids = [parse_payload_key(entry, setting="ENTRY_CODE_KEYS")[0] for entry in entries]
        if len(set(ids)) != len(ids):
            raise ValueError("ENTRY_CODE_KEYS: each key id once")
        return [entry.strip() for entry in entries]

    @property
    def codec_server_origins(self) -> list[str]:
        return self.temporal_ui_origins or [
            f"http://{host}:{self.temporal_ui_port}" for host in ("127.0.0.1", "localhost")
        ]

    @property
    def order_cooldown(self) -> int:
        if self.order_cooldown_seconds is None:
            return self.order_expiration_seconds
        return self.order_cooldown_seconds

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def is_production(self) -> bool:
        """Configured keys and Stripe, Secure cookies: every environment but development."""
        return not self.is_development

    @property
    def uses_localstripe(self) -> bool:
        return not self.stripe_secret_key

    def database_url_for(self, service: ServiceName) -> str:
        specific: str | None = getattr(self, f"{service}_database_url")
        if specific:
            return specific
        if self.database_url:
            return self.database_url.replace("{service}", service)
        return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"

    @model_validator(mode="after")
    def _refuse_generated_secrets_in_production(self) -> Settings:
        if self.is_production and not self.jwt_public_key:
            raise ValueError("JWT_PUBLIC_KEY must be set in production")
        if self.is_production and self.password_hash_cost < 17:
            raise ValueError("PASSWORD_HASH_COST below 17 (N=2^17) is refused in production")
        return self

    @model_validator(mode="after")
    def _throttles_stay_on_in_production(self) -> Settings:
        if self.is_production and not self.throttling:
            raise ValueError("THROTTLING=false is refused in production")
        return self

    @model_validator(mode="after")
    def _replicas_share_their_counts_in_production(self) -> Settings:
        in_process = self.throttle_storage.removeprefix("async+").startswith("memory")
        if self.is_production and self.replicas > 1 and in_process:
            raise ValueError(
                "THROTTLE_STORAGE=memory:// is refused in production with REPLICAS above 1:"
                " each replica would count on its own (use redis://...)"
            )
        return self

    @model_validator(mode="after")
    def _unstarted_orders_outlive_their_request(self) -> Settings:
        # A request waits up to the deadline to start a saga, and as long again to undo
        # its order: an order younger than that may still be its request's to end.
        if self.unstarted_order_age_seconds < 3 * self.temporal_call_timeout_seconds:
            raise ValueError(
                "UNSTARTED_ORDER_AGE_SECONDS must be at least 3 x TEMPORAL_CALL_TIMEOUT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _proxies_named_in_production(self) -> Settings:
        refuse_trusting_anyone(self.trusted_proxies, production=self.is_production)
        return self


def parse_payload_key(entry: str, setting: str = "PAYLOAD_KEYS") -> tuple[str, bytes]:
    """One of PAYLOAD_KEYS (or ENTRY_CODE_KEYS), ``id:base64``: its id and its 32 bytes."""
    key_id, colon, encoded = entry.strip().partition(":")
    if not colon or not key_id:
        raise ValueError(f"{setting}: each key is id:base64 (e.g. 2026-12:...)")
    try:
        secret = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError(f"{setting}: key {key_id!r} is not base64") from None
    if len(secret) != 32:
        raise ValueError(f"{setting}: key {key_id!r} has {len(secret)} bytes, not 32")
    return key_id, secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
