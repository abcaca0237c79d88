"""What a page handler is given: the API as its visitor sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web.api_client import Api


def api_for(request: Request) -> Api:
    return Api(request.app.state.http, request, request.app.state.settings.session_cookie)


ApiDep = Annotated[Api, Depends(api_for)]
