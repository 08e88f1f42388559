"""Quirks: what OpenAI-compatible providers refuse, as catalog data applied where the body
leaves (`RequestContext.outgoing_body`), and the catalog's providers switched on by the
environment."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade.config import ProviderConfig
from palisade.config.errors import ConfigError
from palisade.config.loader import parse_config
from palisade.errors import BadRequest
from palisade.pipeline.context import RequestContext
from palisade.providers.catalog import KNOWN_PROVIDERS
from palisade.providers.openai import CHAT
from palisade.providers.quirks import Quirks, quirks
from palisade.upstream.routing import Target


def test_no_quirks_is_none_so_a_provider_without_them_pays_nothing() -> None:
    assert quirks() is None
    assert KNOWN_PROVIDERS["openai"].quirks is None


def test_apply_drops_the_refused_fields_and_notes_each() -> None:
    q = Quirks(frozenset({"logprobs", "logit_bias", "stream_options"}))
    body: dict[str, Any] = {"model": "m", "logprobs": True, "stream_options": {}, "n": 1}
    notes = q.apply(body)
    assert body == {"model": "m", "n": 1}
    assert notes == [
        "logprobs: dropped (not accepted by the provider)",
        "stream_options: dropped (not accepted by the provider)",
    ]
    assert not q.stream_options


def test_more_choices_than_the_provider_makes_are_refused_not_dropped() -> None:
    q = Quirks(max_choices=1)
    q.apply({"n": 1})
    with pytest.raises(BadRequest) as info:
        q.apply({"n": 3})
    assert info.value.param == "n"
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("name", "dropped", "stream_options"),
    [
        ("groq", {"logprobs", "logit_bias", "top_logprobs"}, True),
        ("cerebras", {"presence_penalty", "frequency_penalty", "parallel_tool_calls"}, True),
        ("perplexity", {"stream_options", "logprobs"}, False),
        ("mistral", {"stream_options", "logit_bias"}, False),
    ],
)
def test_catalog_states_the_documented_quirks(
    name: str, dropped: set[str], stream_options: bool
) -> None:
    q = KNOWN_PROVIDERS[name].quirks
    assert q is not None
    assert dropped <= q.drops
    assert q.stream_options is stream_options


def _ctx(provider: ProviderConfig, body: dict[str, Any], rewritten: bool = False) -> RequestContext:
    raw = orjson.dumps(body)
    ctx = RequestContext(surface=CHAT, raw_body=raw, body=orjson.loads(raw))
    ctx.target = Target(provider, "m2" if rewritten else body["model"], rewritten=rewritten)
    return ctx


def test_outgoing_body_drops_quirks_and_says_so() -> None:
    groq = ProviderConfig("groq", "http://g", quirks=KNOWN_PROVIDERS["groq"].quirks)
    ctx = _ctx(groq, {"model": "m", "messages": [], "logprobs": True, "top_logprobs": 2})
    sent = orjson.loads(ctx.outgoing_body())
    assert sent == {"model": "m", "messages": []}
    assert ctx.dropped is not None
    assert len(ctx.dropped) == 2


def test_outgoing_body_of_a_provider_without_quirks_is_the_clients_own_bytes() -> None:
    plain = ProviderConfig("openai", "http://o")
    ctx = _ctx(plain, {"model": "m", "messages": [], "logprobs": True})
    assert ctx.outgoing_body() is ctx.raw_body
    assert ctx.dropped is None


def test_outgoing_body_with_nothing_to_drop_is_still_the_clients_bytes() -> None:
    groq = ProviderConfig("groq", "http://g", quirks=KNOWN_PROVIDERS["groq"].quirks)
    ctx = _ctx(groq, {"model": "m", "messages": []})
    assert ctx.outgoing_body() is ctx.raw_body
    assert ctx.dropped == []


def _providers(raw: dict[str, Any], env: dict[str, str]) -> dict[str, ProviderConfig]:
    config = parse_config(raw, source="t.yaml", env=env)
    return {p.name: p for p in config.providers}


def test_known_providers_are_switched_on_by_their_key_with_their_quirks() -> None:
    env = {"GROQ_API_KEY": "g", "PERPLEXITY_API_KEY": "p", "XAI_API_KEY": "x"}
    found = _providers({}, env)
    assert set(found) == {"groq", "perplexity", "xai"}
    assert found["groq"].base_url == "https://api.groq.com/openai/v1"
    assert found["groq"].quirks is KNOWN_PROVIDERS["groq"].quirks
    assert found["groq"].stream_usage  # Groq takes stream_options
    assert not found["perplexity"].stream_usage  # it refuses them: the gateway counts
    assert found["xai"].models == ("grok-*",)


def test_local_servers_are_switched_on_by_their_base_url_without_a_key() -> None:
    found = _providers(
        {}, {"OLLAMA_API_BASE": "http://box:11434/", "VLLM_API_BASE": "http://gpu:8000/v1"}
    )
    assert found["ollama"].base_url == "http://box:11434/v1"
    assert found["ollama"].api_key is None
    assert found["vllm"].base_url == "http://gpu:8000/v1"
    # A local server's key alone (no URL) switches nothing on.
    assert _providers({}, {"VLLM_API_KEY": "k"}) == {}


def test_a_configured_known_name_takes_its_url_and_quirks_unless_it_says_otherwise() -> None:
    found = _providers(
        {
            "providers": {
                "mistral": {"api_key": "k"},
                "cerebras": {"base_url": "http://mock/v1", "quirks": {"drop": ["user"]}},
            }
        },
        {},
    )
    assert found["mistral"].base_url == "https://api.mistral.ai/v1"
    assert found["mistral"].quirks is KNOWN_PROVIDERS["mistral"].quirks
    assert not found["mistral"].stream_usage
    assert found["cerebras"].base_url == "http://mock/v1"
    assert found["cerebras"].quirks == Quirks(frozenset({"user"}))


def test_an_unknown_provider_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match=r"providers\.mine\.base_url"):
        _providers({"providers": {"mine": {"api_key": "k"}}}, {})
