"""Gateway errors as responses: the status, the gateway's header, and whether a client should
retry."""

from __future__ import annotations

import pytest

from palisade.errors import GatewayError, GuardrailViolation, ModelNotFound, UpstreamTimeout


@pytest.mark.parametrize(
    "error",
    [
        GatewayError("bad key", status=401),
        GatewayError("not this model", status=403),
        GatewayError("budget spent", status=402),
        ModelNotFound("no such model"),
        GuardrailViolation("blocked"),
        GatewayError("too large", status=413),
    ],
)
def test_a_refusal_that_a_retry_cannot_change_says_so(error: GatewayError) -> None:
    # Claude Code retries a 401 for minutes unless the answer says not to.
    response = error.to_response()
    assert response.headers["x-should-retry"] == "false"
    assert response.headers["x-palisade-error"]


@pytest.mark.parametrize(
    "error",
    [
        GatewayError("slow body", status=408),
        GatewayError("conflict", status=409),
        GatewayError("rate limited", status=429, headers={"retry-after": "2"}),
        UpstreamTimeout("provider too slow"),
        GatewayError("draining", status=503),
    ],
)
def test_a_retryable_error_leaves_the_choice_to_the_client(error: GatewayError) -> None:
    response = error.to_response()
    assert "x-should-retry" not in response.headers


def test_headers_the_error_carries_win() -> None:
    error = GatewayError("try later", status=403, headers={"x-should-retry": "true"})
    assert error.to_response().headers["x-should-retry"] == "true"
