"""ASGI entry point of the auth service (`ticketing serve auth`)."""

from services.auth.service import definition
from services.common.http.app import create_app

app = create_app(definition)
