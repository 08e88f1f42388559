"""The mock's Starlette app: routes, auth, knobs, failures and recording around each endpoint."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from palisade.mock import models
from palisade.mock.chat import chat_completions
from palisade.mock.completions import completions
from palisade.mock.embeddings import embeddings
from palisade.mock.errors import InvalidRequest, error_response, invalid_request
from palisade.mock.failures import failure_response
from palisade.mock.knobs import Knobs
from palisade.mock.params import json_response
from palisade.mock.recorder import Recorder
from palisade.mock.responses import responses
from palisade.mock.settings import SETTINGS_ENV, MockSettings

MOCK_ORGANIZATION = b"mock-org-7f3a"

Handler = Callable[[dict[str, Any], Knobs], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class _Mock:
    """The state shared by all endpoints of one app: settings, default knobs, the recorder."""

    def __init__(self, settings: MockSettings) -> None:
        self.settings = settings
        self.defaults = Knobs.defaults(settings)
        self.recorder = Recorder(settings.record)
        self.expected_auth = None if settings.api_key is None else f"Bearer {settings.api_key}"

    def unauthorized(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization")
        if auth is None or not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return error_response(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                type="invalid_request_error",
            )
        if self.expected_auth is not None and auth != self.expected_auth:
            return error_response(
                401,
                "Incorrect API key provided.",
                type="invalid_request_error",
                code="invalid_api_key",
            )
        return None

    def post(self, handler: Handler, *, streams: bool) -> Endpoint:
        answer = self._answer(handler, streams=streams)

        async def endpoint(request: Request) -> Response:
            response = await answer(request)
            # As OpenAI does on every answer: its request id and the caller's organization.
            response.raw_headers += [
                (b"x-request-id", b"req_" + os.urandom(12).hex().encode()),
                (b"openai-organization", MOCK_ORGANIZATION),
            ]
            return response

        return endpoint

    def _answer(self, handler: Handler, *, streams: bool) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            self.recorder.record(request.scope, body)
            refused = self.unauthorized(request)
            if refused is not None:
                return refused
            if not isinstance(body, dict):
                return error_response(
                    400,
                    "We could not parse the JSON body of your request. The body must be a JSON "
                    "object.",
                    type="invalid_request_error",
                )
            try:
                knobs = (
                    self.defaults if "mock" not in body else self.defaults.override(body["mock"])
                )
                fail = knobs.fail
                if fail is not None and not (fail == "drop" and streams and body.get("stream")):
                    return await failure_response(knobs)
                return await handler(body, knobs)
            except InvalidRequest as error:
                return invalid_request(error)

        return endpoint

    def get(self, handler: Callable[[Request], Response]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            self.recorder.record(request.scope, None)
            return self.unauthorized(request) or handler(request)

        return endpoint

    async def recorded(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.recorder.clear()
            return json_response({"cleared": True})
        return json_response(list(self.recorder.requests))

    async def stats(self, request: Request) -> Response:
        return json_response(self.recorder.stats())

    async def jwks(self, request: Request) -> Response:
        self.recorder.record(request.scope, None)
        path = self.settings.jwks_file
        try:
            body = None if path is None else await asyncio.to_thread(Path(path).read_bytes)
        except OSError:
            body = None
        if body is None:
            return error_response(404, "No JWKS is configured.", type="invalid_request_error")
        return Response(body, media_type="application/json")

    async def not_found(self, request: Request, exc: Exception) -> Response:
        self.recorder.record(request.scope, None)
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return error_response(
            status,
            f"Invalid URL ({request.method} {request.url.path})",
            type="invalid_request_error",
        )


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


def create_mock_app(settings: MockSettings) -> Starlette:
    mock = _Mock(settings)
    routes = [
        Route("/v1/chat/completions", mock.post(chat_completions, streams=True), methods=["POST"]),
        Route("/v1/completions", mock.post(completions, streams=True), methods=["POST"]),
        Route("/v1/embeddings", mock.post(embeddings, streams=False), methods=["POST"]),
        Route("/v1/responses", mock.post(responses, streams=True), methods=["POST"]),
        Route("/v1/models", mock.get(lambda _: models.list_models()), methods=["GET"]),
        Route(
            "/v1/models/{model_id:path}",
            mock.get(lambda request: models.retrieve_model(request.path_params["model_id"])),
            methods=["GET"],
        ),
        Route("/_mock/requests", mock.recorded, methods=["GET", "DELETE"]),
        Route("/_mock/stats", mock.stats, methods=["GET"]),
        Route("/_mock/jwks.json", mock.jwks, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: mock.not_found, 405: mock.not_found})


def app_from_env() -> Starlette:
    """The Granian factory target: settings come as JSON in `PALISADE_MOCK_SETTINGS`."""
    return create_mock_app(MockSettings.from_json(os.environ.get(SETTINGS_ENV) or "{}"))
