"""The generation routes' lookup ahead of Starlette: it finds what Starlette's router would,
and leaves everything else to it."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Message, Receive, Scope, Send

from palisade.app import create_app
from palisade.config import parse_config
from palisade.dispatch import App, _resolve, tables
from palisade.pipeline.run import Generation
from palisade.providers.anthropic.surfaces import MESSAGES
from palisade.providers.openai.surfaces import CHAT


class Endpoint(Generation):
    """A generation endpoint that answers with its own name and the path parameters."""

    def __init__(self, name: str) -> None:
        super().__init__(CHAT if name != "messages" else MESSAGES)
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope.get("path_params", {})
        text = f"{self.name} {params.get('proxy', '-')} {scope['app'] is not None}"
        await PlainTextResponse(text)(scope, receive, send)


async def _other(request: Request) -> PlainTextResponse:
    return PlainTextResponse("other")


def _routes(*extra: BaseRoute) -> list[BaseRoute]:
    return [
        *extra,
        Route("/v1/chat/completions", Endpoint("chat"), methods=["POST"]),
        Route("/v1/models", _other, methods=["GET"]),
        Mount("/v1/groq", routes=[Route("/chat/completions", Endpoint("groq"), methods=["POST"])]),
        Route("/admin/v1/proxies", _other, methods=["GET", "POST"]),
        Route("/{proxy}/chat/completions", Endpoint("proxied"), methods=["POST"]),
        Route("/{proxy}/v1/messages", Endpoint("messages"), methods=["POST"]),
    ]


async def _call(app: App, method: str, path: str, root_path: str = "") -> tuple[int, str]:
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode()


def test_the_tables_hold_what_starlettes_router_resolves() -> None:
    routes = _routes()
    fixed, proxied, heads = tables(routes)
    assert {path for _, path in fixed} == {"/v1/chat/completions", "/v1/groq/chat/completions"}
    assert {path for _, path in proxied} == {"/chat/completions", "/v1/messages"}
    assert heads == {"v1", "admin"}
    for (method, path), endpoint in fixed.items():
        assert _resolve(routes, method, path) is endpoint


def test_a_path_an_earlier_mount_swallows_stays_with_starlette() -> None:
    # Starlette hands every path under a matched mount to the mount's routes, none of which
    # answers `/v1/chat/completions`: the lookup must not find it either.
    routes = _routes(Mount("/v1", routes=[Route("/models", _other)]))
    fixed, _, _ = tables(routes)
    assert ("POST", "/v1/chat/completions") not in fixed


def test_a_route_whose_first_segment_is_another_parameter_turns_the_proxy_lookup_off() -> None:
    routes = _routes(Route("/{tenant}/chat/completions", _other, methods=["POST"]))
    _, proxied, _ = tables(routes)
    assert proxied == {}


@pytest.mark.asyncio
async def test_generation_paths_are_dispatched_and_the_rest_is_starlettes() -> None:
    app = App(routes=_routes())
    assert await _call(app, "POST", "/v1/chat/completions") == (200, "chat - True")
    assert await _call(app, "POST", "/v1/groq/chat/completions") == (200, "groq - True")
    assert await _call(app, "POST", "/team-a/chat/completions") == (200, "proxied team-a True")
    assert await _call(app, "POST", "/team-a/v1/messages") == (200, "messages team-a True")
    assert await _call(app, "GET", "/v1/models") == (200, "other")
    # A method the route does not take, a path no route has: Starlette's 405 and 404.
    assert (await _call(app, "GET", "/v1/chat/completions"))[0] == 405
    assert (await _call(app, "POST", "/team-a/nothing"))[0] == 404
    # A proxy id that is also a fixed route's first segment is Starlette's to resolve: here
    # the `/{proxy}` route, exactly as before the lookup existed.
    assert await _call(app, "POST", "/admin/chat/completions") == (200, "proxied admin True")
    # Behind a root path, Starlette strips it; the lookup does not try.
    assert await _call(app, "POST", "/gw/v1/chat/completions", root_path="/gw") == (
        200,
        "chat - True",
    )


def test_the_gateways_own_routes_are_all_found_as_starlette_finds_them() -> None:
    config = parse_config(
        {
            "auto_providers": False,
            "providers": {"groq": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k"}},
        },
        source="test",
        env={},
    )
    app = create_app(config)
    assert isinstance(app, App)
    routes = app.router.routes
    fixed, proxied, heads = tables(routes)
    assert ("POST", "/v1/chat/completions") in fixed
    assert ("POST", "/v1/messages") in fixed
    assert ("POST", "/v1/groq/chat/completions") in fixed
    assert ("POST", "/chat/completions") in proxied
    assert ("POST", "/v1/messages") in proxied
    assert {"v1", "admin", "console"} <= heads
    for (method, path), endpoint in fixed.items():
        assert _resolve(routes, method, path) is endpoint
    for (method, rest), endpoint in proxied.items():
        assert _resolve(routes, method, f"/some-proxy{rest}") is endpoint
