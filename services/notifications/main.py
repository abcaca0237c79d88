"""ASGI entry point of the notifications service (`ticketing serve notifications`)."""

from services.common.http.app import create_app
from services.notifications.service import definition

app = create_app(definition)
