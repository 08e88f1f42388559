"""The Vertex AI connection: URLs per surface, Anthropic's body on Vertex, and OAuth tokens
fetched from a (fake) Google token endpoint and refreshed ahead of their expiry, off the request
path."""

from __future__ import annotations

import asyncio
import datetime
import time
from pathlib import Path

import orjson
import pytest

from palisade.providers.anthropic import COUNT_TOKENS as MESSAGES_COUNT
from palisade.providers.anthropic import MESSAGES
from palisade.providers.gemini import COUNT_TOKENS, GENERATE
from palisade.providers.gemini.vertex import VertexConnection
from palisade.providers.provider import ProviderConfig
from tests.helpers.google_token import google_token_server


def vertex(credentials_file: Path | None = None) -> VertexConnection:
    options: dict[str, object] = {"project": "proj", "location": "europe-west4"}
    if credentials_file is not None:
        options["credentials_file"] = str(credentials_file)
    return VertexConnection(
        ProviderConfig(
            name="vertex",
            kind="vertex",
            base_url="https://europe-west4-aiplatform.googleapis.com/v1",
            dialects=("gemini", "anthropic"),
            options=options,
        )
    )


ROOT = "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4"


def test_the_urls_of_google_and_anthropic_models() -> None:
    c = vertex()
    assert str(c.url(GENERATE, "gemini-2.5-flash", False)) == (
        f"{ROOT}/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert str(c.url(GENERATE, "gemini-2.5-flash", True)) == (
        f"{ROOT}/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert str(c.url(COUNT_TOKENS, "gemini-2.5-flash", False)) == (
        f"{ROOT}/publishers/google/models/gemini-2.5-flash:countTokens"
    )
    assert str(c.url(MESSAGES, "claude-sonnet-4-5", False)) == (
        f"{ROOT}/publishers/anthropic/models/claude-sonnet-4-5:rawPredict"
    )
    assert str(c.url(MESSAGES, "claude-sonnet-4-5", True)) == (
        f"{ROOT}/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict"
    )
    assert str(c.url(MESSAGES_COUNT, "claude-sonnet-4-5", False)) == (
        f"{ROOT}/publishers/anthropic/models/count-tokens:rawPredict"
    )


def test_anthropic_bodies_name_the_vertex_version_and_no_model() -> None:
    c = vertex()
    body = orjson.dumps({"model": "claude-x", "max_tokens": 5, "messages": []})
    out = orjson.loads(c.rewrite_body(MESSAGES, body))
    assert out == {"max_tokens": 5, "messages": [], "anthropic_version": "vertex-2023-10-16"}
    counted = orjson.loads(c.rewrite_body(MESSAGES_COUNT, body))
    assert counted["model"] == "claude-x"  # the path of token counts names none
    assert counted["anthropic_version"] == "vertex-2023-10-16"
    gemini = orjson.dumps({"contents": []})
    assert c.rewrite_body(GENERATE, gemini) is gemini


def test_the_model_picks_the_dialect() -> None:
    from palisade.config.providers import ProviderSection

    section = ProviderSection.model_validate(
        {"kind": "vertex", "base_url": "https://x/v1", "project": "p"}
    )
    provider = section.build("vertex")
    assert provider.dialects_for("claude-opus-4-1") == ("anthropic",)
    assert provider.dialects_for("gemini-2.5-pro") == ("gemini",)
    assert provider.options == {"project": "p"}


def test_a_vertex_provider_needs_a_project() -> None:
    from pydantic import ValidationError

    from palisade.config.providers import ProviderSection

    with pytest.raises(ValidationError, match="project"):
        ProviderSection.model_validate({"kind": "vertex", "base_url": "https://x/v1"})


async def test_tokens_are_refreshed_before_they_expire(tmp_path: Path) -> None:
    with google_token_server(tmp_path, expires_in=4) as server:
        c = vertex(server.credentials_file)
        await c.start()
        try:
            assert c.token == "fake-token-1"
            first_expiry = c.expiry
            assert first_expiry is not None
            headers: dict[str, str] = {}
            # On the request path: the token at hand, nothing awaited.
            assert c.authorize(headers, c.url(GENERATE, "m", False), b"", None) is None
            assert headers["authorization"] == "Bearer fake-token-1"
            # Refreshed ahead of expiry (half of a 4 s life), by the background task.
            deadline = time.monotonic() + 6
            while c.token == "fake-token-1":
                assert time.monotonic() < deadline, "the token was not refreshed"
                await asyncio.sleep(0.05)
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            assert now < first_expiry  # before the first token expired
            assert c.token == "fake-token-2"
            assert c.authorize(headers, c.url(GENERATE, "m", False), b"", None) is None
            assert headers["authorization"] == "Bearer fake-token-2"
            assert server.issued == ["fake-token-1", "fake-token-2"]
        finally:
            await c.close()


async def test_a_request_before_the_first_token_waits_for_it(tmp_path: Path) -> None:
    with google_token_server(tmp_path) as server:
        c = vertex(server.credentials_file)
        headers: dict[str, str] = {}
        pending = c.authorize(headers, c.url(GENERATE, "m", False), b"", None)
        assert pending is not None
        waiting = asyncio.ensure_future(pending)
        await c.start()
        try:
            await waiting
            assert headers["authorization"] == "Bearer fake-token-1"
        finally:
            await c.close()


async def test_no_credentials_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    from palisade.errors import UpstreamUnreachable
    from palisade.providers.gemini import vertex as module

    c = vertex(tmp_path / "missing.json")
    await c.start()
    try:
        assert c.token is None
        pending = c.authorize({}, c.url(GENERATE, "m", False), b"", None)
        assert pending is not None
        module_wait, module.FIRST_TOKEN_WAIT_S = module.FIRST_TOKEN_WAIT_S, 0.1
        try:
            with pytest.raises(UpstreamUnreachable, match="no Google access token"):
                await pending
        finally:
            module.FIRST_TOKEN_WAIT_S = module_wait
    finally:
        await c.close()
