"""The real gateway app plus a window on stage 2's output, for end-to-end tests only.

`python -m tests.helpers.context_probe --config FILE --port N` serves `create_app(config)` on
Granian with the identity stage wrapped: after it runs, the request context's identity and
attribution fields are kept, and `GET /_probe/contexts` returns them (`DELETE` clears). The
gateway itself has no such route and exposes nothing of the kind.
"""

from __future__ import annotations

import argparse
import os
from collections import deque
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from palisade.app import CONFIG_ENV, create_app
from palisade.config import load_config
from palisade.pipeline import identity as identity_stage
from palisade.pipeline import run
from palisade.pipeline.context import RequestContext

FIELDS = (
    "proxy_id",
    "auth_method",
    "key_id",
    "key_limits",
    "user_id",
    "agent_id",
    "session_id",
    "execution_id",
)
_seen: deque[dict[str, Any]] = deque(maxlen=100)


async def _recording_identify(
    ctx: RequestContext, headers: Any, address: str, identity: Any
) -> identity_stage.Grant:
    grant = await identity_stage.identify(ctx, headers, address, identity)
    _seen.append({name: getattr(ctx, name) for name in FIELDS})
    return grant


async def _contexts(request: Request) -> Response:
    if request.method == "DELETE":
        _seen.clear()
    return Response(orjson.dumps(list(_seen)), media_type="application/json")


def app_from_env() -> Starlette:
    run.identify = _recording_identify  # type: ignore[attr-defined]
    app = create_app(load_config(os.environ[CONFIG_ENV]))
    app.router.routes.insert(0, Route("/_probe/contexts", _contexts, methods=["GET", "DELETE"]))
    return app


def main() -> None:
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ[CONFIG_ENV] = args.config
    Server(
        target="tests.helpers.context_probe:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=args.port,
        workers=1,
        loop=Loops.uvloop,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
