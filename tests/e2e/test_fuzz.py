"""Bad input never causes a 500.

Hypothesis generates malformed, oversized, deeply nested and odd-typed bodies and sends them to a
real gateway (Granian) in front of the real mock provider, on the plain routes and through a
proxy with every kind of guardrail. Every answer must be a 4xx error in the OpenAI format or a
valid 200 completion (streamed or not). Texts that make the guardrails fire are mixed in, so the
odd shapes reach the guardrails' code and not only the type checks in front of it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseOutputItem, ResponseUsage
from pydantic import TypeAdapter

from palisade._core import json_shape
from tests.helpers.odd_bodies import (
    ANY_JSON,
    CHAT_BODY,
    MODEL,
    RESPONSES_BODY,
    SURROGATES,
    encode,
    weighted,
)
from tests.helpers.servers import free_port, start_process_server
from tests.helpers.spec_config import SPEC_GUARDRAILS

MOCK_KEY = "fuzz-mock-key"
MAX_BODY = 256 * 1024
MAX_DEPTH = 64
MAX_MESSAGES = 2048

ROUTES = {
    "chat": "/v1/chat/completions",
    "guarded-chat": "/v1/openai/guarded/chat/completions",
    "responses": "/v1/responses",
    "guarded-responses": "/v1/openai/guarded/responses",
}


@dataclass(frozen=True)
class Case:
    body: bytes
    content_type: str | None = "application/json"
    chunked: bool = False
    expect: tuple[int, str] | None = None
    """(status, code) that the gateway must answer, when the case is built to hit one rule."""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("fuzz")
    mock_port, gateway_port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    _write_config(config, gateway_port, mock_port)
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*palisade, "serve", "--config", str(config)], gateway_port),
        httpx.Client(base_url=f"http://127.0.0.1:{gateway_port}", timeout=30) as client,
    ):
        yield client


def _write_config(path: Path, gateway_port: int, mock_port: int) -> None:
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {gateway_port}}}
store: {{sqlite_path: {path.parent / "palisade.db"}}}
auto_providers: false
firewall: {{max_body_bytes: {MAX_BODY}, max_json_depth: {MAX_DEPTH}, max_messages: {MAX_MESSAGES}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*", "gpt-*"]
{SPEC_GUARDRAILS}"""
    )


# ---- cases ---------------------------------------------------------------------------------

CONTENT_TYPE = st.sampled_from(
    (
        *["application/json"] * 16,
        "application/json; charset=utf-8",
        "application/vnd.openai+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    )
)


@st.composite
def odd_case(draw: st.DrawFn, body: st.SearchStrategy[dict[str, Any]]) -> Case:
    raw = encode(draw(body), draw(st.booleans()))
    return Case(raw, draw(CONTENT_TYPE), chunked=draw(st.booleans()))


@st.composite
def broken_json_case(draw: st.DrawFn, body: st.SearchStrategy[dict[str, Any]]) -> Case:
    valid = encode(draw(body), True)
    with_surrogate = {**draw(body), draw(st.sampled_from(("model", "user", "x"))): draw(SURROGATES)}
    raw = draw(
        st.one_of(
            st.booleans().map(lambda ascii_only: encode(with_surrogate, ascii_only)),
            st.binary(max_size=200),
            st.integers(0, max(len(valid) - 1, 0)).map(lambda cut: valid[:cut]),
            st.just(b"\xef\xbb\xbf" + valid),
            st.just(valid + b" trailing"),
            st.just(valid.replace(b"}", b",}", 1)),
            st.just(valid.replace(b'"', b"'")),
            ANY_JSON.map(lambda v: encode(v, True)),
            st.sampled_from(
                (
                    b"",
                    b"null",
                    b"NaN",
                    b'{"model": "mock-fuzz", "messages": [], "temperature": NaN}',
                    b'{"model": "mock-fuzz", "messages": [], "n": 1e999}',
                    b'{"model": "mock-fuzz", "messages": [{"role": "user", "content": "\\ud800"}]}',
                    b'{"model": "mock-fuzz", "messages": [{"role": "user", "content": "\xff"}]}',
                    b'{"model": "mock-fuzz", "model": 3, "messages": []}',
                    b'{"model": "mock-fuzz" /* c */, "messages": []}',
                    b'{"model": "mock-fuzz", "messages": [{"role": "user", "content": "\x01"}]}',
                )
            ),
        )
    )
    return Case(raw, draw(CONTENT_TYPE), chunked=draw(st.booleans()))


@st.composite
def deep_case(draw: st.DrawFn, list_key: str) -> Case:
    levels = draw(st.integers(MAX_DEPTH // 2, 20_000))
    opener, closer = draw(st.sampled_from(((b"[", b"]"), (b'{"a":', b"}"), (b'[{"a":', b"}]"))))
    depth = levels * (opener.count(b"[") + opener.count(b"{"))
    # The brackets in the string must not count; only the nesting after it does.
    inner = opener * levels + b'"[[[{{{\\"]]"' + closer * levels
    where = draw(st.sampled_from(("top", "content", "unclosed")))
    if where == "top":
        raw = inner
    elif where == "content":
        depth += 3
        raw = b'{"model": "%s", "%s": [{"role": "user", "content": %s}]}' % (
            MODEL.encode(),
            list_key.encode(),
            inner,
        )
    else:
        raw = opener * levels
    if len(raw) > MAX_BODY:
        return Case(raw, expect=(413, "request_too_large"))
    return Case(raw, expect=(400, "json_too_deep") if depth > MAX_DEPTH else None)


@st.composite
def many_messages_case(draw: st.DrawFn, list_key: str) -> Case:
    count = draw(st.sampled_from((MAX_MESSAGES, MAX_MESSAGES + 1, 3 * MAX_MESSAGES)))
    item = draw(st.sampled_from(({"role": "user", "content": "hi"}, {}, "x", None)))
    raw = orjson.dumps({"model": MODEL, list_key: [item] * count})
    over = count > MAX_MESSAGES
    return Case(
        raw, chunked=draw(st.booleans()), expect=(400, "too_many_messages") if over else None
    )


@st.composite
def oversized_case(draw: st.DrawFn, list_key: str) -> Case:
    extra = draw(st.sampled_from((1, 1000, 3 * MAX_BODY)))
    filler = "x" * (MAX_BODY + extra)
    raw = orjson.dumps({"model": MODEL, list_key: [{"role": "user", "content": filler}]})
    return Case(raw, chunked=draw(st.booleans()), expect=(413, "request_too_large"))


def cases(route: str) -> st.SearchStrategy[Case]:
    responses = route.endswith("responses")
    body = RESPONSES_BODY if responses else CHAT_BODY
    list_key = "input" if responses else "messages"
    return weighted(
        (10, odd_case(body)),
        (2, broken_json_case(body)),
        (1, deep_case(list_key)),
        (1, many_messages_case(list_key)),
        (1, oversized_case(list_key)),
    )


# ---- checks --------------------------------------------------------------------------------


def send(client: httpx.Client, path: str, case: Case) -> httpx.Response:
    headers = {"authorization": "Bearer fuzz-client"}
    if case.content_type is not None:
        headers["content-type"] = case.content_type
    if case.chunked:
        # No Content-Length: the gateway has to count the streamed body against its limit.
        half = len(case.body) // 2
        pieces = iter([case.body[:half], case.body[half:]])
        return client.post(path, content=pieces, headers=headers)
    return client.post(path, content=case.body, headers=headers)


def check_answer(path: str, case: Case, answer: httpx.Response) -> None:
    status = answer.status_code
    shown = f"{path} {case.content_type} {case.body[:300]!r} -> {status} {answer.content[:500]!r}"
    assert status < 500, shown
    if case.expect is not None and case.content_type == "application/json":
        assert (status, _error_code(answer)) == case.expect, shown
    if status >= 400:
        assert 400 <= status < 500, shown
        assert answer.headers["content-type"].startswith("application/json"), shown
        body = orjson.loads(answer.content)
        assert isinstance(body, dict), shown
        assert set(body) == {"error"}, shown
        check_error(body["error"], shown)
        return
    assert status == 200, shown
    media = answer.headers["content-type"].split(";")[0]
    responses = path.endswith("responses")
    if media == "text/event-stream":
        if responses:
            check_responses_stream(answer.content, shown)
        else:
            check_chat_stream(answer.content, shown)
        return
    assert media == "application/json", shown
    payload = orjson.loads(answer.content)
    if responses:
        check_response(payload, shown)
    else:
        completion = ChatCompletion.model_validate(payload)
        assert completion.object == "chat.completion", shown
        assert completion.choices, shown


_OUTPUT = TypeAdapter(list[ResponseOutputItem])


def check_response(payload: Any, shown: str) -> None:
    """A Responses API object, checked where the answer is the provider's own making. Not
    against the whole `Response` type: the mock echoes request fields (`tool_choice`,
    `temperature`, `tools`, ...) as it got them, where the real API would have refused odd ones."""
    assert isinstance(payload, dict), shown
    assert payload["object"] == "response", shown
    assert isinstance(payload["id"], str), shown
    assert payload["status"] in {"completed", "incomplete"}, shown
    _OUTPUT.validate_python(payload["output"])
    ResponseUsage.model_validate(payload["usage"])


def check_error(error: Any, shown: str) -> None:
    assert isinstance(error, dict), shown
    assert set(error) == {"message", "type", "param", "code"}, shown
    assert isinstance(error["message"], str), shown
    assert error["message"], shown
    assert isinstance(error["type"], str), shown
    assert error["type"], shown
    assert error["param"] is None or isinstance(error["param"], str), shown
    assert error["code"] is None or isinstance(error["code"], str), shown


def _error_code(answer: httpx.Response) -> str | None:
    try:
        body = orjson.loads(answer.content)
        code = body["error"]["code"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def sse_events(raw: bytes, shown: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each event; every event here carries exactly one data line."""
    events: list[tuple[str | None, str]] = []
    text = raw.decode()
    assert text.endswith("\n\n"), shown
    for block in text.split("\n\n")[:-1]:
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            events.append((name, "\n".join(data)))
    assert events, shown
    return events


def check_chat_stream(raw: bytes, shown: str) -> None:
    """Chunks, then `[DONE]`; or chunks that end with an error event (a mid-stream block)."""
    events = sse_events(raw, shown)
    done = events[-1][1] == "[DONE]"
    payloads = [orjson.loads(data) for _, data in (events[:-1] if done else events)]
    assert payloads, shown
    for payload in payloads[:-1]:
        assert ChatCompletionChunk.model_validate(payload).object == "chat.completion.chunk"
    last = payloads[-1]
    if "error" in last:
        check_error(last["error"], shown)
    else:
        assert done, shown
        ChatCompletionChunk.model_validate(last)


def check_responses_stream(raw: bytes, shown: str) -> None:
    """Typed events; the last one completes the response or reports an error."""
    events = sse_events(raw, shown)
    payloads = [orjson.loads(data) for _, data in events]
    for (name, _), payload in zip(events, payloads, strict=True):
        assert isinstance(payload, dict), shown
        assert isinstance(payload.get("type"), str), shown
        assert name is None or name == payload["type"], shown
    numbers = [p["sequence_number"] for p in payloads if "sequence_number" in p]
    assert numbers == sorted(set(numbers)), shown
    last = payloads[-1]
    assert last["type"] in {"response.completed", "response.incomplete", "error"}, shown
    if last["type"] == "error":
        assert isinstance(last.get("message"), str) or isinstance(last.get("error"), dict), shown
    else:
        check_response(last["response"], shown)


# ---- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(ROUTES))
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_bad_input_never_causes_a_5xx(
    gateway: httpx.Client, route: str, data: st.DataObject
) -> None:
    path = ROUTES[route]
    case = data.draw(cases(path), label="case")
    check_answer(path, case, send(gateway, path, case))


@pytest.mark.parametrize("route", list(ROUTES))
def test_shape_limits_answer_with_their_codes(gateway: httpx.Client, route: str) -> None:
    path = ROUTES[route]
    list_key = "input" if route.endswith("responses") else "messages"
    deep: Any = "[[[ in a string ]]]"
    for _ in range(MAX_DEPTH):
        deep = [deep]
    answer = send(gateway, path, Case(orjson.dumps({"model": MODEL, list_key: deep})))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "json_too_deep"
    assert error["type"] == "invalid_request_error"
    assert f"{MAX_DEPTH} levels" in error["message"]

    many = [{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1)
    answer = send(gateway, path, Case(orjson.dumps({"model": MODEL, list_key: many})))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("too_many_messages", list_key)
    assert str(MAX_MESSAGES) in error["message"]


@pytest.mark.parametrize("route", list(ROUTES))
def test_at_the_limits_requests_still_pass(gateway: httpx.Client, route: str) -> None:
    path = ROUTES[route]
    list_key = "input" if route.endswith("responses") else "messages"
    # Depth 64 exactly: the body object, the list, the message, its content parts list and the
    # part make 5 levels; nested lists in the part's extra field make the other 59.
    filler: Any = []
    for _ in range(MAX_DEPTH - 6):
        filler = [filler]
    message = {"role": "user", "content": [{"type": "text", "text": "hello", "x": filler}]}
    messages = [message] + [{"role": "user", "content": "hi"}] * (MAX_MESSAGES - 1)
    body = orjson.dumps({"model": MODEL, list_key: messages})
    too_deep = json_shape(body, MAX_DEPTH - 1)
    assert json_shape(body, MAX_DEPTH) is None
    assert too_deep is not None
    assert too_deep.kind == "too_deep"
    answer = send(gateway, path, Case(body))
    assert answer.status_code == 200, answer.text
