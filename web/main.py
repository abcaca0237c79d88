"""ASGI entry point of the web shop on its own (`ticketing serve web`)."""

from web.app import create_app

app = create_app()
