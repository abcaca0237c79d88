"""ASGI entry point of the whole API on one base URL (what `ticketing up` serves)."""

from devstack.gateway.app import create_gateway

app = create_gateway()
