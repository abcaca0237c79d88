"""The payload codec: AES-GCM with the key's id in each payload, so keys rotate; what it
did not encrypt passes through; its keys from the settings (generated in development,
required in production)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from services.common.payload_codec import (
    DEVELOPMENT_KEY_ID,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    MissingPayloadKeys,
    UndecryptablePayload,
    payload_codec,
    payload_keys,
)
from services.common.settings import Settings
from tests.auth.test_production_settings import production
from tests.support.payload_keys import KEY_A, KEY_B, setting

ORDER_ID = "5f0c3a52-3a8e-4b0e-9c41-2d8f1a7b6c90"

# Any 32 bytes: a test key, fixed so that the cases collect alike everywhere.
FIXED_KEY = base64.b64encode(bytes(range(32))).decode()


def payload(text: str = ORDER_ID) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_a_payload_round_trips_encrypted_under_its_key_id() -> None:
    codec = EncryptionCodec([KEY_A])
    [encoded] = await codec.encode([payload()])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID] == KEY_A[0].encode()
    assert ORDER_ID.encode() not in encoded.SerializeToString()
    assert await codec.decode([encoded]) == [payload()]


async def test_each_encoding_draws_a_fresh_nonce() -> None:
    codec = EncryptionCodec([KEY_A])
    first, second = await codec.encode([payload(), payload()])
    assert first.data != second.data


async def test_after_a_rotation_the_old_key_decodes_and_the_new_one_encodes() -> None:
    [before] = await EncryptionCodec([KEY_A]).encode([payload()])
    rotated = EncryptionCodec([KEY_B, KEY_A])
    assert await rotated.decode([before]) == [payload()]
    [after] = await rotated.encode([payload()])
    assert after.metadata[KEY_ID] == KEY_B[0].encode()
    assert await EncryptionCodec([KEY_B]).decode([after]) == [payload()]


async def test_a_key_it_does_not_hold_fails_naming_the_key() -> None:
    [encoded] = await EncryptionCodec([KEY_A]).encode([payload()])
    with pytest.raises(UndecryptablePayload, match="'test-a', which is not among PAYLOAD_KEYS"):
        await EncryptionCodec([KEY_B]).decode([encoded])


async def test_another_key_under_the_same_id_or_altered_data_fails_clearly() -> None:
    [encoded] = await EncryptionCodec([KEY_A]).encode([payload()])
    impostor = EncryptionCodec([(KEY_A[0], KEY_B[1])])
    with pytest.raises(UndecryptablePayload, match="does not decrypt with key 'test-a'"):
        await impostor.decode([encoded])
    altered = Payload()
    altered.CopyFrom(encoded)
    altered.data = encoded.data[:-1] + bytes([encoded.data[-1] ^ 1])
    with pytest.raises(UndecryptablePayload, match="does not decrypt"):
        await EncryptionCodec([KEY_A]).decode([altered])


async def test_payloads_it_did_not_encrypt_pass_through() -> None:
    plain = [payload(), Payload(metadata={"encoding": b"binary/null"})]
    assert await EncryptionCodec([KEY_A]).decode(plain) == plain


def test_the_settings_keys_first_one_encrypts(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, payload_keys=setting(KEY_B, KEY_A))
    assert payload_keys(settings) == [KEY_B, KEY_A]
    assert payload_codec(settings).key_id == KEY_B[0]
    as_json = Settings(_env_file=None, data_dir=tmp_path, payload_keys=f'["{setting(KEY_A)}"]')
    assert payload_keys(as_json) == [KEY_A]
    # Nothing is generated once keys are configured.
    assert list(tmp_path.iterdir()) == []


def test_development_generates_one_key_shared_by_every_process(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    [(key_id, secret)] = payload_keys(settings)
    assert key_id == DEVELOPMENT_KEY_ID and len(secret) == 32
    assert payload_keys(Settings(_env_file=None, data_dir=tmp_path)) == [(key_id, secret)]
    assert (tmp_path / "payload-key-development").stat().st_mode & 0o077 == 0


def test_production_refuses_to_run_without_keys(tmp_path: Path) -> None:
    settings = production(tmp_path)
    with pytest.raises(MissingPayloadKeys, match="PAYLOAD_KEYS must be set in production"):
        payload_codec(settings)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("no-colon", "each key is id:base64"),
        (":" + FIXED_KEY, "each key is id:base64"),
        ("k1:not base64!", "key 'k1' is not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "key 'k1' has 5 bytes, not 32"),
        (f"k1:{FIXED_KEY},k1:{FIXED_KEY}", "each key id once"),
    ],
    # Named, not by their keys: every test process must collect the same ids.
    ids=["no-colon", "no-id", "not-base64", "too-short", "id-twice"],
)
def test_malformed_keys_are_refused_when_settings_load(
    tmp_path: Path, keys: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        Settings(_env_file=None, data_dir=tmp_path, payload_keys=keys)
    # The error names the key's id, never its secret (it may be logged).
    secret = keys.split(",")[0].partition(":")[2]
    assert not secret or secret not in str(refused.value)


def test_the_codec_server_answers_the_embedded_ui_unless_told_otherwise() -> None:
    settings = Settings(_env_file=None, temporal_ui_port=8233)
    assert settings.codec_server_origins == ["http://127.0.0.1:8233", "http://localhost:8233"]
    told = Settings(_env_file=None, temporal_ui_origins="https://Temporal.example.com/")
    assert told.codec_server_origins == ["https://temporal.example.com"]
