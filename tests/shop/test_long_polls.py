"""An order page's long polls cannot starve the shop: they run on a pool of their own,
at most WEB_MAX_WAITS at once and WEB_WAITS_PER_VISITOR per visitor; one more is told at
once to ask again later, and page loads never wait behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from web.app import create_app
from web.settings import WebSettings


class Api:
    """The orders API with every wait held until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = 0
        self.app = FastAPI()

        @self.app.get("/api/orders/{order_id}")
        async def order(order_id: str, request: Request) -> Response:
            if request.headers.get("prefer"):
                self.waiting += 1
                await self.release.wait()
                self.waiting -= 1
            return Response(status_code=304)

        @self.app.get("/api/tickets")
        async def tickets() -> list[object]:
            return []


@pytest.fixture
async def api_and_shop() -> AsyncIterator[tuple[Api, FastAPI]]:
    api = Api()
    shop = create_app(
        WebSettings(
            _env_file=None, web_api_url="http://api", web_max_waits=3, web_waits_per_visitor=2
        ),
        api_transport=httpx.ASGITransport(app=api.app),
    )
    async with shop.router.lifespan_context(shop):
        yield api, shop
    api.release.set()


def visitor(shop: FastAPI, session: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shop),
        base_url="http://shop",
        cookies={"session": session},
    )


async def watch(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/orders/o1/watch", params={"etag": '"1"', "was": "awaiting"})


async def until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached")


async def test_a_visitors_waits_beyond_their_share_are_told_to_come_back(
    api_and_shop: tuple[Api, FastAPI],
) -> None:
    api, shop = api_and_shop
    async with visitor(shop, "ann") as ann, visitor(shop, "bob") as bob:
        held = [asyncio.ensure_future(watch(ann)) for _ in range(2)]
        await until(lambda: api.waiting == 2)
        # Ann's third is answered at once, without the API, with a later try.
        third = await asyncio.wait_for(watch(ann), 2)
        assert 'hx-trigger="load delay:5s"' in third.text
        assert api.waiting == 2
        # Bob's first is held: one more fills the process's three.
        bobs = asyncio.ensure_future(watch(bob))
        await until(lambda: api.waiting == 3)
        # Past the process's bound, Bob's second is answered at once as well ...
        assert "delay:5s" in (await asyncio.wait_for(watch(bob), 2)).text
        # ... and pages still load at once.
        assert (await asyncio.wait_for(bob.get("/"), 2)).status_code == 200
        api.release.set()
        for answered in await asyncio.gather(*held, bobs):
            assert "delay:1s" in answered.text
        # Each wait given back: Ann may wait again.
        api.release.clear()
        again = asyncio.ensure_future(watch(ann))
        await until(lambda: api.waiting == 1)
        api.release.set()
        await again
