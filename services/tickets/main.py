"""ASGI entry point of the tickets service (`ticketing serve tickets`)."""

from services.common.http.app import create_app
from services.tickets.service import definition

app = create_app(definition)
