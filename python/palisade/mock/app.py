"""The mock's Starlette app: routes, auth, knobs, failures and recording around each endpoint.

Each route speaks one dialect, whose `Dialect` decides what surrounds the endpoint (how it
authenticates, refuses, fails and which headers it adds). `GET /v1/models` is the one path both
APIs share: the `anthropic-version` header, which Anthropic's clients always send, picks
Anthropic's format.

Every route also answers under `/_s/{scenario}/...`, whose behaviour the control endpoints
`/_mock/scenarios/{name}` set at run time (`scenarios`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from palisade.mock import anthropic_errors, anthropic_models, gemini, models
from palisade.mock.anthropic import count_message_tokens, messages
from palisade.mock.anthropic_dialect import AnthropicDialect
from palisade.mock.azure_dialect import AzureDialect
from palisade.mock.bedrock import Bedrock
from palisade.mock.chat import chat_completions
from palisade.mock.cohere import chat as cohere_chat
from palisade.mock.cohere import embed as cohere_embed
from palisade.mock.cohere_dialect import CohereDialect
from palisade.mock.completions import completions
from palisade.mock.embeddings import embeddings
from palisade.mock.errors import InvalidRequest, error_response
from palisade.mock.gemini_dialect import GeminiDialect, VertexAnthropicDialect, VertexDialect
from palisade.mock.knobs import Knobs
from palisade.mock.ollama import OllamaDialect, ollama_chat
from palisade.mock.openai_dialect import OpenAIDialect
from palisade.mock.params import json_response
from palisade.mock.recorder import Recorder
from palisade.mock.responses import responses
from palisade.mock.scenarios import (
    ScenarioPrefix,
    Scenarios,
    StatusBody,
    answer_status,
    preload,
    scenario_of,
    with_failure,
)
from palisade.mock.settings import SETTINGS_ENV, MockSettings
from palisade.mock.sse import pause

# The knobs as a JSON header, for requests whose body the gateway rewrites in another dialect.
KNOBS_HEADER = "x-mock-knobs"

Handler = Callable[[dict[str, Any], Knobs], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
AnthropicGet = Callable[[Request, str], Response]


class Dialect(Protocol):
    """What differs between the API surfaces around an endpoint (not inside it)."""

    failures: frozenset[str]
    """The `mock.fail` values it can perform."""
    stream_failures: frozenset[str]
    """Those a stream performs itself, after a 200."""
    not_json: str

    def gate(self, request: Request, request_id: str) -> Response | None:
        """The refusal of a request that lacks a credential or a required header."""

    def refuse(self, error: InvalidRequest, request_id: str) -> Response: ...

    async def fail(self, knobs: Knobs, request_id: str) -> Response: ...

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        """The headers the provider adds to every answer."""


def _request_id() -> str:
    return "req_" + os.urandom(12).hex()


class _Mock:
    """The state shared by all endpoints of one app: settings, default knobs, the recorder."""

    def __init__(self, settings: MockSettings) -> None:
        self.settings = settings
        self.defaults = Knobs.defaults(settings)
        self.recorder = Recorder(settings.record)
        self.openai = OpenAIDialect(settings.api_key)
        self.anthropic = AnthropicDialect(settings.api_key)
        self.cohere = CohereDialect(settings.api_key)
        self.gemini = GeminiDialect(settings.api_key)
        self.vertex = VertexDialect(settings.api_key)
        self.vertex_anthropic = VertexAnthropicDialect(settings.api_key)
        self.azure = AzureDialect(settings.api_key, versioned=True)
        self.azure_v1 = AzureDialect(settings.api_key, versioned=False)
        self.ollama = OllamaDialect(None)
        path = settings.scenarios_file
        preloaded = None if path is None else preload(path, self.defaults)
        self.scenarios = Scenarios(self.defaults, preloaded)

    def post(self, handler: Handler, *, streams: bool, dialect: Dialect | None = None) -> Endpoint:
        speaks = dialect or self.openai
        answer = self._answer(handler, speaks, streams=streams)

        async def endpoint(request: Request) -> Response:
            request_id = _request_id()
            response = await answer(request, request_id)
            response.raw_headers += speaks.headers(request_id)
            return response

        return endpoint

    def post_model(
        self, make: Callable[[str], Handler], dialect: Dialect, *, always_streams: bool = False
    ) -> Endpoint:
        """An endpoint whose path names the model (Gemini's, Vertex AI's); `always_streams`: the
        endpoint streams whatever the body says."""

        async def endpoint(request: Request) -> Response:
            request_id = _request_id()
            handler = make(request.path_params["model"])
            answer = self._answer(handler, dialect, streams=True, always=always_streams)
            response = await answer(request, request_id)
            response.raw_headers += dialect.headers(request_id)
            return response

        return endpoint

    def _answer(
        self, handler: Handler, dialect: Dialect, *, streams: bool, always: bool = False
    ) -> Callable[[Request, str], Awaitable[Response]]:
        async def endpoint(request: Request, request_id: str) -> Response:
            body, _ = await self.recorder.received(request)
            refused = dialect.gate(request, request_id)
            if refused is not None:
                return refused
            if not isinstance(body, dict):
                return dialect.refuse(InvalidRequest(dialect.not_json), request_id)
            try:
                raw_knobs = body.get("mock")
                header = request.headers.get(KNOBS_HEADER)
                if raw_knobs is None and header is not None:
                    # A request the gateway translated lost its body's `mock` field (no
                    # dialect has it); the header travels unchanged.
                    try:
                        raw_knobs = orjson.loads(header)
                    except orjson.JSONDecodeError:
                        raise InvalidRequest(f"{KNOBS_HEADER} is not JSON") from None
                scenario = scenario_of(request.scope)
                base = self.defaults if scenario is None else scenario.knobs
                knobs = base if raw_knobs is None else base.override(raw_knobs, dialect.failures)
                if scenario is not None:
                    injected = scenario.inject(dialect.failures)
                    if isinstance(injected, StatusBody):
                        return await answer_status(injected, knobs)
                    if injected is not None:
                        knobs = with_failure(knobs, injected)
                fail = knobs.fail
                streamed = (
                    fail in dialect.stream_failures and streams and (always or body.get("stream"))
                )
                if fail is not None and not streamed:
                    return await dialect.fail(knobs, request_id)
                return await handler(body, knobs)
            except InvalidRequest as error:
                return dialect.refuse(error, request_id)

        return endpoint

    def get(self, handler: Callable[[Request], Response], anthropic: AnthropicGet) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            self.recorder.record(request.scope, None)
            if "anthropic-version" not in request.headers:
                # The OpenAI side's GETs add no headers, and its `gate` needs no id.
                return (
                    self.openai.gate(request, "")
                    or await _scenario_get(request, self.openai, "")
                    or handler(request)
                )
            request_id = _request_id()
            response = (
                self.anthropic.gate(request, request_id)
                or await _scenario_get(request, self.anthropic, request_id)
                or anthropic(request, request_id)
            )
            response.raw_headers += self.anthropic.headers(request_id)
            return response

        return endpoint

    def get_gemini(self, handler: Callable[[], Response]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            self.recorder.record(request.scope, None)
            return (
                self.gemini.gate(request, "")
                or await _scenario_get(request, self.gemini, "")
                or handler()
            )

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
        if "anthropic-version" in request.headers:
            request_id = _request_id()
            if status == 404:
                kind, message = "not_found_error", "Not Found"
            else:
                kind, message = "invalid_request_error", "Method Not Allowed"
            response = anthropic_errors.error_response(status, kind, message, request_id)
            response.raw_headers += self.anthropic.headers(request_id)
            return response
        return error_response(
            status,
            f"Invalid URL ({request.method} {request.url.path})",
            type="invalid_request_error",
        )


async def _scenario_get(request: Request, dialect: Dialect, request_id: str) -> Response | None:
    """A listing under a scenario: its latency, and its failure as the dialect writes it."""
    scenario = scenario_of(request.scope)
    if scenario is None:
        return None
    knobs = scenario.knobs
    try:
        injected = scenario.inject(dialect.failures)
    except InvalidRequest as error:
        return dialect.refuse(error, request_id)
    if isinstance(injected, StatusBody):
        return await answer_status(injected, knobs)
    if injected is not None:
        return await dialect.fail(with_failure(knobs, injected), request_id)
    await pause(knobs.latency_ms)
    return None


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


_AZURE_DEPLOYMENT_ENDPOINTS: tuple[tuple[str, Handler, bool], ...] = (
    ("chat/completions", chat_completions, True),
    ("completions", completions, True),
    ("embeddings", embeddings, False),
)


def create_mock_app(settings: MockSettings) -> Starlette:
    mock = _Mock(settings)
    anthropic = mock.anthropic
    bedrock = Bedrock(settings, mock.defaults, mock.recorder)
    routes = [
        Route("/v1/chat/completions", mock.post(chat_completions, streams=True), methods=["POST"]),
        Route("/v1/completions", mock.post(completions, streams=True), methods=["POST"]),
        Route("/v1/embeddings", mock.post(embeddings, streams=False), methods=["POST"]),
        Route("/v1/responses", mock.post(responses, streams=True), methods=["POST"]),
        Route(
            "/v1/messages", mock.post(messages, streams=True, dialect=anthropic), methods=["POST"]
        ),
        Route(
            "/v1/messages/count_tokens",
            mock.post(count_message_tokens, streams=False, dialect=anthropic),
            methods=["POST"],
        ),
        Route(
            "/v1/models",
            mock.get(lambda _: models.list_models(), anthropic_models.list_models),
            methods=["GET"],
        ),
        Route(
            "/v1/models/{model_id:path}",
            mock.get(
                lambda request: models.retrieve_model(request.path_params["model_id"]),
                anthropic_models.retrieve_model,
            ),
            methods=["GET"],
        ),
        Route(
            "/v2/chat", mock.post(cohere_chat, streams=True, dialect=mock.cohere), methods=["POST"]
        ),
        Route(
            "/v2/embed",
            mock.post(cohere_embed, streams=False, dialect=mock.cohere),
            methods=["POST"],
        ),
        *_gemini_routes(mock),
        # Azure OpenAI: deployment URLs (`?api-version=`) and the v1 API, key in `api-key`.
        # Also under `/v1`, so that one mock URL (`PALISADE_MOCK_URL`) serves every dialect.
        *(
            Route(
                f"{root}/openai/deployments/{{deployment}}/{path}",
                mock.post(handler, streams=streams, dialect=mock.azure),
                methods=["POST"],
            )
            for root in ("", "/v1")
            for path, handler, streams in _AZURE_DEPLOYMENT_ENDPOINTS
        ),
        *(
            Route(
                f"{root}/openai/v1/{path}",
                mock.post(handler, streams=streams, dialect=mock.azure_v1),
                methods=["POST"],
            )
            for root in ("", "/v1")
            for path, handler, streams in _AZURE_DEPLOYMENT_ENDPOINTS
        ),
        # Ollama's native chat (NDJSON streams), no credential.
        Route(
            "/api/chat", mock.post(ollama_chat, streams=True, dialect=mock.ollama), methods=["POST"]
        ),
        # Bedrock's runtime API lives at the root of its host; under /v1 too, so that one base
        # URL (the config's `PALISADE_MOCK_URL`) reaches every dialect.
        *(
            Route(f"{root}/model/{{model:path}}/{action}", endpoint, methods=["POST"])
            for root in ("", "/v1")
            for action, endpoint in (
                ("converse", bedrock.converse),
                ("converse-stream", bedrock.converse_stream),
                ("invoke", bedrock.invoke),
                ("invoke-with-response-stream", bedrock.invoke_stream),
            )
        ),
        Route("/_mock/requests", mock.recorded, methods=["GET", "DELETE"]),
        Route("/_mock/stats", mock.stats, methods=["GET"]),
        Route("/_mock/scenarios", mock.scenarios.every, methods=["GET", "DELETE"]),
        Route("/_mock/scenarios/{name}", mock.scenarios.one, methods=["GET", "PUT", "DELETE"]),
        Route("/_mock/jwks.json", mock.jwks, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        # Anthropic's API answers here; Claude Code sends a HEAD at start-up to open its
        # connection early and reads only the status.
        Route("/api/hello", _health, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: mock.not_found, 405: mock.not_found},
        middleware=[Middleware(ScenarioPrefix, scenarios=mock.scenarios)],
    )


def _gemini_routes(mock: _Mock) -> list[Route]:
    """Gemini's API under `/v1beta`, and Vertex AI's paths for Google's and Anthropic's models."""
    out: list[Route] = []
    vertex = "/v1/projects/{project}/locations/{location}/publishers"
    for prefix, dialect in (
        ("/v1beta/models", mock.gemini),
        (f"{vertex}/google/models", mock.vertex),
    ):
        out += [
            Route(
                prefix + "/{model}:generateContent",
                mock.post_model(lambda m: gemini.generate(m, streams=False), dialect),
                methods=["POST"],
            ),
            Route(
                prefix + "/{model}:streamGenerateContent",
                mock.post_model(
                    lambda m: gemini.generate(m, streams=True), dialect, always_streams=True
                ),
                methods=["POST"],
            ),
            Route(
                prefix + "/{model}:countTokens",
                mock.post_model(gemini.count, dialect),
                methods=["POST"],
            ),
        ]
    out.append(Route("/v1beta/models", mock.get_gemini(gemini.list_models), methods=["GET"]))
    anthropic = mock.vertex_anthropic
    out += [
        Route(
            f"{vertex}/anthropic/models/{{model}}:rawPredict",
            mock.post_model(
                lambda m: gemini.vertex_anthropic(m, messages, count_message_tokens), anthropic
            ),
            methods=["POST"],
        ),
        Route(
            f"{vertex}/anthropic/models/{{model}}:streamRawPredict",
            mock.post_model(
                lambda m: gemini.vertex_anthropic(m, messages, count_message_tokens), anthropic
            ),
            methods=["POST"],
        ),
    ]
    return out


def app_from_env() -> Starlette:
    """The Granian factory target: settings come as JSON in `PALISADE_MOCK_SETTINGS`."""
    return create_mock_app(MockSettings.from_json(os.environ.get(SETTINGS_ENV) or "{}"))
