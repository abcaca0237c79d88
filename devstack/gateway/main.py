"""ASGI entry point of the whole API on one base URL (what `ticketing up` serves)."""

from devstack.gateway.app import create_gateway
from services.common.observability.logging import configure_logging
from services.common.observability.tracing import configure_tracing
from services.common.settings import get_settings

# uvicorn imports this module after setting up its own logging: the process's is ours.
configure_logging(get_settings())
configure_tracing(get_settings(), "gateway")

app = create_gateway()
