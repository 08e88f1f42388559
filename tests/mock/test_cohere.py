"""The mock's Cohere side (`/v2/chat`, `/v2/embed`) driven by the official cohere SDK: answers
that parse into its typed models, tools, citations, streams, auth and injected failures."""

from __future__ import annotations

import json
from typing import Any

import cohere
import httpx
import pytest

from tests.helpers.servers import RunningServer

MESSAGES: list[Any] = [{"role": "user", "content": "Hello"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Looks a word up.",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
        },
    },
}


def knobs(**values: Any) -> Any:
    return {"additional_body_parameters": {"mock": values}}


@pytest.fixture(scope="module")
def co(mock_server: RunningServer) -> Any:
    return cohere.ClientV2(api_key="sk-test", base_url=mock_server.url, timeout=10)


def test_chat_is_deterministic_and_counts_usage(co: Any) -> None:
    first = co.chat(model="command-a", messages=MESSAGES)
    second = co.chat(model="command-a", messages=MESSAGES)
    assert first.message.content
    assert second.message.content
    assert first.message.content[0].text == second.message.content[0].text
    assert first.finish_reason == "COMPLETE"
    assert first.usage
    assert first.usage.billed_units
    assert first.usage.tokens
    assert first.usage.tokens.input_tokens == (first.usage.billed_units.input_tokens or 0) + 7


def test_max_tokens_and_stop_sequences(co: Any) -> None:
    cut = co.chat(
        model="m", messages=MESSAGES, max_tokens=2, request_options=knobs(reply="a b c d")
    )
    assert cut.finish_reason == "MAX_TOKENS"
    assert cut.message.content
    assert cut.message.content[0].text == "a b"
    stopped = co.chat(
        model="m",
        messages=MESSAGES,
        stop_sequences=["c"],
        request_options=knobs(reply="a b c d"),
    )
    assert stopped.finish_reason == "STOP_SEQUENCE"
    assert stopped.message.content
    assert stopped.message.content[0].text == "a b "


def test_required_tool_choice_calls_the_first_tool(co: Any) -> None:
    answer = co.chat(model="m", messages=MESSAGES, tools=[TOOL], tool_choice="REQUIRED")
    assert answer.finish_reason == "TOOL_CALL"
    [call] = answer.message.tool_calls or []
    assert call.function
    assert call.function.name == "lookup"
    assert "word" in json.loads(call.function.arguments or "{}")
    auto = co.chat(model="m", messages=MESSAGES, tools=[TOOL])
    assert auto.finish_reason == "COMPLETE"


def test_documents_are_cited(co: Any) -> None:
    answer = co.chat(
        model="m",
        messages=MESSAGES,
        documents=["first doc", {"id": "two", "data": {"title": "Second"}}],
        request_options=knobs(reply="Alpha beta gamma"),
    )
    citations = answer.message.citations or []
    assert [c.text for c in citations] == ["Alpha", "beta"]
    assert [c.sources[0].id for c in citations if c.sources] == ["doc:0", "two"]
    assert (citations[1].start, citations[1].end) == (6, 10)


def test_a_stream_sends_named_events(mock_server: RunningServer) -> None:
    with httpx.stream(
        "POST",
        f"{mock_server.url}/v2/chat",
        headers={"authorization": "Bearer sk-test"},
        json={"model": "m", "messages": MESSAGES, "stream": True, "mock": {"reply": "Hi you"}},
    ) as response:
        raw = response.read().decode()
    blocks = [b for b in raw.split("\n\n") if b]
    names = [b.split("\n")[0].removeprefix("event: ") for b in blocks]
    assert names[0] == "message-start"
    assert names[-1] == "message-end"
    for block in blocks:
        name, data = block.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == name.removeprefix("event: ")


def test_embed_answers_every_type_asked(co: Any) -> None:
    answer = co.embed(
        model="embed-v4.0",
        texts=["a", "b"],
        input_type="classification",
        embedding_types=["float", "int8"],
        output_dimension=256,
    )
    assert answer.embeddings.float_
    assert len(answer.embeddings.float_[0]) == 256
    assert answer.embeddings.int8
    assert len(answer.embeddings.int8) == 2
    with pytest.raises(cohere.BadRequestError):
        co.embed(model="embed-v4.0", texts=["a"], input_type="x", embedding_types=["octal"])


def test_auth_and_refusals(mock_server: RunningServer, keyed_mock: RunningServer) -> None:
    with pytest.raises(cohere.UnauthorizedError) as caught:
        cohere.ClientV2(api_key="wrong", base_url=keyed_mock.url).chat(model="m", messages=MESSAGES)
    assert caught.value.body["message"] == "invalid api token"
    robot: Any = [{"role": "robot", "content": "x"}]
    with pytest.raises(cohere.BadRequestError):
        cohere.ClientV2(api_key="sk-test", base_url=mock_server.url).chat(model="m", messages=robot)


@pytest.mark.parametrize(
    ("fail", "error"),
    [
        ("429", cohere.TooManyRequestsError),
        ("500", cohere.InternalServerError),
        ("503", cohere.ServiceUnavailableError),
    ],
)
def test_injected_failures(co: Any, fail: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        co.chat(model="m", messages=MESSAGES, request_options=knobs(fail=fail))
    body: Any = getattr(caught.value, "body", None)
    assert set(body) == {"id", "message"}


def test_a_stream_error_ends_with_an_error_message_end(co: Any) -> None:
    events = list(
        co.chat_stream(
            model="m", messages=MESSAGES, request_options=knobs(fail="stream_error", chunks=5)
        )
    )
    assert len(events) == 3
    assert events[-1].type == "message-end"
    assert events[-1].delta
    assert events[-1].delta.finish_reason == "ERROR"
