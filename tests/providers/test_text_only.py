"""`Surface.text_only` in every dialect: tools, tool turns, images and files make a request more
than text."""

from __future__ import annotations

from typing import Any

import pytest

from palisade.providers.anthropic.surfaces import MESSAGES
from palisade.providers.base import Surface
from palisade.providers.bedrock.invoke import INVOKE
from palisade.providers.bedrock.surfaces import CONVERSE
from palisade.providers.cohere.surfaces import CHAT as COHERE_CHAT
from palisade.providers.gemini.surfaces import GENERATE
from palisade.providers.ollama.surfaces import OLLAMA_CHAT
from palisade.providers.openai.surfaces import CHAT, COMPLETIONS, RESPONSES

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
ANTHROPIC_TEXT = {
    "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
        {"role": "user", "content": "Hi"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "", "signature": "s"},
                {"type": "text", "text": "Hello"},
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
    ],
}

CASES: list[tuple[str, Surface, dict[str, Any], bool]] = [
    (
        "chat",
        CHAT,
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            ]
        },
        True,
    ),
    ("chat-tools", CHAT, {"messages": [{"role": "user", "content": "hi"}], "tools": [TOOL]}, False),
    (
        "chat-functions",
        CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "functions": [{"name": "f"}]},
        False,
    ),
    (
        "chat-image",
        CHAT,
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ]
        },
        False,
    ),
    (
        "chat-audio-in",
        CHAT,
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        False,
    ),
    (
        "chat-file",
        CHAT,
        {"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]},
        False,
    ),
    (
        "chat-audio-out",
        CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "modalities": ["text", "audio"]},
        False,
    ),
    (
        "chat-tool-turn",
        CHAT,
        {"messages": [{"role": "tool", "tool_call_id": "1", "content": "x"}]},
        False,
    ),
    ("chat-odd", CHAT, {"messages": "hi"}, False),
    ("completions", COMPLETIONS, {"prompt": "hi"}, True),
    ("responses", RESPONSES, {"input": "hi", "instructions": "Be brief."}, True),
    (
        "responses-parts",
        RESPONSES,
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]},
        True,
    ),
    ("responses-tools", RESPONSES, {"input": "hi", "tools": [{"type": "web_search"}]}, False),
    (
        "responses-image",
        RESPONSES,
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
        False,
    ),
    (
        "responses-call",
        RESPONSES,
        {"input": [{"type": "function_call_output", "call_id": "1", "output": "x"}]},
        False,
    ),
    ("responses-stored", RESPONSES, {"input": "hi", "previous_response_id": "resp_1"}, False),
    ("anthropic", MESSAGES, ANTHROPIC_TEXT, True),
    (
        "anthropic-tools",
        MESSAGES,
        {**ANTHROPIC_TEXT, "tools": [{"name": "f", "input_schema": {}}]},
        False,
    ),
    (
        "anthropic-image",
        MESSAGES,
        {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
        False,
    ),
    (
        "anthropic-document",
        MESSAGES,
        {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
        False,
    ),
    (
        "anthropic-tool-result",
        MESSAGES,
        {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "1"}]}]},
        False,
    ),
    ("bedrock-invoke", INVOKE, ANTHROPIC_TEXT, True),
    (
        "gemini",
        GENERATE,
        {
            "systemInstruction": {"parts": [{"text": "s"}]},
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        },
        True,
    ),
    (
        "gemini-tools",
        GENERATE,
        {"contents": [{"parts": [{"text": "hi"}]}], "tools": [{"googleSearch": {}}]},
        False,
    ),
    (
        "gemini-inline",
        GENERATE,
        {"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": ""}}]}]},
        False,
    ),
    ("gemini-file", GENERATE, {"contents": [{"parts": [{"fileData": {"fileUri": "x"}}]}]}, False),
    (
        "gemini-call",
        GENERATE,
        {"contents": [{"parts": [{"functionResponse": {"name": "f"}}]}]},
        False,
    ),
    (
        "gemini-cached",
        GENERATE,
        {"contents": [{"parts": [{"text": "hi"}]}], "cachedContent": "cachedContents/1"},
        False,
    ),
    (
        "converse",
        CONVERSE,
        {"system": [{"text": "s"}], "messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        True,
    ),
    (
        "converse-tools",
        CONVERSE,
        {
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "f"}}]},
        },
        False,
    ),
    (
        "converse-image",
        CONVERSE,
        {"messages": [{"role": "user", "content": [{"image": {"format": "png"}}]}]},
        False,
    ),
    (
        "converse-document",
        CONVERSE,
        {"messages": [{"role": "user", "content": [{"document": {"name": "d"}}]}]},
        False,
    ),
    (
        "cohere",
        COHERE_CHAT,
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            ]
        },
        True,
    ),
    (
        "cohere-tools",
        COHERE_CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "tools": [TOOL]},
        False,
    ),
    (
        "cohere-image",
        COHERE_CHAT,
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ]
        },
        False,
    ),
    (
        "cohere-documents",
        COHERE_CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "documents": ["d"]},
        False,
    ),
    (
        "cohere-tool-turn",
        COHERE_CHAT,
        {"messages": [{"role": "tool", "tool_call_id": "1", "content": "x"}]},
        False,
    ),
    ("ollama", OLLAMA_CHAT, {"messages": [{"role": "user", "content": "hi"}]}, True),
    (
        "ollama-tools",
        OLLAMA_CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "tools": [TOOL]},
        False,
    ),
    (
        "ollama-images",
        OLLAMA_CHAT,
        {"messages": [{"role": "user", "content": "hi", "images": ["iVBOR"]}]},
        False,
    ),
    ("ollama-tool-turn", OLLAMA_CHAT, {"messages": [{"role": "tool", "content": "x"}]}, False),
]


@pytest.mark.parametrize(
    ("surface", "body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_text_only(surface: Surface, body: dict[str, Any], expected: bool) -> None:
    assert surface.text_only(body) is expected
