"""The native Cohere route through a real Granian gateway, driven by the official cohere SDK
changed only in its base URL, and Cohere reached from the openai and anthropic SDKs through the
translation; the mock provider (its Cohere side) answers and records what reached it."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import cohere
import httpx as plain_httpx  # the cohere SDK's own client type
import httpx2 as httpx
import openai
import pytest

from palisade.mock.content import count_tokens
from palisade.pricing import PriceTable, Usage
from tests.e2e.conftest import ADMIN_TOKEN, GUARDRAILS, MOCK_KEY
from tests.helpers.servers import free_port, start_process_server

MODEL = "command-a-03-2025"
EMBED_MODEL = "embed-v4.0"
CLIENT_KEY = "cohere-client-key"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
# Built at run time so that no secret scanner flags this test file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class CohereStack:
    def __init__(self, gateway: str, mock: str) -> None:
        self.gateway = gateway
        self.mock = mock

    def client(self, path: str = "/v1/cohere", **headers: str) -> Any:
        return cohere.ClientV2(
            api_key=CLIENT_KEY,
            base_url=f"{self.gateway}{path}",
            timeout=20,
            httpx_client=plain_httpx.Client(timeout=20, headers=headers),
        )

    def mock_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.mock}/_mock/requests")
        answer.raise_for_status()
        requests: list[dict[str, Any]] = answer.json()
        return requests

    def clear_mock(self) -> None:
        httpx.delete(f"{self.mock}/_mock/requests").raise_for_status()

    def records(self, agent_id: str, count: int) -> list[dict[str, Any]]:
        """The gateway's records of one agent, once `count` of them are written."""
        deadline = time.monotonic() + 15
        while True:
            answer = httpx.get(
                f"{self.gateway}/admin/v1/interactions",
                params={"agent_id": agent_id},
                headers=ADMIN,
            )
            assert answer.status_code == 200, answer.text
            data: list[dict[str, Any]] = answer.json()["data"]
            if len(data) >= count or time.monotonic() > deadline:
                assert len(data) == count, data
                return sorted(data, key=lambda item: item["seq"])
            time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CohereStack]:
    tmp = tmp_path_factory.mktemp("cohere")
    mock_port, gateway_port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    config.write_text(
        f"""
server: {{host: 127.0.0.1, port: {gateway_port}}}
store: {{sqlite_path: {tmp / "palisade.db"}}}
auto_providers: false
admin: {{token: {ADMIN_TOKEN}}}
upstream: {{connect_timeout_s: 2, read_timeout_s: 30}}
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["gpt-*"]
  mock-cohere:
    kind: cohere
    base_url: http://127.0.0.1:{mock_port}
    api_key: {MOCK_KEY}
    models: ["command-*", "embed-*"]
{GUARDRAILS}"""
    )
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        start_process_server(mock_argv, mock_port),
        start_process_server([*palisade, "serve", "--config", str(config)], gateway_port),
    ):
        yield CohereStack(f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}")


@pytest.fixture
def co(stack: CohereStack) -> Any:
    return stack.client()


def knobs(**values: Any) -> Any:
    return {"additional_body_parameters": {"mock": values}}


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# --- the native route ------------------------------------------------------------------------


def test_chat_reaches_cohere_and_answers_as_cohere(co: Any, stack: CohereStack) -> None:
    stack.clear_mock()
    answer = co.chat(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, *user("Say hello.")],
        request_options=knobs(reply="Hi there!"),
    )
    assert answer.finish_reason == "COMPLETE"
    assert answer.message.content is not None
    assert answer.message.content[0].text == "Hi there!"
    assert answer.usage is not None
    assert answer.usage.billed_units is not None
    assert answer.usage.billed_units.output_tokens == count_tokens("Hi there!")
    [seen] = stack.mock_requests()
    assert (seen["method"], seen["path"]) == ("POST", "/v2/chat")
    assert seen["headers"]["authorization"] == f"Bearer {MOCK_KEY}"  # the gateway's key
    assert seen["body"]["model"] == MODEL


def test_the_proxy_route_serves_the_same_api(stack: CohereStack) -> None:
    answer = stack.client("/v1/cohere/default").chat(model=MODEL, messages=user("hi"))
    assert answer.message.content
    assert answer.message.content[0].text


def test_a_stream_relays_every_event_type_with_citations(co: Any) -> None:
    kinds: list[str] = []
    text: list[str] = []
    citations: list[Any] = []
    end: Any = None
    for event in co.chat_stream(
        model=MODEL,
        messages=user("What do the documents say?"),
        documents=[{"id": "handbook", "data": {"title": "Handbook", "snippet": "Tea at four."}}],
        request_options=knobs(reply="Tea is served at four."),
    ):
        kinds.append(event.type)
        if event.type == "content-delta":
            text.append(event.delta.message.content.text)
        elif event.type == "citation-start":
            citations.append(event.delta.message.citations)
        elif event.type == "message-end":
            end = event
    assert kinds[0] == "message-start"
    assert kinds[-1] == "message-end"
    assert {
        "content-start",
        "content-delta",
        "citation-start",
        "citation-end",
        "content-end",
    } <= set(kinds)
    assert "".join(text) == "Tea is served at four."
    assert citations[0].sources[0].id == "handbook"
    assert end.delta.finish_reason == "COMPLETE"
    assert end.delta.usage.billed_units.output_tokens == count_tokens("Tea is served at four.")


def test_a_forced_tool_call_and_its_result(co: Any) -> None:
    first = co.chat(
        model=MODEL, messages=user("Weather in Paris?"), tools=[WEATHER], tool_choice="REQUIRED"
    )
    assert first.finish_reason == "TOOL_CALL"
    assert first.message.tool_plan
    [call] = first.message.tool_calls or []
    assert call.function is not None
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments or ""), dict)
    second = co.chat(
        model=MODEL,
        tools=[WEATHER],
        messages=[
            *user("Weather in Paris?"),
            {
                "role": "assistant",
                "tool_plan": first.message.tool_plan,
                "tool_calls": [call.dict()],
            },
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": [{"type": "document", "document": {"data": '{"temp": 21}'}}],
            },
        ],
        request_options=knobs(reply="It is 21 degrees."),
    )
    assert second.finish_reason == "COMPLETE"
    assert second.message.content
    assert second.message.content[0].text == "It is 21 degrees."


def test_a_streamed_tool_call(co: Any) -> None:
    kinds: list[str] = []
    arguments: list[str] = []
    name = None
    for event in co.chat_stream(
        model=MODEL,
        messages=user("Weather?"),
        tools=[WEATHER],
        request_options=knobs(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]),
    ):
        kinds.append(event.type)
        if event.type == "tool-call-start":
            name = event.delta.message.tool_calls.function.name
        elif event.type == "tool-call-delta":
            arguments.append(event.delta.message.tool_calls.function.arguments)
        elif event.type == "message-end":
            assert event.delta.finish_reason == "TOOL_CALL"
    assert {"tool-plan-delta", "tool-call-start", "tool-call-delta", "tool-call-end"} <= set(kinds)
    assert name == "get_weather"
    assert json.loads("".join(arguments)) == {"city": "Oslo"}


def test_embed(co: Any, stack: CohereStack) -> None:
    stack.clear_mock()
    answer = co.embed(
        model=EMBED_MODEL,
        texts=["hello", "world"],
        input_type="search_document",
        embedding_types=["float"],
    )
    vectors = answer.embeddings.float_ or []
    assert len(vectors) == 2
    assert len(vectors[0]) == 1024
    assert answer.meta is not None
    assert answer.meta.billed_units is not None
    assert answer.meta.billed_units.input_tokens == count_tokens("hello") + count_tokens("world")
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v2/embed"


@pytest.mark.parametrize(
    ("fail", "error"),
    [
        ("429", cohere.TooManyRequestsError),
        ("500", cohere.InternalServerError),
        ("503", cohere.ServiceUnavailableError),
    ],
)
def test_an_upstream_error_raises_the_sdks_class(
    co: Any, fail: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        co.chat(model=MODEL, messages=user("x"), request_options=knobs(fail=fail))
    body: Any = getattr(caught.value, "body", None)
    assert isinstance(body, dict)
    assert isinstance(body["message"], str)
    assert body["message"]


def test_gateway_errors_are_cohere_errors(co: Any, stack: CohereStack) -> None:
    with pytest.raises(cohere.NotFoundError) as missing:
        co.chat(model="no-such-model-anywhere", messages=user("x"))
    assert set(missing.value.body) == {"message"}
    assert missing.value.headers is not None
    assert missing.value.headers["x-palisade-error"] == "model_not_found"
    with pytest.raises(cohere.BadRequestError) as other:
        co.chat(model="gpt-4o", messages=user("x"))  # an OpenAI-dialect provider's
    assert set(other.value.body) == {"message"}
    assert other.value.headers is not None
    assert other.value.headers["x-palisade-error"] == "translation_unavailable"
    with pytest.raises(cohere.BadRequestError) as blocked:
        stack.client("/v1/cohere/blocking").chat(model=MODEL, messages=user(f"key: {SECRET}"))
    assert "guardrail" in blocked.value.body["message"]
    assert SECRET not in json.dumps(blocked.value.body)


@pytest.mark.parametrize("fail", ["stream_error", "drop"])
def test_a_stream_that_fails_ends_with_an_error_event(co: Any, fail: str) -> None:
    events = list(
        co.chat_stream(
            model=MODEL,
            messages=user("x"),
            request_options=knobs(fail=fail, fail_after_chunks=3, chunks=8),
        )
    )
    last = events[-1]
    assert last.type == "message-end"
    assert last.delta.finish_reason == "ERROR"
    assert last.delta.error


@pytest.mark.parametrize("cut", [1, 7, 20, 40, len(SECRET) - 1])
def test_a_secret_split_across_stream_events_is_redacted(stack: CohereStack, cut: int) -> None:
    reply = f"The key is {SECRET} ok"
    at = reply.index(SECRET) + cut
    text: list[str] = []
    for event in stack.client("/v1/cohere/redacted").chat_stream(
        model=MODEL,
        messages=user("tell me"),
        request_options=knobs(reply_chunks=[reply[:at], reply[at:]]),
    ):
        if event.type == "content-delta":
            text.append(event.delta.message.content.text)
    joined = "".join(text)
    assert SECRET[:10] not in joined
    assert SECRET[-10:] not in joined
    assert joined.startswith("The key is ")
    assert joined.endswith(" ok")


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_blocked_by_a_policy(stack: CohereStack, stream: bool) -> None:
    shell = {
        "type": "function",
        "function": {
            "name": "run_shell",
            "description": "Runs a command.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
        },
    }
    c = stack.client("/v1/cohere/agents")
    forced = knobs(tool_calls=[{"name": "run_shell", "arguments": {"command": "rm -rf /"}}])
    if not stream:
        answer = c.chat(model=MODEL, messages=user("clean"), tools=[shell], request_options=forced)
        assert not answer.message.tool_calls
        assert answer.finish_reason == "COMPLETE"
        assert answer.message.content
        assert "no-rm" in (answer.message.content[-1].text or "")
        return
    kinds: list[str] = []
    texts: list[str] = []
    finish = None
    for event in c.chat_stream(
        model=MODEL, messages=user("clean"), tools=[shell], request_options=forced
    ):
        kinds.append(event.type)
        if event.type == "content-delta":
            texts.append(event.delta.message.content.text)
        elif event.type == "message-end":
            finish = event.delta.finish_reason
    assert "tool-call-start" not in kinds
    assert "no-rm" in "".join(texts)
    assert finish == "COMPLETE"


@pytest.mark.parametrize("stream", [False, True])
def test_usage_and_cost_are_recorded(stack: CohereStack, stream: bool) -> None:
    agent = f"cohere-{uuid.uuid4().hex[:12]}"
    c = stack.client(**{"X-Archestra-Agent-Id": agent})
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": user("Count this."),
        "request_options": knobs(reply="One two three."),
    }
    if stream:
        [end] = [e for e in c.chat_stream(**request) if e.type == "message-end"]
        billed = end.delta.usage.billed_units
    else:
        billed = c.chat(**request).usage.billed_units
    [record] = stack.records(agent, 1)
    assert (record["provider"], record["endpoint"], record["stream"]) == (
        "mock-cohere",
        "v2/chat",
        stream,
    )
    assert record["input_tokens"] == billed.input_tokens
    assert record["output_tokens"] == billed.output_tokens == count_tokens("One two three.")
    assert record["tokens_counted"] is False
    usage = Usage(int(billed.input_tokens), int(billed.output_tokens))
    expected = PriceTable().cost(MODEL, usage, "mock-cohere")
    assert expected is not None
    assert expected > 0
    assert record["cost_usd"] == pytest.approx(expected)


# --- other dialects' clients reaching Cohere -------------------------------------------------

ROUTED = f"mock-cohere:{MODEL}"
OPENAI_WEATHER = WEATHER


@pytest.fixture
def oai(stack: CohereStack) -> Iterator[Any]:
    with openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key="k", max_retries=0) as c:
        yield c


def test_openai_chat_reaches_cohere(oai: Any, stack: CohereStack) -> None:
    stack.clear_mock()
    raw = oai.chat.completions.with_raw_response.create(
        model=ROUTED,
        messages=[{"role": "system", "content": "Be brief."}, *user("hello")],
        max_tokens=50,
        top_p=0.5,
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hello back."})},
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "Hello back."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == count_tokens("Hello back.")
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v2/chat"
    assert seen["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (seen["body"]["max_tokens"], seen["body"]["p"]) == (50, 0.5)
    assert seen["body"]["model"] == MODEL


def test_openai_chat_stream_with_usage_reaches_cohere(oai: Any) -> None:
    chunks = list(
        oai.chat.completions.create(
            model=ROUTED,
            messages=user("hello"),
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-mock-knobs": json.dumps({"reply": "One two three four."})},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three four."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == count_tokens("One two three four.")


@pytest.mark.parametrize("stream", [False, True])
def test_openai_tools_reach_cohere(oai: Any, stream: bool, stack: CohereStack) -> None:
    stack.clear_mock()
    request: dict[str, Any] = {
        "model": ROUTED,
        "messages": user("Weather in Paris?"),
        "tools": [OPENAI_WEATHER],
        "tool_choice": "required",
    }
    if stream:
        builder: dict[str, str] = {"name": "", "arguments": ""}
        finish = None
        for chunk in oai.chat.completions.create(**request, stream=True):
            if not chunk.choices:
                continue
            for call in chunk.choices[0].delta.tool_calls or []:
                if call.function and call.function.name:
                    builder["name"] = call.function.name
                if call.function and call.function.arguments:
                    builder["arguments"] += call.function.arguments
            finish = chunk.choices[0].finish_reason or finish
        name, arguments = builder["name"], builder["arguments"]
    else:
        answer = oai.chat.completions.create(**request)
        finish = answer.choices[0].finish_reason
        [call] = answer.choices[0].message.tool_calls or []
        assert call.type == "function"
        name, arguments = call.function.name, call.function.arguments
    assert finish == "tool_calls"
    assert name == "get_weather"
    assert isinstance(json.loads(arguments), dict)
    [seen] = stack.mock_requests()
    assert seen["body"]["tool_choice"] == "REQUIRED"
    assert seen["body"]["tools"] == [OPENAI_WEATHER]


def test_openai_tool_results_reach_cohere(oai: Any, stack: CohereStack) -> None:
    stack.clear_mock()
    answer = oai.chat.completions.create(
        model=ROUTED,
        tools=[OPENAI_WEATHER],
        messages=[
            *user("Weather?"),
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    assert answer.choices[0].message.content
    [seen] = stack.mock_requests()
    assistant, tool = seen["body"]["messages"][1:]
    assert assistant["tool_plan"] == "Let me look."
    assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def test_an_upstream_error_reaches_an_openai_client_translated(oai: Any) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(
            model=ROUTED,
            messages=user("x"),
            extra_headers={"x-mock-knobs": json.dumps({"fail": "429"})},
        )
    assert caught.value.response.json()["error"]["type"] == "rate_limit_error"


def test_a_broken_stream_reaches_an_openai_client_as_an_error(oai: Any) -> None:
    with pytest.raises(openai.APIError):
        for _ in oai.chat.completions.create(
            model=ROUTED,
            messages=user("x"),
            stream=True,
            extra_headers={"x-mock-knobs": json.dumps({"fail": "stream_error", "chunks": 6})},
        ):
            pass


def test_openai_responses_reach_cohere(oai: Any) -> None:
    response = oai.responses.create(
        model=ROUTED,
        input="hello",
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Responses work."})},
    )
    assert response.output_text == "Responses work."
    assert response.usage is not None
    assert response.usage.output_tokens == count_tokens("Responses work.")
    events = list(
        oai.responses.create(
            model=ROUTED,
            input="Weather?",
            tools=[
                {
                    "type": "function",
                    "name": "get_weather",
                    "parameters": WEATHER["function"]["parameters"],  # type: ignore[index]
                }
            ],
            tool_choice="required",
            stream=True,
        )
    )
    done = [e for e in events if e.type == "response.completed"]
    assert done
    calls = [o for o in done[0].response.output if o.type == "function_call"]
    assert calls
    assert calls[0].name == "get_weather"


def test_openai_embeddings_reach_cohere(oai: Any, stack: CohereStack) -> None:
    stack.clear_mock()
    answer = oai.embeddings.create(model=f"mock-cohere:{EMBED_MODEL}", input=["a b", "c"])
    assert len(answer.data) == 2
    assert len(answer.data[0].embedding) == 1024
    assert answer.usage.prompt_tokens == count_tokens("a b") + count_tokens("c")
    [seen] = stack.mock_requests()
    assert seen["path"] == "/v2/embed"
    assert seen["body"]["input_type"] == "search_document"
    assert seen["body"]["embedding_types"] == ["float"]
    # The openai SDK asked for base64 (its default): the gateway encoded Cohere's floats.
    floats = oai.embeddings.create(
        model=f"mock-cohere:{EMBED_MODEL}", input=["a b", "c"], encoding_format="float"
    )
    assert floats.data[1].embedding == answer.data[1].embedding
    small = oai.embeddings.create(model=f"mock-cohere:{EMBED_MODEL}", input="a", dimensions=256)
    assert len(small.data[0].embedding) == 256


@pytest.fixture
def claude(stack: CohereStack) -> Iterator[Any]:
    with anthropic.Anthropic(
        base_url=f"{stack.gateway}/v1/anthropic", api_key="k", max_retries=0
    ) as c:
        yield c


def test_anthropic_messages_reach_cohere(claude: Any) -> None:
    message = claude.messages.create(
        model=ROUTED,
        max_tokens=64,
        system="Be brief.",
        messages=user("hello"),
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Hi from Cohere."})},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hi from Cohere."
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == count_tokens("Hi from Cohere.")
    with claude.messages.stream(
        model=ROUTED,
        max_tokens=64,
        messages=user("hello"),
        extra_headers={"x-mock-knobs": json.dumps({"reply": "Streamed from Cohere."})},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Streamed from Cohere."
    assert final.usage.output_tokens == count_tokens("Streamed from Cohere.")


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tools_reach_cohere(claude: Any, stream: bool) -> None:
    request: dict[str, Any] = {
        "model": ROUTED,
        "max_tokens": 256,
        "messages": user("Weather in Paris?"),
        "tools": [
            {
                "name": "get_weather",
                "description": "The weather in a city.",
                "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
            }
        ],
        "tool_choice": {"type": "any"},
    }
    if stream:
        with claude.messages.stream(**request) as s:
            message = s.get_final_message()
    else:
        message = claude.messages.create(**request)
    assert message.stop_reason == "tool_use"
    [call] = [b for b in message.content if b.type == "tool_use"]
    assert call.name == "get_weather"
    assert isinstance(call.input, dict)


def test_anthropic_token_counts_for_a_cohere_model_are_the_gateways(
    claude: Any, stack: CohereStack
) -> None:
    stack.clear_mock()
    short = claude.messages.count_tokens(model=ROUTED, messages=user("count"))
    long = claude.messages.count_tokens(model=ROUTED, messages=user("count these words please"))
    assert 0 < short.input_tokens < long.input_tokens
    assert stack.mock_requests() == []  # nothing left the gateway
