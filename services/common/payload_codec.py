"""Temporal payloads encrypted with AES-256-GCM, so that workflow histories (kept by the
Temporal server, shown by its Web UI) hold no buyer id, order id or PaymentMethod id in
clear.

Every encrypted payload names the key that encrypted it in its metadata: the codec
encrypts with the first of ``PAYLOAD_KEYS`` and decrypts with whichever one a payload
names, so a new key goes first and the old ones stay as long as histories encrypted with
them are kept. A payload the codec did not encrypt passes through as it is: histories
recorded before encryption (the committed replay histories) still replay. Search
attributes are not payloads the codec sees: they stay searchable, by design.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from services.common.development_secrets import generated_once
from services.common.settings import Settings, parse_payload_key

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
DEVELOPMENT_KEY_ID = "development"


class MissingPayloadKeys(RuntimeError):
    pass


class UndecryptablePayload(ValueError):
    """A payload this codec cannot decrypt: a key it does not hold, or not its data."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("an encryption codec needs at least one key")
        self.key_id = keys[0][0]
        self._ciphers = {key_id: AESGCM(secret) for key_id, secret in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.key_id]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            encrypted = cipher.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                    data=nonce + encrypted,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            # Which keys are held is not said: the codec server answers this to its caller.
            raise UndecryptablePayload(
                f"payload encrypted with key {key_id!r}, which is not among PAYLOAD_KEYS"
            )
        data = payload.data
        try:
            return Payload.FromString(cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None))
        except InvalidTag:
            raise UndecryptablePayload(
                f"payload does not decrypt with key {key_id!r} (another key by that id,"
                " or altered data)"
            ) from None


def payload_keys(settings: Settings) -> list[tuple[str, bytes]]:
    """The configured keys, first the one that encrypts; in development, one generated
    under the data directory and shared by every process of the embedded stack."""
    if settings.payload_keys:
        return [parse_payload_key(entry) for entry in settings.payload_keys]
    if settings.is_production:
        raise MissingPayloadKeys("PAYLOAD_KEYS must be set in production")
    generated = generated_once(
        settings.data_dir / "payload-key-development",
        lambda: f"{DEVELOPMENT_KEY_ID}:{new_key()}".encode(),
    )
    return [parse_payload_key(generated.decode())]


def new_key() -> str:
    """A fresh key's base64 (what `openssl rand -base64 32` prints too)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def payload_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(payload_keys(settings))
