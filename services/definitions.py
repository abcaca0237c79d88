"""Every service's definition by name: what the apps, the workers and the CLI are built of."""

from __future__ import annotations

import importlib

from services.common.service import ServiceDefinition
from services.common.settings import SERVICE_NAMES, ServiceName


def load_definition(name: ServiceName) -> ServiceDefinition:
    definition: ServiceDefinition = importlib.import_module(f"services.{name}.service").definition
    return definition


def service_name(value: str, choices: tuple[ServiceName, ...] = SERVICE_NAMES) -> ServiceName:
    """``value`` as one of ``choices``; ValueError naming them otherwise."""
    for name in choices:
        if name == value:
            return name
    raise ValueError(f"unknown service {value!r}; one of: {', '.join(choices)}")
