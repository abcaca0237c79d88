"""The verifier remembers good tokens, but never past their expiry nor beyond its bound."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.common.identity.tokens import (
    InvalidToken,
    TokenSigner,
    TokenVerifier,
    private_key_pem,
    public_key_pem,
)
from services.common.settings import Settings


def keys(tmp_path: Path) -> tuple[TokenSigner, TokenVerifier]:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    signer = TokenSigner(private_key_pem(settings), timedelta(hours=1))
    return signer, TokenVerifier(public_key_pem(settings))


def test_a_remembered_token_is_refused_once_expired(tmp_path: Path) -> None:
    signer, verifier = keys(tmp_path)
    signer.lifetime = timedelta(seconds=1)
    token = signer.sign(uuid4(), "u@test.dev")
    claims = verifier.verify(token)
    assert verifier.verify(token) is claims  # served from memory the second time
    deadline = claims.expires_at.timestamp() + 2
    while time.time() < claims.expires_at.timestamp():
        assert time.time() < deadline
        time.sleep(0.05)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_token_differing_in_one_character_is_verified_afresh(tmp_path: Path) -> None:
    signer, verifier = keys(tmp_path)
    token = signer.sign(uuid4(), "u@test.dev")
    verifier.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{payload}.{flipped}")


def test_the_memory_is_bounded(tmp_path: Path) -> None:
    signer, verifier = keys(tmp_path)
    verifier.CACHE_SIZE = 3
    tokens = [signer.sign(uuid4(), f"u{i}@test.dev") for i in range(5)]
    users = [verifier.verify(token).user_id for token in tokens]
    assert len(verifier._verified) == 3
    # Forgotten tokens still verify (afresh) to the same user.
    assert [verifier.verify(token).user_id for token in tokens] == users
