"""scrypt at OWASP's minimum (N=2^17, r=8, p=1) by default, its cost a setting that
production refuses below that, and older hashes upgraded at the next good sign-in."""

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
from tests.auth.support import PASSWORD, TEST_HASH_COST, signin
from tests.auth.test_production_settings import production


def test_the_default_is_owasp_minimum_and_runs_within_its_memory_bound() -> None:
    assert Settings(_env_file=None).password_hash_cost == DEFAULT_COST == MINIMUM_COST == 17
    # 128 MiB of scrypt: Python's default bound (32 MiB) would refuse it.
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$131072$8$1$")
    assert verify_password(PASSWORD, stored)
    assert not needs_rehash(stored, DEFAULT_COST)


def test_a_hash_keeps_its_own_parameters() -> None:
    old = hash_password(PASSWORD, cost=8)
    assert old.startswith("scrypt$256$8$1$")
    assert verify_password(PASSWORD, old)
    assert needs_rehash(old, 10)
    # A lower setting (tests, benchmarks) never weakens a stronger hash.
    assert not needs_rehash(hash_password(PASSWORD, cost=10), 8)


def test_production_refuses_a_cost_below_the_minimum(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PASSWORD_HASH_COST below 17"):
        production(tmp_path, password_hash_cost=16)
    assert production(tmp_path, password_hash_cost=18).password_hash_cost == 18


async def stored_hash(runtime: ServiceRuntime, email: str) -> str:
    async with runtime.database.read_sessions() as session:
        found = await session.scalar(select(User.password_hash).where(User.email == email))
    assert found is not None
    return found


@pytest.mark.database_matrix
async def test_an_older_hash_is_upgraded_at_the_next_good_sign_in(
    auth: httpx.AsyncClient, auth_runtime: ServiceRuntime, auth_settings: Settings
) -> None:
    assert auth_settings.password_hash_cost == TEST_HASH_COST
    email = "legacy@test.dev"
    old = hash_password(PASSWORD, cost=TEST_HASH_COST - 2)
    async with auth_runtime.unit_of_work() as uow:
        await operations.sign_up(uow, email, old)
        await uow.commit()

    wrong = await signin(auth, email, "not-the-password")
    assert wrong.status_code == 400
    assert await stored_hash(auth_runtime, email) == old

    assert (await signin(auth, email)).status_code == 200
    upgraded = await stored_hash(auth_runtime, email)
    assert upgraded.startswith(f"scrypt${2**TEST_HASH_COST}$8$1$")
    assert verify_password(PASSWORD, upgraded)

    # Once upgraded, it stays as it is; and the password still opens the account.
    assert (await signin(auth, email)).status_code == 200
    assert await stored_hash(auth_runtime, email) == upgraded
