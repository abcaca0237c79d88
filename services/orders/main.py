"""ASGI entry point of the orders service (`ticketing serve orders`)."""

from services.common.http.app import create_app
from services.orders.service import definition

app = create_app(definition)
