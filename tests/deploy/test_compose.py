"""docker/compose.yaml, read as compose reads it (anchors and merge keys resolved by the
YAML loader): what its processes are told about the proxies in front of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"
APIS = ("auth", "tickets", "orders", "payments", "notifications")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def address(compose: dict[str, Any], service: str) -> str:
    found: str = compose["services"][service]["networks"]["default"]["ipv4_address"]
    return found


def environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    env: dict[str, str] = compose["services"][service]["environment"]
    return env


def test_the_apis_believe_the_gateway_and_the_shop_alone(compose: dict[str, Any]) -> None:
    gateway, web = address(compose, "gateway"), address(compose, "web")
    (subnet,) = compose["networks"]["default"]["ipam"]["config"]
    prefix = subnet["subnet"].rsplit(".", 1)[0]
    assert gateway.startswith(prefix) and web.startswith(prefix)
    for api in APIS:
        trusted = environment(compose, api)["TRUSTED_PROXIES"].split(",")
        assert sorted(trusted) == sorted([gateway, web]), api
    assert environment(compose, "web")["TRUSTED_PROXIES"] == gateway


def test_the_gateway_appends_the_peer_and_keeps_the_host(compose: dict[str, Any]) -> None:
    conf = (COMPOSE.parent / "nginx.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert "Host $http_host" in conf


def test_every_api_counts_in_the_one_redis(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    for api in APIS:
        assert environment(compose, api)["THROTTLE_STORAGE"] == "redis://redis:6379/0", api
        assert "redis" in compose["services"][api]["depends_on"], api


def test_the_new_keys_reach_only_who_needs_them(compose: dict[str, Any]) -> None:
    for service in ("tickets", "tickets-worker"):
        assert environment(compose, service)["ENTRY_CODE_KEYS"] == "${ENTRY_CODE_KEYS}"
    assert environment(compose, "notifications")["SMTP_URL"] == "${SMTP_URL}"
    for service in ("auth", "orders", "payments", "notifications"):
        assert "ENTRY_CODE_KEYS" not in environment(compose, service), service
    assert "notifications" in compose["services"]["migrate"]["entrypoint"][2]
    conf = (COMPOSE.parent / "nginx.conf").read_text()
    assert "location /api/notifications { proxy_pass http://notifications; }" in conf
    init = (COMPOSE.parent / "postgres-init.sql").read_text()
    assert "CREATE DATABASE notifications;" in init


def test_compose_lets_each_worker_finish_its_longest_activity(compose: dict[str, Any]) -> None:
    from worker.main import SHUTDOWN_GRACE

    for worker in ("tickets-worker", "orders-worker", "payments-worker"):
        grace = compose["services"][worker]["stop_grace_period"]
        assert grace.endswith("m"), grace
        assert int(grace[:-1]) * 60 > SHUTDOWN_GRACE.total_seconds(), worker


def test_the_shop_signs_its_form_tokens_with_a_secret_of_the_operators(
    compose: dict[str, Any],
) -> None:
    assert environment(compose, "web")["WEB_CSRF_SECRET"] == "${WEB_CSRF_SECRET}"


def test_the_codec_server_is_reachable_from_the_operators_loopback_alone(
    compose: dict[str, Any],
) -> None:
    """It decrypts and encrypts for whoever calls it: nothing on the shop's network may."""
    codec = compose["services"]["codec-server"]
    assert codec["networks"] == ["codec"]
    assert all(port.startswith("127.0.0.1:") for port in codec["ports"])
    for name, service in compose["services"].items():
        if name != "codec-server":
            assert "codec" not in service.get("networks", {}), name
