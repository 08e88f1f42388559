from __future__ import annotations

import math

import aiohttp
import openai
import orjson
import pytest
from openai.types import CreateEmbeddingResponse

from tests.mock.wire import strict


def test_base64_default_decodes_to_the_float_vector(client: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise, then decodes it itself.
    decoded = client.embeddings.create(model="text-embedding-3-small", input="hello")
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="hello", encoding_format="float"
    )
    floats = strict(CreateEmbeddingResponse, orjson.loads(raw.http_response.content))
    assert decoded.data[0].embedding == floats.data[0].embedding
    assert len(floats.data[0].embedding) == 1536
    assert math.isclose(sum(v * v for v in floats.data[0].embedding), 1.0, rel_tol=1e-5)
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 1
    assert floats.model == "text-embedding-3-small"


def test_input_shapes_and_determinism(client: openai.OpenAI) -> None:
    texts = client.embeddings.create(model="m", input=["a b", "c", "a b"])
    assert [d.index for d in texts.data] == [0, 1, 2]
    assert texts.data[0].embedding == texts.data[2].embedding
    assert texts.data[0].embedding != texts.data[1].embedding
    assert texts.usage.prompt_tokens == 5

    tokens = client.embeddings.create(model="m", input=[1, 2, 3])
    assert len(tokens.data) == 1
    assert tokens.usage.prompt_tokens == 3
    token_lists = client.embeddings.create(model="m", input=[[1, 2, 3], [4]])
    assert token_lists.data[0].embedding == tokens.data[0].embedding
    assert token_lists.usage.prompt_tokens == 4


def test_dimensions_and_large_models(client: openai.OpenAI) -> None:
    large = client.embeddings.create(model="text-embedding-3-large", input="x")
    assert len(large.data[0].embedding) == 3072
    small = client.embeddings.create(model="text-embedding-3-large", input="x", dimensions=256)
    assert len(small.data[0].embedding) == 256
    assert math.isclose(sum(v * v for v in small.data[0].embedding), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},
        {"model": "m", "input": {"text": "x"}},
        {"model": "m", "input": "x", "encoding_format": "int8"},
        {"model": "m", "input": "x", "dimensions": 0},
    ],
)
async def test_invalid_requests(http: aiohttp.ClientSession, body: dict[str, object]) -> None:
    async with http.post("/v1/embeddings", json=body) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] in {"input", "encoding_format", "dimensions"}
