"""The Helm chart (docker/helm/ticketing), checked without a cluster: rendered by Helm's
own engine (helm-python-sdk, no helm binary) with its default values, with the
production example, and with mTLS to Temporal; every object validated against a
current Kubernetes' schemas (kubernetes-validate, strict); then what must hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from services.common.settings import Settings
from tests.auth.test_production_settings import key_pair
from worker.main import SHUTDOWN_GRACE

CHART = Path(__file__).resolve().parents[2] / "docker" / "helm" / "ticketing"
KUBERNETES = "1.37.0"
RELEASE = "shop"
FULLNAME = "shop-ticketing"

# The Secrets an operator creates first, with recognisable fake values: the chart may
# name them, never carry their values.
SECRETS: dict[str, dict[str, str]] = {
    "ticketing-jwt-private": {"private.pem": "FAKE-JWT-PRIVATE-KEY-0xDEADBEEF"},
    "ticketing-jwt-public": {"public.pem": "FAKE-JWT-PUBLIC-KEY-0xFEEDFACE"},
    "ticketing-stripe": {
        "secret-key": "sk_live_FAKE0000000000000000",
        "webhook-secret": "whsec_FAKE0000000000000000",
    },
    "ticketing-payload-keys": {"payload-keys": "FAKE-PAYLOAD-KEY:RkFLRQ=="},
    "ticketing-entry-code-keys": {"entry-code-keys": "FAKE-ENTRY-CODE-KEY:RkFLRQ=="},
    "ticketing-smtp": {"url": "smtp://ticketing:FAKE-SMTP-PASSWORD@mail:587"},
    "ticketing-databases": {
        service: f"postgresql+asyncpg://{service}:FAKE-DB-PASSWORD-{service}@db/{service}"
        for service in ("auth", "tickets", "orders", "payments", "notifications")
    },
    "ticketing-nats": {"url": "nats://ticketing:FAKE-NATS-PASSWORD@nats:4222"},
    "temporal-cloud": {"api-key": "FAKE-TEMPORAL-API-KEY"},
    "temporal-client-cert": {"tls.crt": "FAKE-TEMPORAL-CERT", "tls.key": "FAKE-TEMPORAL-KEY"},
    "temporal-ca": {"ca.crt": "FAKE-TEMPORAL-CA"},
    "nats-client": {
        "nats.creds": "FAKE-NATS-CREDS",
        "ca.crt": "FAKE-NATS-CA",
        "tls.crt": "FAKE-NATS-CERT",
        "tls.key": "FAKE-NATS-KEY",
    },
    "ticketing-tls": {"tls.crt": "FAKE-INGRESS-CERT", "tls.key": "FAKE-INGRESS-KEY"},
    "shop-example-com-tls": {"tls.crt": "FAKE-INGRESS-CERT", "tls.key": "FAKE-INGRESS-KEY"},
    "registry-credentials": {".dockerconfigjson": "FAKE-REGISTRY-AUTH"},
    "ticketing-throttle-store": {"url": "rediss://:FAKE-REDIS-PASSWORD@redis:6380/0"},
    "ticketing-web": {"csrf-secret": "FAKE-CSRF-SECRET-0000000000000000000"},
}
SECRET_VALUES = [value for keys in SECRETS.values() for value in keys.values()]

APIS = ("auth", "tickets", "orders", "payments", "notifications")
WORKERS = ("tickets-worker", "orders-worker", "payments-worker")
PREFIXES = {
    "/api/users": "auth",
    "/api/tickets": "tickets",
    "/api/events": "tickets",
    "/api/orders": "orders",
    "/api/payments": "payments",
    "/api/notifications": "notifications",
    "/": "web",
}
HOOK = "helm.sh/hook"
WEIGHT = "helm.sh/hook-weight"


def _production_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values-production.example.yaml").read_text())
    return values


def _mtls_values() -> dict[str, Any]:
    return {
        "temporal": {
            "tls": {"clientCertSecret": "temporal-client-cert", "caSecret": "temporal-ca"}
        },
        "nats": {
            "filesSecret": {
                "name": "nats-client",
                "credentialsKey": "nats.creds",
                "caKey": "ca.crt",
                "certKey": "tls.crt",
                "keyKey": "tls.key",
            }
        },
    }


class Rendered:
    """One render of the chart: its objects, and the text they came from."""

    def __init__(self, values: dict[str, Any] | None) -> None:
        with helm.Chart.load(CHART) as chart:
            manifests = chart.render(values, name=RELEASE, namespace="ticketing", is_install=True)
        self.text = "\n".join(manifests.values())
        self.objects = [
            document
            for text in manifests.values()
            for document in yaml.safe_load_all(text)
            if document
        ]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.objects if item["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [item for item in self.of_kind(kind) if item["metadata"]["name"] == name]
        return found

    def deployment(self, component: str) -> dict[str, Any]:
        return self.named("Deployment", f"{FULLNAME}-{component}")

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for item in self.of_kind("Deployment") + self.of_kind("Job"):
            yield item["metadata"]["name"], item["spec"]["template"]["spec"]


@pytest.fixture(scope="module", params=["default", "production", "mtls"])
def rendered(request: pytest.FixtureRequest) -> Rendered:
    values = {
        "default": None,
        "production": _production_values(),
        "mtls": _mtls_values(),
    }[request.param]
    return Rendered(values)


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod["containers"]
    container_: dict[str, Any] = container
    return container_


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _secret_names(pod: dict[str, Any]) -> set[str]:
    names = {
        volume["secret"]["secretName"] for volume in pod.get("volumes", []) if "secret" in volume
    }
    for container in pod["containers"]:
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    return names


def test_the_chart_lints_clean() -> None:
    report = helm.lint(CHART, strict=True, kube_version=f"v{KUBERNETES}")
    errors = [message for message in report["messages"] if message["severity"] >= 2]
    assert report["errors"] == [] and errors == [], report


def test_every_object_is_valid_for_a_current_kubernetes(rendered: Rendered) -> None:
    for item in rendered.objects:
        # SchemaNotFoundError too: an object of a kind Kubernetes does not know fails.
        kubernetes_validate.validate(item, KUBERNETES, strict=True)


def test_it_renders_every_part(rendered: Rendered) -> None:
    deployments = {item["metadata"]["name"] for item in rendered.of_kind("Deployment")}
    assert deployments == {f"{FULLNAME}-{c}" for c in (*APIS, "web", *WORKERS, "redis")}
    # The limits' store runs one copy: a restart only forgets counts of a few minutes.
    scaled = deployments - {f"{FULLNAME}-redis"}
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        targets = {item["metadata"]["name"] for item in rendered.of_kind(kind)}
        assert targets == scaled, kind
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    assert rendered.of_kind("Secret") == []


def test_every_deployment_is_probed_sized_and_unprivileged(rendered: Rendered) -> None:
    for item in rendered.of_kind("Deployment"):
        name = item["metadata"]["name"]
        pod = item["spec"]["template"]["spec"]
        container = _container(pod)
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            check = container[probe].get("httpGet") or container[probe]["tcpSocket"]
            assert check["port"] in ports, (name, probe)
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) >= {"cpu", "memory"}, (name, bound)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        tmp = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        assert any(
            mount["mountPath"] == "/tmp" and mount["name"] in tmp
            for mount in container["volumeMounts"]
        ), name


def test_apis_and_workers_answer_their_probes_where_they_listen(rendered: Rendered) -> None:
    settings = rendered.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    assert settings["MIGRATE_ON_START"] == "false"
    assert settings["WORKER_HEALTH_HOST"] == "0.0.0.0"
    for component in (*APIS, *WORKERS):
        container = _container(rendered.deployment(component)["spec"]["template"]["spec"])
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", component
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", component
        (port,) = container["ports"]
        if component in WORKERS:
            assert port == {
                "name": "health",
                "containerPort": int(settings["WORKER_HEALTH_PORT"]),
                "protocol": "TCP",
            }
            assert container["args"] == ["worker", component.removesuffix("-worker")]
        else:
            assert port["containerPort"] == 8000
            assert container["args"][:2] == ["serve", component]
        ref = container["envFrom"][0]["configMapRef"]["name"]
        assert ref == f"{FULLNAME}-settings"


def test_workers_get_longer_than_their_shutdown_grace(rendered: Rendered) -> None:
    for component in WORKERS:
        pod = rendered.deployment(component)["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > SHUTDOWN_GRACE.total_seconds()


def test_the_ingress_sends_each_prefix_to_its_service(rendered: Rendered) -> None:
    (ingress,) = rendered.of_kind("Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] in SECRETS
    (rule,) = ingress["spec"]["rules"]
    routes = {path["path"]: path for path in rule["http"]["paths"]}
    assert set(routes) == set(PREFIXES)
    for prefix, component in PREFIXES.items():
        route = routes[prefix]
        assert route["pathType"] == "Prefix"
        backend = route["backend"]["service"]
        assert backend["name"] == f"{FULLNAME}-{component}", prefix
        service = rendered.named("Service", backend["name"])
        (service_port,) = [
            port
            for port in service["spec"]["ports"]
            if port["name"] == backend["port"].get("name")
            or port["port"] == backend["port"].get("number")
        ]
        pod = rendered.deployment(component)["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), prefix
        target = {port["name"]: port for port in _container(pod["spec"])["ports"]}
        assert service_port["targetPort"] in target, prefix


def test_no_secret_value_is_rendered_and_every_secret_is_named(rendered: Rendered) -> None:
    for value in SECRET_VALUES:
        assert value not in rendered.text
    for name, pod in rendered.pod_specs():
        for secret in _secret_names(pod):
            assert secret in SECRETS, (name, secret)
        for entry in _container(pod).get("env", []):
            is_secret = entry["name"] in (
                "STRIPE_SECRET_KEY",
                "STRIPE_WEBHOOK_SECRET",
                "TEMPORAL_API_KEY",
                "PAYLOAD_KEYS",
                "WEB_CSRF_SECRET",
            )
            if is_secret or entry["name"].endswith("_DATABASE_URL"):
                assert "secretKeyRef" in entry.get("valueFrom", {}), (name, entry)
            # A URL with credentials comes from a Secret; a plain one may be a value.
            value = entry.get("value", "")
            assert "://" not in value or "@" not in value, (name, entry)
    for config in rendered.of_kind("ConfigMap"):
        assert not {
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "JWT_PRIVATE_KEY",
            "TEMPORAL_API_KEY",
            "PAYLOAD_KEYS",
        } & set(config["data"])
    for values_file in ("values.yaml", "values-production.example.yaml"):
        text = (CHART / values_file).read_text()
        assert "BEGIN" not in text and "sk_live_" not in text, values_file


def test_only_auth_holds_the_private_key_and_only_payments_the_stripe_key(
    rendered: Rendered,
) -> None:
    for name, pod in rendered.pod_specs():
        secrets = _secret_names(pod)
        env = _env(_container(pod))
        is_auth = name == f"{FULLNAME}-auth"
        assert ("ticketing-jwt-private" in secrets) is is_auth, name
        assert ("JWT_PRIVATE_KEY" in env) is is_auth, name
        is_payments = name in (f"{FULLNAME}-payments", f"{FULLNAME}-payments-worker")
        assert ("ticketing-stripe" in secrets) is is_payments, name
        if name == f"{FULLNAME}-web":
            # The shop holds the key of its form tokens, and nothing else.
            assert secrets == {"ticketing-web"}, name
            ref = env["WEB_CSRF_SECRET"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "ticketing-web", "key": "csrf-secret"}
        elif name == f"{FULLNAME}-redis":
            assert secrets == set(), name
        else:
            # Every service's process verifies tokens (and production requires the key).
            assert "ticketing-jwt-public" in secrets, name
            assert env["JWT_PUBLIC_KEY"]["value"].startswith("/etc/ticketing/"), name


def test_the_payload_keys_reach_exactly_the_pods_that_use_temporal(rendered: Rendered) -> None:
    uses_temporal = {
        f"{FULLNAME}-{component}"
        for component in ("tickets", "orders", "payments", *WORKERS, "search-attributes")
    }
    for name, pod in rendered.pod_specs():
        env = _env(_container(pod))
        assert ("PAYLOAD_KEYS" in env) is (name in uses_temporal), name
        if name in uses_temporal:
            ref = env["PAYLOAD_KEYS"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "ticketing-payload-keys", "key": "payload-keys"}, name


def test_temporal_credentials_reach_every_worker(rendered: Rendered) -> None:
    settings = rendered.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    for component in WORKERS:
        pod = rendered.deployment(component)["spec"]["template"]["spec"]
        env = _env(_container(pod))
        secrets = _secret_names(pod)
        if settings["TEMPORAL_ADDRESS"].endswith("tmprl.cloud:7233"):
            assert settings["TEMPORAL_TLS"] == "true"
            assert env["TEMPORAL_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "temporal-cloud"
        if "temporal-client-cert" in json.dumps(pod):
            assert {"temporal-client-cert", "temporal-ca"} <= secrets
            assert env["TEMPORAL_TLS_CERT"]["value"].startswith("/etc/ticketing/temporal-tls/")
            assert env["TEMPORAL_TLS_CA"]["value"].startswith("/etc/ticketing/temporal-ca/")


def test_nats_credentials_and_tls_reach_every_process_that_uses_nats(rendered: Rendered) -> None:
    for component in ("auth", "tickets", "orders", "payments", *WORKERS):
        pod = rendered.deployment(component)["spec"]["template"]["spec"]
        env = _env(_container(pod))
        if "nats-client" not in _secret_names(pod):
            assert "NATS_CREDENTIALS" not in env
            continue
        assert env["NATS_CREDENTIALS"]["value"] == "/etc/ticketing/nats/nats.creds"
        assert env["NATS_TLS_CA"]["value"] == "/etc/ticketing/nats/ca.crt"
        assert (env["NATS_TLS_CERT"]["value"], env["NATS_TLS_KEY"]["value"]) == (
            "/etc/ticketing/nats/tls.crt",
            "/etc/ticketing/nats/tls.key",
        )
        mounts = {mount["name"]: mount for mount in _container(pod)["volumeMounts"]}
        assert mounts["nats-files"]["mountPath"] == "/etc/ticketing/nats"


def test_migrations_run_first_as_install_and_upgrade_hooks(rendered: Rendered) -> None:
    hooks = [item for item in rendered.objects if HOOK in item["metadata"].get("annotations", {})]
    migrations = [
        item for item in hooks if item["metadata"]["name"].startswith(f"{FULLNAME}-migrate-")
    ]
    assert sorted(
        _container(m["spec"]["template"]["spec"])["args"][1] for m in migrations
    ) == sorted(APIS)
    others = [item for item in hooks if item not in migrations]
    assert [item["metadata"]["name"] for item in others] == [f"{FULLNAME}-search-attributes"]
    for migration in migrations:
        annotations = migration["metadata"]["annotations"]
        assert set(annotations[HOOK].split(",")) == {"pre-install", "pre-upgrade"}
        for other in others:
            assert int(annotations[WEIGHT]) < int(other["metadata"]["annotations"][WEIGHT])
    # Nothing else is a hook: the Deployments roll only after the hooks succeeded.
    for item in rendered.objects:
        if item["kind"] != "Job":
            assert HOOK not in item["metadata"].get("annotations", {}), item["metadata"]["name"]


def test_network_policies_shut_everything_else_out(rendered: Rendered) -> None:
    policies = {
        item["metadata"]["name"]: item["spec"] for item in rendered.of_kind("NetworkPolicy")
    }
    deny = policies[f"{FULLNAME}-default-deny"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": RELEASE}}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    (dns,) = deny["egress"]
    assert {port["port"] for port in dns["ports"]} == {53}
    # Besides Prometheus to /metrics (test_metrics_and_traces_...), only the ingress
    # controller gets in, and the web shop into the APIs.
    ingress_rules = {
        name: spec
        for name, spec in policies.items()
        if spec.get("ingress") and name != f"{FULLNAME}-from-prometheus"
    }
    assert set(ingress_rules) == {
        f"{FULLNAME}-from-ingress",
        f"{FULLNAME}-api-from-web",
        f"{FULLNAME}-redis-from-api",
    }
    (from_apis,) = ingress_rules[f"{FULLNAME}-redis-from-api"]["ingress"]
    assert from_apis["from"][0]["podSelector"]["matchExpressions"][1]["values"] == ["api"]
    tiers = ingress_rules[f"{FULLNAME}-from-ingress"]["podSelector"]["matchExpressions"][1]
    assert tiers == {"key": "ticketing/tier", "operator": "In", "values": ["api", "web"]}
    from_web = ingress_rules[f"{FULLNAME}-api-from-web"]
    assert from_web["podSelector"]["matchExpressions"][1]["values"] == ["api"]
    (rule,) = from_web["ingress"]
    web_labels = rendered.deployment("web")["spec"]["template"]["metadata"]["labels"]
    assert rule["from"][0]["podSelector"]["matchLabels"].items() <= web_labels.items()
    (egress,) = policies[f"{FULLNAME}-web-to-api"]["egress"]
    assert egress["to"][0]["podSelector"]["matchExpressions"][1]["values"] == ["api"]


def test_metrics_and_traces_reach_prometheus_and_the_collector_only_where_named() -> None:
    def policies(rendered: Rendered) -> dict[str, dict[str, Any]]:
        return {
            item["metadata"]["name"]: item["spec"] for item in rendered.of_kind("NetworkPolicy")
        }

    default = Rendered(None)
    assert f"{FULLNAME}-from-prometheus" not in policies(default)
    assert f"{FULLNAME}-to-otel-collector" not in policies(default)
    settings = default.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in settings
    assert settings["LOG_LEVEL"] == "INFO"

    production = Rendered(_production_values())
    named = policies(production)
    scrape = named[f"{FULLNAME}-from-prometheus"]
    (rule,) = scrape["ingress"]
    assert rule["from"]
    assert {port["port"] for port in rule["ports"]} == {"http", "health"}
    tiers = scrape["podSelector"]["matchExpressions"][1]
    assert tiers == {"key": "ticketing/tier", "operator": "In", "values": ["api", "worker"]}
    (egress,) = named[f"{FULLNAME}-to-otel-collector"]["egress"]
    assert egress["to"] and [port["port"] for port in egress["ports"]] == [4318]
    settings = production.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    assert settings["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector.")
    # Each API and worker pod says where its /metrics is: the port it listens on.
    for component in (*APIS, *WORKERS):
        template = production.deployment(component)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        ports = {port["containerPort"] for port in _container(template["spec"])["ports"]}
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) in ports


def test_the_apis_and_the_shop_believe_only_the_named_proxies(rendered: Rendered) -> None:
    """TRUSTED_PROXIES in every process that counts visitors, as the values name them."""
    values = _production_values() if "shop-example-com-tls" in rendered.text else {}
    expected = ",".join(values.get("trustedProxies", ["10.244.0.0/16"]))
    settings = rendered.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    web = rendered.named("ConfigMap", f"{FULLNAME}-web-settings")["data"]
    assert settings["TRUSTED_PROXIES"] == web["TRUSTED_PROXIES"] == expected
    assert "*" not in expected
    for component in APIS:
        container = _container(rendered.deployment(component)["spec"]["template"]["spec"])
        assert container["envFrom"][0]["configMapRef"]["name"] == f"{FULLNAME}-settings"


def test_the_shop_calls_each_service_directly_under_the_public_host(rendered: Rendered) -> None:
    """The visitor's address the shop forwards reaches the API as the shop sent it: no
    ingress in between to replace X-Forwarded-For with the shop pod's address."""
    web = rendered.named("ConfigMap", f"{FULLNAME}-web-settings")["data"]
    routes = json.loads(web["WEB_API_ROUTES"])
    assert set(routes) == set(PREFIXES) - {"/"}
    for prefix, url in routes.items():
        service = rendered.named("Service", url.removeprefix("http://"))
        assert service["metadata"]["name"] == f"{FULLNAME}-{PREFIXES[prefix]}"
        assert [port["port"] for port in service["spec"]["ports"]] == [80]
    assert web["WEB_API_URL"].startswith("https://")


@pytest.mark.parametrize("trusted", [["*"], [], ["10.0.0.0/8", "*"]])
def test_the_chart_refuses_to_trust_anyone(trusted: list[str]) -> None:
    with pytest.raises(Exception, match="trustedProxies"):
        Rendered({"trustedProxies": trusted})


def test_every_api_replica_counts_in_one_shared_store(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THROTTLE_STORAGE names the chart's Redis, and each API says how many copies it
    may run (REPLICAS): settings production accepts only with a shared store."""
    settings = rendered.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    url = settings["THROTTLE_STORAGE"]
    assert url == f"redis://{FULLNAME}-redis:6379/0"
    service = rendered.named("Service", f"{FULLNAME}-redis")
    assert [port["port"] for port in service["spec"]["ports"]] == [6379]
    redis = rendered.deployment("redis")["spec"]["template"]
    assert service["spec"]["selector"].items() <= redis["metadata"]["labels"].items()
    assert _container(redis["spec"])["image"].startswith("redis:")
    hpas = {
        item["spec"]["scaleTargetRef"]["name"]: item["spec"]
        for item in rendered.of_kind("HorizontalPodAutoscaler")
    }
    for component in APIS:
        deployment = rendered.deployment(component)
        replicas = int(
            _env(_container(deployment["spec"]["template"]["spec"]))["REPLICAS"]["value"]
        )
        hpa = hpas.get(deployment["metadata"]["name"])
        assert replicas == (hpa["maxReplicas"] if hpa else deployment["spec"]["replicas"])
        assert replicas > 1, component
        # What the pod's process is given, production's own check accepts...
        for name, value in {**settings, "REPLICAS": str(replicas)}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("JWT_PUBLIC_KEY", key_pair()[1])
        assert Settings(_env_file=None).throttle_storage == url
        # ... and the in-process store it would refuse.
        monkeypatch.setenv("THROTTLE_STORAGE", "memory://")
        with pytest.raises(ValueError, match="THROTTLE_STORAGE=memory:// is refused"):
            Settings(_env_file=None)


def test_a_store_of_ones_own_comes_from_a_secret() -> None:
    rendered = Rendered(
        {
            "throttleStore": {
                "redis": {"enabled": False},
                "urlSecret": {"name": "ticketing-throttle-store", "key": "url"},
                "networkPolicy": {"to": [{"ipBlock": {"cidr": "10.9.0.0/24"}}]},
            }
        }
    )
    assert f"{FULLNAME}-redis" not in {
        item["metadata"]["name"] for item in rendered.of_kind("Deployment")
    }
    assert "THROTTLE_STORAGE" not in rendered.named("ConfigMap", f"{FULLNAME}-settings")["data"]
    for component in APIS:
        env = _env(_container(rendered.deployment(component)["spec"]["template"]["spec"]))
        ref = env["THROTTLE_STORAGE"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "ticketing-throttle-store", "key": "url"}
    policy = rendered.named("NetworkPolicy", f"{FULLNAME}-api-to-throttle-store")
    assert policy["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.9.0.0/24"}}]
    with pytest.raises(Exception, match="throttleStore"):
        Rendered({"throttleStore": {"redis": {"enabled": False}}})


def test_the_production_example_limits_each_client_at_the_ingress() -> None:
    (ingress,) = Rendered(_production_values()).of_kind("Ingress")
    annotations = ingress["metadata"]["annotations"]
    for limit in ("limit-rps", "limit-connections", "limit-burst-multiplier"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{limit}"]) > 0, limit


def test_entry_code_keys_reach_tickets_alone_and_smtp_notifications_alone(
    rendered: Rendered,
) -> None:
    tickets = {f"{FULLNAME}-tickets", f"{FULLNAME}-tickets-worker"}
    for name, pod in rendered.pod_specs():
        env = _env(_container(pod))
        assert ("ENTRY_CODE_KEYS" in env) is (name in tickets), name
        if name in tickets:
            ref = env["ENTRY_CODE_KEYS"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "ticketing-entry-code-keys", "key": "entry-code-keys"}
        is_notifications = name == f"{FULLNAME}-notifications"
        assert ("SMTP_URL" in env) is is_notifications, name
        if is_notifications:
            assert env["SMTP_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": "ticketing-smtp",
                "key": "url",
            }
            assert env["PUBLIC_URL"]["value"] == "https://shop.example.com"
    smtp = rendered.named("NetworkPolicy", f"{FULLNAME}-notifications-to-smtp")
    assert smtp["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 587}]
