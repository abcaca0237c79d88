"""Salted scrypt password hashes (stdlib), compared in constant time.

The cost is log2 of scrypt's N (``PASSWORD_HASH_COST``); r=8 and p=1. OWASP's current
minimum, and the default, is N=2^17: 128 MiB and about 0.3 s of one core a hash. Every
hash string carries its own parameters (``scrypt$N$r$p$salt$key``), so hashes made with
older ones still verify, and ``needs_rehash`` says when to replace one at the next
successful sign-in.

Hashing is CPU-bound by design, so callers run it off the event loop with
``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

# OWASP's minimum for scrypt: N=2^17, r=8, p=1. Production refuses a lower cost.
MINIMUM_COST = 17
DEFAULT_COST = MINIMUM_COST
_R, _P = 8, 1
# A stored hash asking for more than this (a corrupt row) is refused, not run.
_MAXIMUM_N = 2**20
_KEY_BYTES = 32
_SALT_BYTES = 16


def _memory_bound(n: int, r: int, p: int) -> int:
    """What OpenSSL's scrypt needs for these parameters, exactly: its V (128·r·N)
    and B (128·r·p) arrays, and two blocks of scratch (Python's default bound, 32 MiB,
    is a quarter of what N=2^17 needs)."""
    return 128 * r * (n + p + 2)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=_KEY_BYTES,
        maxmem=_memory_bound(n, r, p),
    )


def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    n = 2**cost
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, n, _R, _P)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_key = base64.b64encode(key).decode()
    return f"scrypt${n}${_R}${_P}${encoded_salt}${encoded_key}"


def _parameters(stored: str) -> tuple[int, int, int, bytes, bytes]:
    scheme, n, r, p, salt, key = stored.split("$")
    if scheme != "scrypt":
        raise ValueError("not an scrypt hash")
    parameters = int(n), int(r), int(p)
    if not (
        1 < parameters[0] <= _MAXIMUM_N and 0 < parameters[1] <= 32 and 0 < parameters[2] <= 16
    ):
        raise ValueError("scrypt parameters out of bounds")
    return *parameters, base64.b64decode(salt, validate=True), base64.b64decode(key, validate=True)


def verify_password(password: str, stored: str) -> bool:
    try:
        n, r, p, salt, key = _parameters(stored)
        candidate = _scrypt(password, salt, n, r, p)
    except (ValueError, binascii.Error):  # a corrupt stored hash matches no password
        return False
    return hmac.compare_digest(candidate, key)


def needs_rehash(stored: str, cost: int) -> bool:
    """Whether a hash that just verified was made with weaker parameters than the
    current ones (a lower cost only in tests or benchmarks never downgrades one)."""
    try:
        n, r, p, _salt, _key = _parameters(stored)
    except (ValueError, binascii.Error):
        return True
    return n < 2**cost or r < _R or p < _P


@functools.cache
def dummy_hash(cost: int) -> str:
    """Checked against when the email is unknown, so that a sign-in for a missing
    account costs the same time as one with a wrong password."""
    return hash_password(secrets.token_urlsafe(16), cost)
