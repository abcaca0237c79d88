"""Passwords: argon2id (the scrypt hashes made before still verify), never stored in
the clear."""

from __future__ import annotations

import pytest

from services.auth.passwords import DEFAULT_COST, dummy_hash, hash_password, verify_password


def test_hash_verifies_the_right_password_only() -> None:
    stored = hash_password("s3cret!")
    assert "s3cret!" not in stored
    assert stored.startswith("$argon2id$")
    assert verify_password("s3cret!", stored)
    assert not verify_password("s3cret", stored)
    assert not verify_password("S3cret!", stored)
    assert not verify_password("", stored)


def test_same_password_gets_a_different_salt() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert verify_password("same", first) and verify_password("same", second)


def test_unicode_passwords_round_trip() -> None:
    assert verify_password("pässwörd✓", hash_password("pässwörd✓"))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$1$2$3$c2FsdA==$a2V5",
        "scrypt$16384$8$1$c2FsdA==",
        # argon2i and argon2d are not what this service makes.
        "$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5",
    ],
)
def test_unrecognised_hashes_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_dummy_hash_matches_no_guessable_password() -> None:
    assert not verify_password("", dummy_hash(DEFAULT_COST))
    assert not verify_password("password", dummy_hash(DEFAULT_COST))


@pytest.mark.parametrize(
    "stored",
    [
        "scrypt$x$8$1$AA==$AA==",
        "scrypt$3$8$1$AA==$AA==",
        "nonsense",
        "$argon2id$v=19$m=1024,t=2,p=1$AAAA$BBBB",
        "$argon2id$v=19$m=x,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5",
    ],
)
def test_a_corrupt_stored_hash_matches_nothing(stored: str) -> None:
    assert verify_password("secret", stored) is False
