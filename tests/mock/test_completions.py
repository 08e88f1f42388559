from __future__ import annotations

import aiohttp
import openai
import orjson
from openai.types import Completion

from tests.mock.wire import sse_json, strict


def test_non_stream_parses_strictly(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=50
    )
    completion = strict(Completion, orjson.loads(raw.http_response.content))
    assert completion.object == "text_completion"
    assert completion.model == "gpt-3.5-turbo-instruct"
    choice = completion.choices[0]
    assert choice.text
    assert choice.logprobs is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 2


def test_default_max_tokens_is_sixteen_and_prompts_list(client: openai.OpenAI) -> None:
    completion = client.completions.create(
        model="m", prompt=["one", "two"], n=2, extra_body={"mock": {"reply": "w " * 40}}
    )
    assert [c.index for c in completion.choices] == [0, 1, 2, 3]
    assert all(c.finish_reason == "length" for c in completion.choices)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 4 * 16


def test_echo_prepends_the_prompt(client: openai.OpenAI) -> None:
    completion = client.completions.create(
        model="m", prompt="Q: ", echo=True, extra_body={"mock": {"reply": "A."}}
    )
    assert completion.choices[0].text == "Q: A."


def test_stream_with_sdk_equals_non_stream(client: openai.OpenAI) -> None:
    whole = client.completions.create(model="m", prompt="Tell me", max_tokens=100)
    chunks = list(
        client.completions.create(
            model="m",
            prompt="Tell me",
            max_tokens=100,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert chunks[-1].choices == []
    assert chunks[-1].usage == whole.usage
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_stream_wire_without_usage(http: aiohttp.ClientSession) -> None:
    body = {"model": "m", "prompt": [[1, 2, 3]], "stream": True, "mock": {"chunks": 3}}
    async with http.post("/v1/completions", json=body) as response:
        chunks = sse_json(await response.read())
    assert all("usage" not in chunk for chunk in chunks)
    assert len(chunks) == 4  # three pieces, then the finish
    for chunk in chunks[:-1]:
        # Like the real API, pieces carry `finish_reason: null`, which the SDK's Completion type
        # (shared with the non-stream form) does not admit: check the rest of the shape.
        choice = chunk["choices"][0]
        assert choice["finish_reason"] is None
        strict(Completion, {**chunk, "choices": [{**choice, "finish_reason": "stop"}]})
    assert strict(Completion, chunks[-1]).choices[0].finish_reason == "stop"
