"""Which failures are worth another attempt, in each provider's wording."""

from __future__ import annotations

import pytest

from palisade._core import EventStreamParser, SseEvent, SseParser, frame_event, frame_exception
from palisade.upstream.outcome import from_body, from_status, from_stream, reads_body


@pytest.mark.parametrize(
    ("status", "condition"),
    [(429, "rate_limited"), (500, "server_error"), (503, "server_error"), (529, "server_error"),
     (408, "timeout"), (400, None), (401, None), (404, None)],
)  # fmt: skip
def test_status(status: int, condition: str | None) -> None:
    assert from_status(status) == condition


def test_only_client_errors_need_their_body() -> None:
    assert reads_body(400)
    assert reads_body(413)
    assert reads_body(422)
    assert not reads_body(429)
    assert not reads_body(408)
    assert not reads_body(500)


@pytest.mark.parametrize(
    ("body", "condition"),
    [
        # OpenAI
        (b'{"error": {"code": "context_length_exceeded", "message": "This model\'s maximum '
         b'context length is 128000 tokens."}}', "context_window_exceeded"),
        # Anthropic
        (b'{"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is '
         b'too long: 210000 tokens > 200000 maximum"}}', "context_window_exceeded"),
        # Bedrock
        (b'{"message": "Input is too long for requested model."}', "context_window_exceeded"),
        # Azure OpenAI
        (b'{"error": {"code": "content_filter", "message": "The response was filtered due to '
         b'the prompt triggering Azure OpenAI\'s content management policy."}}',
         "content_filtered"),
        (b'{"error": {"code": "content_policy_violation"}}', "content_filtered"),
        (b'{"error": {"message": "Invalid value for temperature"}}', None),
        (b"", None),
    ],
)  # fmt: skip
def test_body(body: bytes, condition: str | None) -> None:
    assert from_body(body) == condition


def _sse(text: str) -> list[SseEvent]:
    return SseParser().feed(text.encode())


@pytest.mark.parametrize(
    ("stream", "condition"),
    [
        # Anthropic's overload after its 200, as the mock and the API send it.
        ('event: message_start\ndata: {"type":"message_start"}\n\n'
         'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
         '"message":"Overloaded"}}\n\n', "server_error"),
        ('event: error\ndata: {"type":"error","error":{"type":"rate_limit_error",'
         '"message":"Rate limited"}}\n\n', "rate_limited"),
        # An OpenAI-compatible server's error object in a chat stream; Gemini's alike.
        ('data: {"error":{"message":"The server had an error","type":"server_error"}}\n\n',
         "server_error"),
        ('data: {"error":{"code":429,"message":"Resource has been exhausted",'
         '"status":"RESOURCE_EXHAUSTED"}}\n\n', "rate_limited"),
        ('data: {"error":{"message":"This model\'s maximum context length is 128000 tokens",'
         '"code":"context_length_exceeded"}}\n\n', "context_window_exceeded"),
        # Cohere's failed generation, and Gemini's refusal of the prompt.
        ('event: message-end\ndata: {"type":"message-end","delta":{"finish_reason":"ERROR",'
         '"error":"internal error"}}\n\n', "server_error"),
        ('data: {"promptFeedback":{"blockReason":"SAFETY"}}\n\n', "content_filtered"),
        # Streams that are fine: content, a normal end, a text that names an error.
        ('data: {"id":"c1","choices":[{"delta":{"content":"error: \\"error\\""}}]}\n\n', None),
        ('event: message-end\ndata: {"type":"message-end","delta":{"finish_reason":"COMPLETE"}}'
         "\n\n", None),
        ("event: error\ndata: {", None),  # not a whole event yet: nothing to judge
    ],
)  # fmt: skip
def test_an_error_event_in_a_streams_first_chunk(stream: str, condition: str | None) -> None:
    assert from_stream(_sse(stream)) == condition


def test_bedrocks_exception_messages_are_errors() -> None:
    chunk = frame_event("messageStart", b'{"role":"assistant"}') + frame_exception(
        "throttlingException", b'{"message":"Too many requests, please wait."}'
    )
    assert from_stream(EventStreamParser().feed(chunk)) == "rate_limited"
    failed = frame_exception("modelStreamErrorException", b'{"message":"boom"}')
    assert from_stream(EventStreamParser().feed(failed)) == "server_error"
