"""argon2id through argon2-cffi, 128 MiB by default, its cost a setting that production
refuses below that; the scrypt hashes made before, and weaker argon2id ones, replaced at
the next good sign-in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from services.auth import operations
from services.auth.models import User
from services.auth.passwords import (
    DEFAULT_COST,
    MINIMUM_COST,
    hash_password,
    needs_rehash,
    verify_password,
)
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from tests.auth.support import PASSWORD, TEST_HASH_COST, legacy_scrypt_hash, signin
from tests.auth.test_production_settings import production


def test_the_default_is_argon2id_with_128_mib() -> None:
    assert Settings(_env_file=None).password_hash_cost == DEFAULT_COST == MINIMUM_COST == 17
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=131072,t=2,p=1$")
    assert verify_password(PASSWORD, stored)
    assert not needs_rehash(stored, DEFAULT_COST)


def test_a_hash_keeps_its_own_parameters() -> None:
    old = hash_password(PASSWORD, cost=8)
    assert old.startswith("$argon2id$v=19$m=256,t=2,p=1$")
    assert verify_password(PASSWORD, old)
    assert needs_rehash(old, 10)
    # A lower setting (tests, benchmarks) never weakens a stronger hash.
    assert not needs_rehash(hash_password(PASSWORD, cost=10), 8)


def test_a_legacy_scrypt_hash_verifies_and_wants_replacing() -> None:
    legacy = legacy_scrypt_hash(PASSWORD)
    assert verify_password(PASSWORD, legacy)
    assert not verify_password("not-the-password", legacy)
    assert needs_rehash(legacy, TEST_HASH_COST)


def test_production_refuses_a_cost_below_the_minimum(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PASSWORD_HASH_COST below 17"):
        production(tmp_path, password_hash_cost=16)
    assert production(tmp_path, password_hash_cost=18).password_hash_cost == 18


async def stored_hash(runtime: ServiceRuntime, email: str) -> str:
    async with runtime.database.read_sessions() as session:
        found = await session.scalar(select(User.password_hash).where(User.email == email))
    assert found is not None
    return found


async def signed_up_with(runtime: ServiceRuntime, email: str, password_hash: str) -> None:
    async with runtime.unit_of_work() as uow:
        await operations.sign_up(uow, email, password_hash)
        await uow.commit()


@pytest.mark.database_matrix
async def test_a_scrypt_hash_becomes_argon2id_at_the_next_good_sign_in(
    auth: httpx.AsyncClient, auth_runtime: ServiceRuntime, auth_settings: Settings
) -> None:
    assert auth_settings.password_hash_cost == TEST_HASH_COST
    email = "legacy@test.dev"
    old = legacy_scrypt_hash(PASSWORD)
    await signed_up_with(auth_runtime, email, old)

    wrong = await signin(auth, email, "not-the-password")
    assert wrong.status_code == 400
    assert await stored_hash(auth_runtime, email) == old

    assert (await signin(auth, email)).status_code == 200
    upgraded = await stored_hash(auth_runtime, email)
    assert upgraded.startswith(f"$argon2id$v=19$m={2**TEST_HASH_COST},t=2,p=1$")
    assert verify_password(PASSWORD, upgraded)

    # Once upgraded, it stays as it is; and the password still opens the account.
    assert (await signin(auth, email)).status_code == 200
    assert await stored_hash(auth_runtime, email) == upgraded


async def test_a_weaker_argon2id_hash_is_upgraded_too(
    auth: httpx.AsyncClient, auth_runtime: ServiceRuntime
) -> None:
    email = "weaker@test.dev"
    await signed_up_with(auth_runtime, email, hash_password(PASSWORD, cost=TEST_HASH_COST - 2))
    assert (await signin(auth, email)).status_code == 200
    upgraded = await stored_hash(auth_runtime, email)
    assert upgraded.startswith(f"$argon2id$v=19$m={2**TEST_HASH_COST},t=2,p=1$")
