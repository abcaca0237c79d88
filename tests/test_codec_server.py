"""`ticketing codec-server`, the Temporal Web UI's codec endpoint, over HTTP as the UI
calls it: Payloads in protobuf's JSON both ways, CORS for the UI's origin alone, the
namespace it serves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from services.codec_server import create_codec_app
from services.common.settings import Settings
from tests.support.payload_keys import KEY_A, KEY_B, setting

UI = "http://127.0.0.1:8233"
ORDER_ID = "5f0c3a52-3a8e-4b0e-9c41-2d8f1a7b6c90"


def codec_settings(tmp_path: Path, *keys: tuple[str, bytes]) -> Settings:
    return Settings(
        _env_file=None, data_dir=tmp_path, temporal_ui_port=8233, payload_keys=setting(*keys)
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_codec_app(codec_settings(tmp_path, KEY_A))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        yield client


def as_json(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def from_json(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(ORDER_ID).encode())
UI_HEADERS = {"Origin": UI, "X-Namespace": "default", "Content-Type": "application/json"}


async def test_encode_then_decode_round_trips(server: httpx.AsyncClient) -> None:
    encoded = await server.post("/encode", content=as_json(PLAIN), headers=UI_HEADERS)
    assert encoded.status_code == 200, encoded.text
    assert encoded.headers["content-type"] == "application/json"
    assert ORDER_ID not in encoded.text
    [sealed] = from_json(encoded.text)
    assert sealed.metadata["encryption-key-id"] == KEY_A[0].encode()

    decoded = await server.post("/decode", content=encoded.text, headers=UI_HEADERS)
    assert decoded.status_code == 200, decoded.text
    assert from_json(decoded.text) == [PLAIN]
    # The UI reads the answer from its own origin: CORS lets it.
    assert decoded.headers["access-control-allow-origin"] == UI
    assert decoded.headers["access-control-allow-credentials"] == "true"


async def test_decode_lets_unencrypted_payloads_through(server: httpx.AsyncClient) -> None:
    decoded = await server.post("/decode", content=as_json(PLAIN), headers=UI_HEADERS)
    assert from_json(decoded.text) == [PLAIN]


async def test_a_payload_of_a_key_it_lacks_or_a_bad_body_answers_400(
    server: httpx.AsyncClient, tmp_path: Path
) -> None:
    app = create_codec_app(codec_settings(tmp_path, KEY_B))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://codec"
    ) as other:
        foreign = (await other.post("/encode", content=as_json(PLAIN))).text
    refused = await server.post("/decode", content=foreign, headers=UI_HEADERS)
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert "'test-b', which is not among PAYLOAD_KEYS" in message
    # The keys it does hold are nobody's business.
    assert KEY_A[0] not in message
    garbled = await server.post("/decode", content="not json", headers=UI_HEADERS)
    assert garbled.status_code == 400


async def test_another_namespace_is_refused(server: httpx.AsyncClient) -> None:
    headers = {**UI_HEADERS, "X-Namespace": "someone-else"}
    refused = await server.post("/decode", content=as_json(PLAIN), headers=headers)
    assert refused.status_code == 400
    assert "default" in refused.json()["errors"][0]["message"]
    # The namespace in the path, as the CLI's --codec-endpoint template puts it.
    plain = {"Content-Type": "application/json"}
    assert (await server.post("/default/decode", content=as_json(PLAIN), headers=plain)).is_success
    other = await server.post("/someone-else/encode", content=as_json(PLAIN), headers=plain)
    assert other.status_code == 400


@pytest.mark.parametrize("origin", [UI, "http://localhost:8233"])
async def test_the_uis_preflight_is_allowed(server: httpx.AsyncClient, origin: str) -> None:
    preflight = await server.options(
        "/decode",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "x-namespace" in allowed and "content-type" in allowed


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:8000"])
async def test_another_origins_preflight_and_answers_are_refused(
    server: httpx.AsyncClient, origin: str
) -> None:
    preflight = await server.options(
        "/decode",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    # A simple request still reaches the server, but the browser hides the answer.
    answered = await server.post(
        "/decode", content=as_json(PLAIN), headers={**UI_HEADERS, "Origin": origin}
    )
    assert "access-control-allow-origin" not in answered.headers
