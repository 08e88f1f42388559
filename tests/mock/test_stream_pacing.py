"""Chunks leave the mock as they are produced, not all at the end (no timing bounds here)."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson


async def test_chunks_arrive_before_the_stream_ends(http: aiohttp.ClientSession) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "pace me"}],
        "stream": True,
        "mock": {"chunks": 4, "chunk_interval_ms": 150, "reply": "one two three four"},
    }
    async with http.post("/v1/chat/completions", json=body) as response:
        assert response.status == 200
        contents: list[str] = []
        pending_when_seen: list[bool] = []
        async for line in response.content:
            if not line.startswith(b"data: {"):
                continue
            delta = orjson.loads(line[6:])["choices"][0]["delta"]
            if delta.get("content"):
                contents.append(delta["content"])
                # Is more of the body still on its way? Peek without consuming it.
                try:
                    await asyncio.wait_for(response.content.wait_eof(), timeout=0.02)
                    pending_when_seen.append(False)
                except TimeoutError:
                    pending_when_seen.append(True)
    assert contents == ["one", " two", " three", " four"]
    # Each of the first three pieces was in our hands while the rest was still being produced.
    assert pending_when_seen[:3] == [True, True, True]
