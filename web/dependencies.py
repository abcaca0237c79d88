"""What a page handler is given: the API as its visitor sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web.api_client import Api


def api_for(request: Request) -> Api:
    state = request.app.state
    return Api(state.http, request, state.settings.session_cookie, state.http_waits)


ApiDep = Annotated[Api, Depends(api_for)]
