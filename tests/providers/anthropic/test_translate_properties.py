"""Round trips on generated conversations: OpenAI -> Anthropic -> OpenAI and the reverse keep
every message's text, every image, every tool call (id, name, arguments as JSON) and every tool
result, in order, and need no note (nothing in these conversations lacks an equivalent). The
comparison is on a normalised view that applies the documented normalisations: system messages
become one, a string and a lone text part are the same content, an assistant's text blocks are
joined, a tool result's text blocks are joined with a blank line.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from palisade.providers.anthropic.translate import (
    chat_request_to_messages,
    messages_request_to_chat,
)
from palisade.providers.translation import Notes
from tests.providers.anthropic import wire

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

texts = st.text(min_size=1, max_size=20)
json_values = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=10))
arguments = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
images_b64 = st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode())
https_urls = st.from_regex(r"https://example\.com/[a-z0-9]{1,10}\.png", fullmatch=True)


@st.composite
def call_ids(draw: st.DrawFn) -> str:
    return "call_" + draw(st.from_regex(r"[A-Za-z0-9]{6,12}", fullmatch=True))


# --- OpenAI conversations ---------------------------------------------------------------------

openai_text_part = texts.map(lambda t: {"type": "text", "text": t})
openai_image_part = st.one_of(
    images_b64.map(
        lambda d: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{d}"}}
    ),
    https_urls.map(lambda u: {"type": "image_url", "image_url": {"url": u}}),
)
openai_user_content = st.one_of(
    texts, st.lists(st.one_of(openai_text_part, openai_image_part), min_size=1, max_size=3)
)


@st.composite
def openai_conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        content = draw(st.one_of(texts, st.lists(openai_text_part, min_size=1, max_size=2)))
        messages.append(
            {"role": draw(st.sampled_from(["system", "developer"])), "content": content}
        )
    for _ in range(draw(st.integers(1, 4))):
        if not messages or messages[-1]["role"] != "tool" or draw(st.booleans()):
            messages.append({"role": "user", "content": draw(openai_user_content)})
        calls = [
            {
                "id": draw(call_ids()),
                "type": "function",
                "function": {
                    "name": draw(names),
                    "arguments": orjson.dumps(draw(arguments)).decode(),
                },
            }
            for _ in range(draw(st.integers(0, 3)))
        ]
        assistant: dict[str, Any] = {"role": "assistant"}
        if calls:
            assistant["content"] = draw(st.one_of(st.none(), texts))
            assistant["tool_calls"] = calls
        else:
            assistant["content"] = draw(
                st.one_of(texts, st.lists(openai_text_part, min_size=1, max_size=2))
            )
        messages.append(assistant)
        for call in calls:
            result = draw(st.one_of(texts, st.lists(openai_text_part, min_size=1, max_size=2)))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return messages


def _joined(content: Any, sep: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return sep.join(p["text"] for p in content)


def _parts(content: Any) -> list[tuple[str, str]]:
    if isinstance(content, str):
        return [("text", content)]
    return [
        ("text", p["text"]) if p["type"] == "text" else ("image", p["image_url"]["url"])
        for p in content
    ]


def chat_view(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    system = [
        _joined(m["content"], "\n\n") for m in messages if m["role"] in ("system", "developer")
    ]
    view: list[tuple[Any, ...]] = [("system", "\n\n".join(system))] if system else []
    for m in messages:
        role = m["role"]
        if role == "user":
            view.append(("user", _parts(m["content"])))
        elif role == "assistant":
            calls = [
                (c["id"], c["function"]["name"], orjson.loads(c["function"]["arguments"]))
                for c in m.get("tool_calls") or ()
            ]
            view.append(("assistant", _joined(m["content"], ""), calls))
        elif role == "tool":
            view.append(("tool", m["tool_call_id"], _joined(m["content"], "\n\n")))
    return view


@PROPERTY_SETTINGS
@given(openai_conversations())
def test_openai_conversation_survives_a_trip_through_anthropic(
    messages: list[dict[str, Any]],
) -> None:
    body = {"model": "m", "max_completion_tokens": 50, "messages": messages}
    wire.openai_request(body)
    notes: Notes = []
    anthropic = chat_request_to_messages(body, notes)
    wire.anthropic_request(anthropic)
    back = messages_request_to_chat(anthropic, notes)
    wire.openai_request(back)
    assert notes == []
    assert chat_view(back["messages"]) == chat_view(messages)


# --- Anthropic conversations ------------------------------------------------------------------

anthropic_text = texts.map(lambda t: {"type": "text", "text": t})
anthropic_image = st.one_of(
    images_b64.map(
        lambda d: {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": d},
        }
    ),
    https_urls.map(lambda u: {"type": "image", "source": {"type": "url", "url": u}}),
)


@st.composite
def anthropic_conversations(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "max_tokens": 50}
    if draw(st.booleans()):
        body["system"] = draw(st.one_of(texts, st.lists(anthropic_text, min_size=1, max_size=3)))
    messages: list[dict[str, Any]] = []
    pending: list[str] = []  # tool_use ids the next user turn answers
    for _ in range(draw(st.integers(1, 4))):
        user: list[dict[str, Any]] = [
            {
                "type": "tool_result",
                "tool_use_id": tool_id,
                "content": draw(st.one_of(texts, st.lists(anthropic_text, min_size=1, max_size=2))),
            }
            for tool_id in pending
        ]
        extra_min = 0 if pending else 1
        user += draw(
            st.lists(st.one_of(anthropic_text, anthropic_image), min_size=extra_min, max_size=3)
        )
        if not pending and len(user) == 1 and user[0]["type"] == "text" and draw(st.booleans()):
            messages.append({"role": "user", "content": user[0]["text"]})
        else:
            messages.append({"role": "user", "content": user})
        uses: list[dict[str, Any]] = [
            {
                "type": "tool_use",
                "id": draw(call_ids()),
                "name": draw(names),
                "input": draw(arguments),
            }
            for _ in range(draw(st.integers(0, 3)))
        ]
        pending = [u["id"] for u in uses]
        if not uses and draw(st.booleans()):
            messages.append({"role": "assistant", "content": draw(texts)})
        else:
            blocks = draw(st.lists(anthropic_text, min_size=0 if uses else 1, max_size=2))
            messages.append({"role": "assistant", "content": blocks + uses})
    body["messages"] = messages
    return body


def _anthropic_parts(content: Any) -> list[tuple[Any, ...]]:
    if isinstance(content, str):
        return [("text", content)]
    out: list[tuple[Any, ...]] = []
    for b in content:
        if b["type"] == "text":
            out.append(("text", b["text"]))
        elif b["type"] == "image":
            source = b["source"]
            out.append(("image", source.get("data") or source.get("url")))
        elif b["type"] == "tool_result":
            out.append(("tool_result", b["tool_use_id"], _joined(b["content"], "\n\n")))
    return out


def messages_view(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    system = body.get("system")
    view: list[tuple[Any, ...]] = []
    if system:
        view.append(("system", _joined(system, "\n\n")))
    for m in body["messages"]:
        content = m["content"]
        if m["role"] == "user":
            view.append(("user", _anthropic_parts(content)))
        else:
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            text = "".join(b["text"] for b in blocks if b["type"] == "text")
            calls = [(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
            view.append(("assistant", text, calls))
    return view


@PROPERTY_SETTINGS
@given(anthropic_conversations())
def test_anthropic_conversation_survives_a_trip_through_openai(body: dict[str, Any]) -> None:
    wire.anthropic_request(body)
    notes: Notes = []
    chat = messages_request_to_chat(body, notes)
    wire.openai_request(chat)
    back = chat_request_to_messages(chat, notes)
    wire.anthropic_request(back)
    assert notes == []
    assert messages_view(back) == messages_view(body)
