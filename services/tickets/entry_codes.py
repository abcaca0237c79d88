"""Entry codes: what a gate scans. A code is a signed token of (ticket id, holder id,
generation), so that a gate can tell a forged code at once, and the tickets database
tells a genuine one that was re-issued since (an older generation: void).

The signature is HMAC-SHA256 (truncated to 128 bits, as RFC 2104 allows) with a key of
its own, not the session keys: a leaked entry-code key mints tickets, not sessions. The
code names its key (``kid``): codes are signed with the first of ``ENTRY_CODE_KEYS`` and
checked with whichever one they name, so a key rotates by going first while the old one
stays until the codes it signed are re-issued or the events are over.

The text is ``<kid>.<base64url of 36 bytes of claims and 16 of tag>``, about 80
characters: a QR code of version 6 or so, easy to scan from a phone's screen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from services.common.development_secrets import generated_once
from services.common.settings import Settings, parse_payload_key

DEVELOPMENT_KEY_ID = "dev"
TAG_BYTES = 16
# ticket id, holder id (16 bytes each), generation (unsigned 32-bit, big-endian).
_CLAIMS = struct.Struct(">16s16sI")


class MissingEntryCodeKeys(RuntimeError):
    pass


class UnreadableCode(ValueError):
    """Not a code we issued: malformed, altered, or signed with a key we do not hold."""


@dataclass(frozen=True)
class EntryCode:
    ticket_id: UUID
    holder_id: UUID
    generation: int


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EntryCodeSigner:
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("entry codes need at least one key")
        for key_id, _ in keys:
            if "." in key_id:
                raise ValueError(f"ENTRY_CODE_KEYS: key id {key_id!r} may not contain '.'")
        self.key_id = keys[0][0]
        self._keys = dict(keys)

    def _tag(self, key_id: str, claims: bytes) -> bytes:
        mac = hmac.new(self._keys[key_id], key_id.encode() + b"." + claims, hashlib.sha256)
        return mac.digest()[:TAG_BYTES]

    def sign(self, code: EntryCode) -> str:
        claims = _CLAIMS.pack(code.ticket_id.bytes, code.holder_id.bytes, code.generation)
        return f"{self.key_id}.{_b64encode(claims + self._tag(self.key_id, claims))}"

    def verify(self, text: str) -> EntryCode:
        key_id, dot, body = text.strip().partition(".")
        if not dot or key_id not in self._keys:
            raise UnreadableCode("unknown key")
        try:
            raw = _b64decode(body)
        except (binascii.Error, ValueError):
            raise UnreadableCode("not base64") from None
        if len(raw) != _CLAIMS.size + TAG_BYTES:
            raise UnreadableCode("wrong length")
        claims, tag = raw[: _CLAIMS.size], raw[_CLAIMS.size :]
        if not hmac.compare_digest(tag, self._tag(key_id, claims)):
            raise UnreadableCode("bad signature")
        ticket, holder, generation = _CLAIMS.unpack(claims)
        return EntryCode(UUID(bytes=ticket), UUID(bytes=holder), generation)


def entry_code_keys(settings: Settings) -> list[tuple[str, bytes]]:
    """The configured keys, first the one that signs; in development, one generated under
    the data directory (shared by every process of the embedded stack)."""
    if settings.entry_code_keys:
        return [parse_payload_key(entry, "ENTRY_CODE_KEYS") for entry in settings.entry_code_keys]
    if settings.is_production:
        raise MissingEntryCodeKeys("ENTRY_CODE_KEYS must be set in production")
    generated = generated_once(
        settings.data_dir / "entry-code-key-development",
        lambda: (
            f"{DEVELOPMENT_KEY_ID}:{base64.b64encode(secrets.token_bytes(32)).decode()}".encode()
        ),
    )
    return [parse_payload_key(generated.decode(), "ENTRY_CODE_KEYS")]


def entry_code_signer(settings: Settings) -> EntryCodeSigner:
    return EntryCodeSigner(entry_code_keys(settings))
