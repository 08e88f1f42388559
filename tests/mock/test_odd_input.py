"""Odd input gets a 400 from the mock, as from the real API, never a 500: the gateway relays a
provider's 500 unchanged, so a mock that crashed would show up as a gateway failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.odd_bodies import CHAT_BODY, RESPONSES_BODY, encode
from tests.helpers.servers import RunningServer

USER = {"role": "user", "content": "hi"}


@pytest.fixture(scope="module")
def mock(mock_server: RunningServer) -> Iterator[httpx.Client]:
    headers = {"authorization": "Bearer sk-test"}
    with httpx.Client(base_url=mock_server.url, headers=headers, timeout=10) as client:
        yield client


def _tool(parameters: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "lookup", "parameters": parameters}}


def _schema(kind: str, minimum: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": {"type": kind, "minimum": minimum}}}


@pytest.mark.parametrize("tool_calls", [5, 1.5, True, "call", {"id": "x"}])
def test_tool_calls_that_are_not_an_array_are_400(mock: httpx.Client, tool_calls: Any) -> None:
    messages = [USER, {"role": "assistant", "content": None, "tool_calls": tool_calls}]
    answer = mock.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages[1].tool_calls"
    assert error["code"] == "invalid_type"


def test_null_tool_calls_are_no_tool_calls(mock: httpx.Client) -> None:
    messages = [USER, {"role": "assistant", "content": "ok", "tool_calls": None}]
    answer = mock.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    assert answer.status_code == 200


@pytest.mark.parametrize("minimum", ["1", None, [], {}, True])
@pytest.mark.parametrize("kind", ["integer", "number"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_a_minimum_that_is_not_a_number_is_400(
    mock: httpx.Client, path: str, kind: str, minimum: Any
) -> None:
    tool = _tool(_schema(kind, minimum))
    if path == "/v1/responses":
        body = {"model": "m", "input": "hi", "tools": [{"type": "function", **tool["function"]}]}
    else:
        body = {"model": "m", "messages": [USER], "tools": [tool]}
    answer = mock.post(path, json={**body, "tool_choice": "required"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "tools"
    assert error["code"] == "invalid_function_parameters"


@pytest.mark.parametrize(
    ("kind", "minimum", "value"),
    [
        ("integer", 7, 7),
        ("integer", 2.5, 2),
        ("integer", 1e300, 1e300),
        ("integer", -1e300, -1e300),
        ("integer", 2**64 - 1, 2**64 - 1),
        ("number", 1e300, 1e300),
    ],
)
def test_arguments_for_huge_minimums_are_still_json(
    mock: httpx.Client, kind: str, minimum: Any, value: Any
) -> None:
    body = {
        "model": "m",
        "messages": [USER],
        "tools": [_tool(_schema(kind, minimum))],
        "tool_choice": "required",
    }
    answer = mock.post("/v1/chat/completions", content=orjson.dumps(body))
    assert answer.status_code == 200, answer.text
    call = answer.json()["choices"][0]["message"]["tool_calls"][0]
    assert orjson.loads(call["function"]["arguments"]) == {"a": value}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/responses"]),
    data=st.data(),
)
def test_odd_bodies_never_get_a_500(mock: httpx.Client, path: str, data: st.DataObject) -> None:
    strategy = RESPONSES_BODY if path == "/v1/responses" else CHAT_BODY
    raw = encode(data.draw(strategy, label="body"), ascii_only=True)
    answer = mock.post(path, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code in {200, 400}, (raw[:500], answer.text[:500])
    if answer.status_code == 400:
        assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
