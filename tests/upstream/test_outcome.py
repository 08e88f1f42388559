"""Which failures are worth another attempt, in each provider's wording."""

from __future__ import annotations

import pytest

from palisade.upstream.outcome import from_body, from_status, reads_body


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
