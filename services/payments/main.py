"""ASGI entry point of the payments service (`ticketing serve payments`)."""

from services.common.http.app import create_app
from services.payments.service import definition

app = create_app(definition)
