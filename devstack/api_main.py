"""The embedded stack's API process: uvicorn serving the API app, and in the same process
the Temporal Web UI's codec endpoint on a port of its own.

The codec ran as a process of its own (``ticketing codec-server``, as deployments still
run it), which cost about 110 MiB of memory for an endpoint the UI calls now and then;
here it shares the interpreter and the libraries the API has loaded already. It keeps its
own port, so the UI's codec URL, its CORS for the UI's origin and its paths are the same.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from services.codec_server import create_codec_app
from services.common.settings import get_settings


class CompanionServer(uvicorn.Server):
    """A server beside ``leader`` in its process: the leader takes the signals, and this
    one stops when the leader is told to."""

    def __init__(self, config: uvicorn.Config, leader: uvicorn.Server) -> None:
        super().__init__(config)
        self.leader = leader

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Were both to install handlers, the last one's would take the signal alone.
        yield

    async def on_tick(self, counter: int) -> bool:
        return self.leader.should_exit or await super().on_tick(counter)


async def _exit_code(server: uvicorn.Server) -> str | int | None:
    # uvicorn says it cannot start (its error logged: a port taken) with SystemExit,
    # which out of a task would end the event loop with a traceback.
    try:
        await server.serve()
    except SystemExit as exit:
        return exit.code
    return None


async def serve(api: uvicorn.Server, codec: uvicorn.Server) -> None:
    codec_serving = asyncio.create_task(_exit_code(codec))
    # The codec first: `ticketing up` waits for the API's port, so once that is open both
    # are; a codec that cannot start ends the process before the API's port opens.
    while not codec.started:
        if codec_serving.done():
            raise SystemExit(codec_serving.result() or 1)
        await asyncio.sleep(0.01)
    try:
        await api.serve()
    finally:
        codec.should_exit = True
        await codec_serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", help="the API app, module:attribute")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--codec-port", type=int, help="default: no codec endpoint")
    args = parser.parse_args()
    # As `python -m uvicorn APP --no-access-log --no-proxy-headers` ran it: a log line
    # per request is CPU spent on every request (errors are still logged), and each app
    # finds its client behind TRUSTED_PROXIES itself.
    api = uvicorn.Server(
        uvicorn.Config(
            args.app, host=args.host, port=args.port, access_log=False, proxy_headers=False
        )
    )
    if args.codec_port is None:
        api.run()
        return
    # The API's app imported first: it sets up the process's logging (the gateway's
    # main module does), which the codec's lines then go through too.
    api.config.load()
    codec = CompanionServer(
        uvicorn.Config(
            create_codec_app(get_settings()),
            host=args.host,
            port=args.codec_port,
            # Logging is set up already; the UI's calls are not logged one by one in the
            # terminal `make run` writes to.
            log_config=None,
            access_log=False,
            # The codec app has no lifespan to run.
            lifespan="off",
        ),
        leader=api,
    )
    # The event loop `api.run()` would have used (uvloop, when installed).
    with asyncio.Runner(loop_factory=api.config.get_loop_factory()) as runner:
        runner.run(serve(api, codec))


if __name__ == "__main__":
    main()
