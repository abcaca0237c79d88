"""The web shop: server-rendered pages (Jinja2 + htmx), a client of the public HTTP API."""
