"""Why an attempt failed, in the words of `routing.retry_on` / `fallback_on`.

The status says most of it. A 400-class answer is a failure of the provider only when it says
the prompt is too long for the model or its content filter refused: then another model may
succeed. Each dialect words these differently; the markers below are the providers' own
(OpenAI's `context_length_exceeded` and `content_filter`, Anthropic's "prompt is too long",
Gemini's `SAFETY`, Bedrock's "Input is too long", Azure's `content_policy_violation`, ...),
searched in the error body, which is small.

A stream can also fail after its 200: Anthropic reports an overload as an `error` event, and
the others have their own forms (`from_stream`). Found among the events of the first chunk,
read before the gateway commits, it is a failure like an error status: nothing has reached the
client yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from palisade._core import SseEvent
from palisade.config.routing import Condition

_CONTEXT = (
    b"context_length_exceeded",
    b"maximum context length",
    b"context window",
    b"prompt is too long",
    b"input is too long",
    b"too many tokens",
    b"exceeds the maximum number of tokens",
    b"string_above_max_length",
)
_FILTERED = (
    b"content_filter",
    b"content_policy_violation",
    b"responsible ai",
    b"safety",
    b"blocked by",
    b"guardrail_intervened",
)


def from_status(status: int) -> Condition | None:
    """The condition a status alone tells; None for a 400-class answer (see `from_body`)."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"  # 529 (Anthropic's overloaded) included
    if status == 408:
        return "timeout"
    return None


def reads_body(status: int) -> bool:
    """Whether the body may change the verdict (a 400-class answer other than 429)."""
    return 400 <= status < 500 and status not in (408, 429)


def from_body(body: bytes) -> Condition | None:
    text = body[:16384].lower()
    if any(marker in text for marker in _CONTEXT):
        return "context_window_exceeded"
    if any(marker in text for marker in _FILTERED):
        return "content_filtered"
    return None


_RATE_LIMITED = ("rate_limit", "throttl", "resource_exhausted", "too many requests", "quota")


def from_stream(events: Iterable[SseEvent]) -> Condition | None:
    """The condition of the first error event among `events`, None when there is none. Error
    events: Anthropic's and OpenAI Responses' `error`, Bedrock's exception messages (their
    `:exception-type`, `throttlingException`), a data object whose key is `error`
    (OpenAI-compatible chat streams, Gemini), Cohere's `message-end` whose `finish_reason` is
    `ERROR`; and Gemini's refusal of the prompt (`promptFeedback.blockReason`)."""
    for event in events:
        name, data = event.event, event.data
        if '"blockReason"' in data:
            return "content_filtered"
        if not (
            name == "error"
            or name.endswith("Exception")
            or data.startswith('{"error"')
            or (name == "message-end" and '"ERROR"' in data)
        ):
            continue
        text = f"{name} {data[:16384]}".lower()
        if any(marker in text for marker in _RATE_LIMITED):
            return "rate_limited"
        return from_body(text.encode()) or "server_error"
    return None
