"""Salted scrypt password hashes (stdlib), compared in constant time.

Hashing is CPU-bound (tens of milliseconds by design), so callers run it off the
event loop with ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
_KEY_BYTES = 32
_SALT_BYTES = 16


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=64 * 1024 * 1024
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, _N, _R, _P)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_key = base64.b64encode(key).decode()
    return f"scrypt${_N}${_R}${_P}${encoded_salt}${encoded_key}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(candidate, base64.b64decode(key))
    except ValueError:  # a corrupt stored hash matches no password
        return False


# Checked against when the email is unknown, so that a sign-in for a missing account
# costs the same time as one with a wrong password.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
