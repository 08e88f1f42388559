"""Injected failures (`mock.fail`): provider errors, a dropped connection, a request that hangs."""

from __future__ import annotations

import asyncio

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from palisade.mock.errors import error_response
from palisade.mock.knobs import Knobs
from palisade.mock.ratelimit import openai_headers
from palisade.mock.sse import pause

HANG_SECONDS = 3600.0


class DroppedResponse(Response):
    """A non-stream answer cut off: the status line and headers, then the connection closes.

    The ASGI server offers no way to close a connection before the status line, so this is the
    closest to "no answer": a body announced by Content-Length that never arrives.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [h for h in self.raw_headers if h[0] != b"content-length"]
        headers.append((b"content-length", b"256"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": ', "more_body": True})


class HangingResponse(Response):
    """Never answers; ends early only when the client disconnects, so tasks do not pile up.

    `timeout` is the answer should the hour ever pass, in the endpoint's dialect.
    """

    def __init__(self, timeout: Response | None = None) -> None:
        super().__init__(status_code=504)
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.wait_for(_disconnected(receive), HANG_SECONDS)
        except TimeoutError:
            response = self.timeout
            if response is None:
                response = error_response(504, "mock hang elapsed", type="server_error")
            await response(scope, receive, send)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def failure_response(knobs: Knobs) -> Response:
    """The answer for `knobs.fail`, except a streamed `drop`, which the stream itself performs."""
    if knobs.fail == "hang":
        return HangingResponse()
    await pause(knobs.latency_ms)
    if knobs.fail == "429":
        return error_response(
            429,
            "Rate limit reached for requests (mock). Please try again later.",
            type="requests",
            code="rate_limit_exceeded",
            headers=openai_headers(knobs.retry_after),
        )
    if knobs.fail == "500":
        return error_response(
            500,
            "The server had an error while processing your request. Sorry about that!",
            type="server_error",
        )
    if knobs.fail == "503":
        return error_response(
            503,
            "The server is overloaded or not ready yet.",
            type="server_error",
            code="service_unavailable",
        )
    if knobs.fail == "context_length":
        return error_response(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 131072 tokens. Please reduce the length of the messages.",
            type="invalid_request_error",
            param="messages",
            code="context_length_exceeded",
        )
    if knobs.fail == "content_filter":
        return Response(orjson.dumps(CONTENT_FILTERED), 400, media_type="application/json")
    return DroppedResponse()


# Azure OpenAI's refusal of a prompt its content filter blocks (OpenAI's own API has none for
# chat); the OpenAI-compatible APIs that filter answer alike.
CONTENT_FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "medium"},
            },
        },
    }
}
