"""ASGI entry point of the auth service (`ticketing serve auth`)."""

from services.auth.service import definition
from services.common.app import create_app

app = create_app(definition)
