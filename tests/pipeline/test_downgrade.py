"""The downgrade rules' decision, on request contexts of several dialects."""

from __future__ import annotations

from typing import Any

import pytest

from palisade.config import ConfigError, DowngradeRule, ProxyConfig, parse_proxy, proxy_to_dict
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.context import RequestContext
from palisade.pipeline.downgrade import downgrade
from palisade.providers.anthropic.surfaces import COUNT_TOKENS, MESSAGES
from palisade.providers.base import Surface
from palisade.providers.gemini.surfaces import GENERATE
from palisade.providers.openai.surfaces import CHAT, EMBEDDINGS

RULES = (
    DowngradeRule(("gpt-4o",), "gpt-4o-nano", max_prompt_tokens=3, max_complexity=0.35),
    DowngradeRule(
        ("gpt-4o", "claude-sonnet-*"), "cheap", max_prompt_tokens=100, max_complexity=0.35
    ),
)
SIMPLE = "What is the capital of France?"  # 7 tokens, complexity 0
COMPLEX = "Prove step by step that the algorithm terminates, and analyze its complexity."


def context(
    surface: Surface, body: dict[str, Any], rules: tuple[DowngradeRule, ...] = RULES
) -> RequestContext:
    proxy = ProxyConfig(id="p", name="p", downgrade=rules)
    return RequestContext(surface=surface, guards=ProxyGuards.build(proxy), body=body)


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


def test_a_simple_request_goes_to_the_first_rule_that_holds() -> None:
    ctx = context(CHAT, chat(SIMPLE))
    assert downgrade(ctx, "gpt-4o") == "cheap"
    assert ctx.body["model"] == "cheap"
    assert ctx.body_changed
    assert ctx.downgraded_from == "gpt-4o"
    assert ctx.downgrade_reason == "simple: 7 tokens <= 100, complexity 0.00 <= 0.35"

    ctx = context(CHAT, chat("Hi!"))
    assert downgrade(ctx, "gpt-4o") == "gpt-4o-nano"
    assert ctx.downgrade_reason == "simple: 2 tokens <= 3, complexity 0.00 <= 0.35"


@pytest.mark.parametrize(
    "body",
    [
        chat("word " * 150),  # over 100 tokens
        chat(COMPLEX),
        chat(SIMPLE, tools=[{"type": "function", "function": {"name": "f"}}]),
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": SIMPLE},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ],
                },
            ],
        },
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "1", "content": "sunny"},
            ],
        },
    ],
    ids=["long", "complex", "tools", "image", "tool-turns"],
)
def test_anything_but_a_simple_request_keeps_its_model(body: dict[str, Any]) -> None:
    ctx = context(CHAT, body)
    assert downgrade(ctx, "gpt-4o") == "gpt-4o"
    assert ctx.body["model"] == "gpt-4o"
    assert not ctx.body_changed
    assert ctx.downgraded_from is None
    assert ctx.downgrade_reason is None


def test_a_model_no_rule_names_keeps_its_model() -> None:
    ctx = context(CHAT, chat(SIMPLE))
    assert downgrade(ctx, "gpt-4.1") == "gpt-4.1"
    assert ctx.downgraded_from is None


def test_endpoints_that_generate_nothing_are_never_downgraded() -> None:
    ctx = context(EMBEDDINGS, {"model": "gpt-4o", "input": SIMPLE})
    assert downgrade(ctx, "gpt-4o") == "gpt-4o"
    body = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": SIMPLE}]}
    ctx = context(COUNT_TOKENS, body)
    assert downgrade(ctx, "claude-sonnet-4-6") == "claude-sonnet-4-6"


def test_other_dialects_are_judged_through_their_surface() -> None:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": SIMPLE}]}],
    }
    ctx = context(MESSAGES, body)
    assert downgrade(ctx, "claude-sonnet-4-6") == "cheap"
    assert body["model"] == "cheap"
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}
    body["messages"][0]["content"].append(image)
    assert downgrade(context(MESSAGES, body), "claude-sonnet-4-6") == "claude-sonnet-4-6"
    # Gemini names the model in the path: the body is left as it is, the route uses the result.
    gemini = {"contents": [{"role": "user", "parts": [{"text": SIMPLE}]}]}
    ctx = context(
        GENERATE, gemini, (DowngradeRule(("gemini-*-pro",), "gemini-2.5-flash", 100, 0.35),)
    )
    assert downgrade(ctx, "gemini-2.5-pro") == "gemini-2.5-flash"
    assert "model" not in gemini
    assert ctx.downgraded_from == "gemini-2.5-pro"


def test_rules_round_trip_through_the_stored_form_and_are_validated() -> None:
    raw = {
        "name": "Thrifty",
        "downgrade": [
            {
                "from": "gpt-4o",
                "to": "gpt-4o-mini",
                "max_prompt_tokens": 500,
                "max_complexity": 0.35,
            },
            {
                "from": ["claude-*"],
                "to": "claude-haiku-4-5",
                "max_prompt_tokens": 200,
                "max_complexity": 0,
            },
        ],
    }
    proxy = parse_proxy(raw, {}, source="api")
    assert proxy.downgrade[0] == DowngradeRule(("gpt-4o",), "gpt-4o-mini", 500, 0.35)
    assert parse_proxy(proxy_to_dict(proxy), {}, source="api") == proxy
    assert "downgrade" not in proxy_to_dict(ProxyConfig(id="p", name="p"))
    assert ProxyConfig(id="p", name="p").downgrade == ()  # off by default

    bad = {"from": [], "to": "", "max_prompt_tokens": 0, "max_complexity": 1.5}
    with pytest.raises(ConfigError) as caught:
        parse_proxy({"name": "x", "downgrade": [bad]}, {}, source="api")
    text = str(caught.value)
    for where in ("from", "to", "max_prompt_tokens", "max_complexity"):
        assert f"downgrade[0].{where}:" in text, text
    with pytest.raises(ConfigError, match=r"unknown key \(known keys: from, "):
        parse_proxy({"name": "x", "downgrade": [{"models": ["a"]}]}, {}, source="api")
