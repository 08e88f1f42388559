from __future__ import annotations

import aiohttp
import openai
import pytest

from tests.helpers.servers import RunningServer


async def test_requests_are_recorded_newest_last(
    client: openai.OpenAI, http: aiohttp.ClientSession
) -> None:
    async with http.delete("/_mock/requests") as response:
        assert response.status == 200
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"X-Archestra-Agent-Id": "agent-7"},
        extra_query={"trace": "1"},
    )
    client.models.list()
    async with http.post("/v1/chat/completions", data=b"{not json") as response:
        assert response.status == 400
    async with http.get("/_mock/requests") as response:
        recorded = await response.json()
    assert [(r["method"], r["path"]) for r in recorded] == [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]
    chat = recorded[0]
    assert chat["query"] == "trace=1"
    assert chat["headers"]["authorization"] == "Bearer sk-test"
    assert chat["headers"]["x-archestra-agent-id"] == "agent-7"
    assert chat["body"] == {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert recorded[2]["body"] is None

    async with http.get("/_mock/stats") as response:
        stats = await response.json()
    assert stats == {"requests": {"/v1/chat/completions": 2, "/v1/models": 1}}
    async with http.delete("/_mock/requests") as response:
        assert response.status == 200
    async with http.get("/_mock/requests") as response:
        assert await response.json() == []


async def test_health_and_unknown_paths(http: aiohttp.ClientSession) -> None:
    async with http.get("/health") as response:
        assert response.status == 200
    # Anthropic's API answers there; Claude Code sends a HEAD at start-up.
    async with http.head("/api/hello") as response:
        assert response.status == 200
    async with http.post("/v1/nothing-here", json={}) as response:
        assert response.status == 404
        assert (await response.json())["error"]["type"] == "invalid_request_error"
    async with http.get("/v1/chat/completions") as response:
        assert response.status == 405


async def test_missing_authorization_is_401(mock_server_url: str) -> None:
    async with (
        aiohttp.ClientSession() as bare,
        bare.get(mock_server_url + "/v1/models") as response,
    ):
        assert response.status == 401
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(("key", "ok"), [("sk-right", True), ("sk-wrong", False)])
def test_api_key_setting(keyed_mock: RunningServer, key: str, ok: bool) -> None:
    with openai.OpenAI(base_url=keyed_mock.url + "/v1", api_key=key, max_retries=0) as sdk:
        if ok:
            assert sdk.embeddings.create(model="m", input="x").data
            return
        with pytest.raises(openai.AuthenticationError) as caught:
            sdk.embeddings.create(model="m", input="x")
    assert caught.value.code == "invalid_api_key"
