"""`GET /v1/models[/{id}]` answers in Anthropic's format when asked with `anthropic-version`."""

from __future__ import annotations

import aiohttp
import anthropic
import orjson
import pytest
from anthropic.types import ModelInfo

from palisade.mock.anthropic_dialect import ORGANIZATION_ID
from tests.mock.wire import strict


def test_list_parses_strictly(claude: anthropic.Anthropic) -> None:
    raw = claude.models.with_raw_response.list()
    page = orjson.loads(raw.http_response.content)
    assert set(page) == {"data", "has_more", "first_id", "last_id"}
    models = [strict(ModelInfo, item) for item in page["data"]]
    ids = [model.id for model in models]
    assert {"mock-claude", "claude-haiku-4-5", "claude-opus-4-8"} <= set(ids)
    assert (page["has_more"], page["first_id"], page["last_id"]) == (False, ids[0], ids[-1])
    assert all(model.type == "model" and model.display_name for model in models)
    assert raw.headers["anthropic-organization-id"] == ORGANIZATION_ID.decode()
    assert raw.headers["request-id"].startswith("req_")


def test_pages_are_followed(claude: anthropic.Anthropic) -> None:
    everything = [model.id for model in claude.models.list()]
    first = claude.models.list(limit=2)
    assert [model.id for model in first.data] == everything[:2]
    assert first.has_more is True
    # The SDK's paginator walks `after_id` to the end.
    assert [model.id for model in first] == everything
    before = claude.models.list(before_id=everything[-1], limit=2)
    assert [model.id for model in before.data] == everything[-3:-1]
    assert before.has_more is True
    with pytest.raises(anthropic.BadRequestError):
        claude.models.list(limit=0)


def test_retrieve(claude: anthropic.Anthropic) -> None:
    model = claude.models.retrieve("claude-haiku-4-5")
    assert (model.id, model.display_name) == ("claude-haiku-4-5", "Claude Haiku 4.5")
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.models.retrieve("claude-nine")
    assert caught.value.type == "not_found_error"
    assert caught.value.api_message == "model: claude-nine"


async def test_the_header_picks_the_format(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/models") as response:
        openai_list = await response.json()
    async with http.get("/v1/models", headers={"anthropic-version": "2023-06-01"}) as response:
        anthropic_list = await response.json()
    assert openai_list["object"] == "list"
    assert "has_more" not in openai_list
    assert "object" not in anthropic_list
    assert {m["id"] for m in openai_list["data"]}.isdisjoint(
        m["id"] for m in anthropic_list["data"]
    )
