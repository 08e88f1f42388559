"""Every error case arrives as the SDK's matching exception, in the OpenAI error format."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import httpx2 as httpx
import openai
import pytest

from tests.e2e.conftest import MAX_BODY_BYTES, MOCK_KEY, Stack
from tests.helpers.raw_http import closed, read_answer

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


def test_malformed_json_is_400(client: openai.OpenAI) -> None:
    # The SDK's own low-level call, with raw bytes: its typed methods cannot send broken JSON.
    with pytest.raises(openai.BadRequestError) as info:
        client.post(
            "/chat/completions",
            cast_to=object,
            content=b'{"model": "mock-gpt", "messages": [',
            options={"headers": {"Content-Type": "application/json"}},
        )
    assert error_of(info.value)["code"] == "invalid_json"
    assert info.value.response.headers["x-palisade-error"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b'{"messages": []}', 400, "missing_model"),
        (b'{"model": "mock-gpt", "stream": "yes", "messages": []}', 400, "invalid_request"),
        (b'{"model": "mock-gpt", "stream": true, "stream_options": 3}', 400, "invalid_request"),
    ],
)
def test_bad_bodies_get_clear_400s(stack: Stack, body: bytes, status: int, code: str) -> None:
    answer = httpx.post(
        f"{stack.gateway}/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_body_over_the_limit_is_413(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="mock-gpt", messages=[{"role": "user", "content": "x" * (MAX_BODY_BYTES + 1)}]
        )
    assert info.value.status_code == 413
    assert error_of(info.value)["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413(stack: Stack) -> None:
    def body() -> Any:
        for _ in range(MAX_BODY_BYTES // 8192 + 2):
            yield b" " * 8192

    answer = httpx.post(
        f"{stack.gateway}/v1/chat/completions",
        content=body(),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413


def _exchange(sock: socket.socket, head: bytes, body: bytes) -> tuple[int, dict[str, str]]:
    """One request on a kept-alive connection; the status and headers of its answer. A client
    still sending when the gateway answers may see its write fail: the answer is then read all
    the same, as HTTP clients do."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(head + body)
    status, headers, _ = read_answer(sock)
    return status, headers


@pytest.mark.parametrize("chunked", [False, True])
def test_a_413_closes_the_connection_and_says_so(stack: Stack, chunked: bool) -> None:
    # A declared length over the limit is refused before a byte of it is read, a chunked body
    # once it passes the limit; either way bytes are left unread, so the answer says
    # `Connection: close` (a client that reused the connection would lose its next request)
    # and the connection closes. The next request, on a new connection, is served.
    host, port = stack.gateway.removeprefix("http://").split(":")
    big = b'{"model": "mock-gpt", "messages": [{"role": "user", "content": "%s"}]}' % (
        b"x" * (MAX_BODY_BYTES + 1)
    )
    small = b'{"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}'
    start = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    if chunked:
        pieces = [big[i : i + 8192] for i in range(0, len(big), 8192)]
        first = start + b"Transfer-Encoding: chunked\r\n\r\n"
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    else:
        first, payload = start + b"Content-Length: %d\r\n\r\n" % len(big), big
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        status, headers = _exchange(sock, first, payload)
        assert status == 413
        assert headers["connection"] == "close"
        assert headers["x-palisade-request-id"].startswith("req_")
        assert closed(sock)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        then = start + b"Content-Length: %d\r\n\r\n" % len(small)
        status, headers = _exchange(sock, then, small)
        assert status == 200
        assert "connection" not in headers


def test_a_declared_length_over_the_limit_is_answered_before_the_body(stack: Stack) -> None:
    # Only the head is sent: the 413 comes at once, it does not wait for the body.
    host, port = stack.gateway.removeprefix("http://").split(":")
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        status, headers = _exchange(sock, head, b"{")
        assert status == 413
        assert headers["connection"] == "close"
        assert closed(sock)


def test_wrong_content_type_is_415(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="mock-gpt", messages=MESSAGES, extra_headers={"Content-Type": "text/plain"}
        )
    assert info.value.status_code == 415
    assert error_of(info.value)["code"] == "unsupported_media_type"


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="unrouted-nine", messages=MESSAGES)
    error = error_of(info.value)
    assert error["code"] == "model_not_found"
    assert error["param"] == "model"


def test_unreachable_upstream_is_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="dead:any", messages=MESSAGES)
    assert info.value.status_code == 502
    error = error_of(info.value)
    assert error["code"] == "upstream_unreachable"
    assert "dead" in error["message"]


def test_upstream_timeout_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(
            model="slow:any", messages=MESSAGES, extra_body={"mock": {"fail": "hang"}}
        )
    assert info.value.status_code == 504
    assert error_of(info.value)["code"] == "upstream_timeout"


@pytest.mark.parametrize(
    ("knobs", "exc_type", "status"),
    [
        ({"fail": "429", "retry_after": "7"}, openai.RateLimitError, 429),
        ({"fail": "500"}, openai.InternalServerError, 500),
        ({"fail": "503"}, openai.InternalServerError, 503),
    ],
)
def test_upstream_errors_pass_through_unchanged(
    client: openai.OpenAI,
    stack: Stack,
    knobs: dict[str, Any],
    exc_type: type[openai.APIStatusError],
    status: int,
) -> None:
    body = {"model": "mock-gpt", "messages": MESSAGES, "mock": knobs}
    direct = httpx.post(
        f"{stack.mock}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {MOCK_KEY}"},
    )
    with pytest.raises(exc_type) as info:
        client.chat.completions.create(
            model="mock-gpt", messages=MESSAGES, extra_body={"mock": knobs}
        )
    via_gateway = info.value.response
    assert via_gateway.status_code == direct.status_code == status
    assert via_gateway.content == direct.content
    assert "x-palisade-error" not in via_gateway.headers
    if status == 429:
        assert via_gateway.headers["retry-after"] == direct.headers["retry-after"] == "7"


def test_unknown_route_and_wrong_method_are_json(stack: Stack) -> None:
    missing = httpx.get(f"{stack.gateway}/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(f"{stack.gateway}/v1/chat/completions")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_health_and_ready(stack: Stack) -> None:
    assert httpx.get(f"{stack.gateway}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{stack.gateway}/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_upstream_body_broken_off_is_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(
            model="mock-gpt", messages=MESSAGES, extra_body={"mock": {"fail": "drop"}}
        )
    assert info.value.status_code == 502
    assert error_of(info.value)["code"] == "upstream_unreachable"
