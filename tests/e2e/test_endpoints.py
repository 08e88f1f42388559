"""Completions, embeddings, models and the Responses API through the gateway."""

from __future__ import annotations

from urllib.parse import quote

import httpx2 as httpx
import openai
import pytest

from tests.e2e.conftest import Stack


def test_legacy_completions(client: openai.OpenAI) -> None:
    answer = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Once", extra_body={"mock": {"reply": " upon"}}
    )
    assert answer.object == "text_completion"
    assert answer.choices[0].text == " upon"
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Once",
            stream=True,
            extra_body={"mock": {"reply": " upon a time", "chunks": 3}},
        )
        if c.choices
    )
    assert streamed == " upon a time"


def test_embeddings_base64_default_and_float(client: openai.OpenAI, stack: Stack) -> None:
    stack.clear_mock()
    default = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    floats = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    # The SDK asks for base64 by default and decodes it: both forms must carry the same vectors.
    assert stack.mock_requests()[0]["body"]["encoding_format"] == "base64"
    assert len(default.data) == 2
    assert len(default.data[0].embedding) == 1536
    for a, b in zip(default.data, floats.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
    assert default.usage.prompt_tokens > 0


async def test_embeddings_async_with_dimensions(async_client: openai.AsyncOpenAI) -> None:
    answer = await async_client.embeddings.create(
        model="text-embedding-3-large", input="hello", dimensions=256
    )
    assert len(answer.data[0].embedding) == 256


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"mock-gpt", "gpt-4o", "text-embedding-3-small"} <= ids
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model-here")


def test_responses_api(client: openai.OpenAI) -> None:
    answer = client.responses.create(
        model="mock-gpt", input="Hi there", extra_body={"mock": {"reply": "Hello back"}}
    )
    assert answer.output_text == "Hello back"
    assert answer.usage is not None
    assert answer.usage.output_tokens > 0
    events = list(
        client.responses.create(
            model="mock-gpt",
            input=[{"role": "user", "content": "Hi"}],
            stream=True,
            extra_body={"mock": {"reply": "streamed reply", "chunks": 2}},
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "streamed reply"
    assert events[-1].type == "response.completed"


async def test_responses_api_async_stream(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.responses.create(
        model="mock-gpt", input="Hi", stream=True, extra_body={"mock": {"reply": "x y"}}
    )
    types = [e.type async for e in stream]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"


@pytest.mark.parametrize(
    ("model_id", "reaches_provider"),
    [("mock:../../_mock/requests", True), ("mock:a/../../x", True), ("mock:..", False)],
)
def test_model_ids_cannot_walk_to_other_provider_paths(
    stack: Stack, model_id: str, reaches_provider: bool
) -> None:
    stack.clear_mock()
    # Percent-encoded, as an attacker would send it: the client must not normalise it away.
    encoded = quote(model_id, safe=":").replace(".", "%2E")
    answer = httpx.get(f"{stack.gateway}/v1/models/{encoded}")
    assert answer.status_code == 404
    paths = [r["path"] for r in stack.mock_requests()]
    assert len(paths) == int(reaches_provider)
    # Had the id walked, the request would have landed on /_mock/requests (200, unrecorded);
    # instead the provider got it as a model id under /v1/models/ and answered 404.
    assert all(p.startswith("/v1/models/") for p in paths), paths
    assert answer.json()["error"]["code"] == "model_not_found"
