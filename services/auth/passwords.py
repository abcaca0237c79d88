"""Password hashes: argon2id through argon2-cffi, in its standard PHC string format
(``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), verified in constant time by the library.

The cost is log2 of argon2id's memory in KiB (``PASSWORD_HASH_COST``), with two passes
and one lane: the default, 17, is 128 MiB and about as long as the scrypt hashes it
replaces (N=2^17), above OWASP's argon2id minimum (19 MiB, two passes). Every hash
string carries its own parameters, so hashes made with others still verify, and
``needs_rehash`` says when to replace one at the next successful sign-in.

Accounts created before argon2id hold salted scrypt hashes (``scrypt$N$r$p$salt$key``,
stdlib): they still verify, and the first good sign-in replaces them with argon2id.

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

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

# 128 MiB of argon2id. Production refuses a lower cost.
MINIMUM_COST = 17
DEFAULT_COST = MINIMUM_COST
TIME_COST = 2
PARALLELISM = 1

ARGON2ID_PREFIX = "$argon2id$"
LEGACY_SCRYPT_PREFIX = "scrypt$"


@functools.cache
def _hasher(cost: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=TIME_COST, memory_cost=2**cost, parallelism=PARALLELISM, type=Type.ID
    )


def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    return _hasher(cost).hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith(LEGACY_SCRYPT_PREFIX):
        return _verify_legacy_scrypt(password, stored)
    if not stored.startswith(ARGON2ID_PREFIX):
        return False
    try:
        # Any hasher verifies any argon2id hash: the parameters come from the string.
        return _hasher(DEFAULT_COST).verify(stored, password)
    except (VerificationError, InvalidHashError):  # a mismatch, or a corrupt stored hash
        return False


def needs_rehash(stored: str, cost: int) -> bool:
    """Whether a hash that just verified should be replaced: a legacy scrypt hash, or
    argon2id with weaker parameters than the current ones (a lower cost, in tests or
    benchmarks only, never downgrades one)."""
    if not stored.startswith(ARGON2ID_PREFIX):
        return True
    try:
        parameters = extract_parameters(stored)
    except InvalidHashError:
        return True
    return (
        parameters.memory_cost < 2**cost
        or parameters.time_cost < TIME_COST
        or parameters.version < 0x13
    )


@functools.cache
def dummy_hash(cost: int) -> str:
    """Checked against when the email is unknown, so that a sign-in for a missing
    account costs the same time as one with a wrong password."""
    return hash_password(secrets.token_urlsafe(16), cost)


# --- the scrypt hashes made before argon2id: verified, never made any more -------------

# A stored hash asking for more than this (a corrupt row) is refused, not run.
_SCRYPT_MAXIMUM_N = 2**20


def _verify_legacy_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n_text, r_text, p_text, salt_text, key_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        if scheme != "scrypt" or not (1 < n <= _SCRYPT_MAXIMUM_N and 0 < r <= 32 and 0 < p <= 16):
            return False
        salt = base64.b64decode(salt_text, validate=True)
        key = base64.b64decode(key_text, validate=True)
        candidate = hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=n,
            r=r,
            p=p,
            dklen=len(key),
            # OpenSSL's exact need for these parameters (Python's default bound, 32 MiB,
            # is a quarter of what N=2^17 needs).
            maxmem=128 * r * (n + p + 2),
        )
    except (ValueError, binascii.Error):  # a corrupt stored hash matches no password
        return False
    return hmac.compare_digest(candidate, key)
