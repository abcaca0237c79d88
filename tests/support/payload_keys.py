"""Payload keys for tests: obviously fake, never a deployment's."""

from __future__ import annotations

import base64

from services.common.payload_codec import EncryptionCodec

KEY_A = ("test-a", b"test-only key A, not a secret!!!")
KEY_B = ("test-b", b"test-only key B, not a secret!!!")
TEST_CODEC = EncryptionCodec([KEY_A])


def setting(*keys: tuple[str, bytes]) -> str:
    """``keys`` as PAYLOAD_KEYS spells them."""
    return ",".join(f"{key_id}:{base64.b64encode(secret).decode()}" for key_id, secret in keys)
