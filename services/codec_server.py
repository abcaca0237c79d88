"""The Temporal Web UI's remote codec endpoint (``ticketing codec-server``): the UI posts
the encrypted payloads of the history it shows to ``/decode`` and shows what comes back,
and posts what an operator types (a signal's input) to ``/encode``. Bodies are Temporal's
``Payloads`` message in protobuf's JSON form, both ways; a bad body or a payload that does
not decrypt answers 400, as Temporal's codec server protocol says.

The UI calls it from the operator's browser, so CORS lets only the UI's origins
(``TEMPORAL_UI_ORIGINS``) read its answers. It decrypts whatever it is sent: in
production it sits behind the same sign-in as the UI (docs/security.md, "Encrypted payloads").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from services.common.http.body_limit import BodyLimit
from services.common.http.errors import BadRequest, install_error_handlers
from services.common.payload_codec import UndecryptablePayload, payload_codec
from services.common.settings import Settings

# A history's page of payloads at once: Temporal allows 2 MiB a payload.
MAX_BODY_BYTES = 8 * 1024 * 1024

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def create_codec_app(settings: Settings, codec: PayloadCodec | None = None) -> FastAPI:
    codec = codec or payload_codec(settings)
    app = FastAPI(title="Ticketing codec server", openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.codec_server_origins,
        allow_methods=["POST"],
        # X-Namespace: the UI names the namespace whose payloads it sends; Authorization:
        # its user's token, when the UI is set to pass it on.
        allow_headers=["content-type", "x-namespace", "authorization"],
        # The UI's "include cross-origin credentials" sends the sign-in proxy's cookie.
        allow_credentials=True,
        max_age=600,
    )

    async def transform(request: Request, apply: Transform) -> Response:
        namespace = request.path_params.get("namespace") or request.headers.get("x-namespace")
        # The keys are this deployment's: another namespace's payloads are not ours.
        if namespace is not None and namespace != settings.temporal_namespace:
            raise BadRequest(f"This codec serves the namespace {settings.temporal_namespace!r}")
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError as error:
            raise BadRequest(f"Not a Payloads message in JSON: {error}") from None
        try:
            transformed = await apply(payloads.payloads)
        except UndecryptablePayload as error:
            raise BadRequest(str(error)) from None
        body = json_format.MessageToJson(Payloads(payloads=transformed))
        return Response(body, media_type="application/json")

    # Under a namespace's path too, for the CLI's --codec-endpoint 'http://host/{namespace}'.
    @app.post("/encode")
    @app.post("/{namespace}/encode")
    async def encode(request: Request) -> Response:
        return await transform(request, codec.encode)

    @app.post("/decode")
    @app.post("/{namespace}/decode")
    async def decode(request: Request) -> Response:
        return await transform(request, codec.decode)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
