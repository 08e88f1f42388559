"""Pure functions of the mock: no server needed."""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from palisade.mock.content import (
    answer_text,
    chat_prompt,
    count_tokens,
    reply_for,
    seed,
    split_chunks,
    truncate_tokens,
)
from palisade.mock.errors import InvalidRequest
from palisade.mock.knobs import Knobs, ToolCallSpec
from palisade.mock.server import add_arguments, settings_from_args
from palisade.mock.settings import MockSettings
from palisade.mock.tools import arguments_for, planned_calls


@given(st.text(), st.integers(min_value=1, max_value=40))
def test_split_chunks_round_trips(text: str, count: int) -> None:
    pieces = split_chunks(text, count)
    assert "".join(pieces) == text
    assert len(pieces) == (min(count, max(len(text), 1)) if text else 1)
    assert all(pieces) or text == ""


def test_split_chunks_prefers_word_boundaries() -> None:
    assert split_chunks("alpha beta gamma delta", 2) == ("alpha beta", " gamma delta")
    assert split_chunks("ab", 5) == ("a", "b")


def test_token_approximation() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("") == 0
    assert truncate_tokens("Hello, world!", 2) == "Hello,"
    assert truncate_tokens("Hello", 9) == "Hello"
    # 3 per message + 3 to prime the reply.
    _, tokens = chat_prompt([{"role": "user", "content": [{"type": "text", "text": "a b"}]}])
    assert tokens == 3 + 2 + 3


def test_replies_are_deterministic_and_seeded() -> None:
    assert reply_for(seed("m", "p")) == reply_for(seed("m", "p"))
    assert reply_for(seed("m", "p")) != reply_for(seed("m", "q"))
    text, finish = answer_text(seed("m", "p"), None, 3, None)
    assert (count_tokens(text), finish) == (3, "length")
    assert answer_text(b"", "x y", None, ["y"]) == ("x ", "stop")


def test_arguments_follow_the_schema() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mode": {"enum": ["fast", "slow"]},
            "count": {"type": "integer", "minimum": 5},
            "ratio": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "flag": {"type": ["null", "boolean"]},
            "nested": {"type": "object", "properties": {"x": {"const": 7}}},
            "optional": {"type": "string"},
        },
        "required": ["name", "mode", "count", "ratio", "tags", "flag", "nested"],
    }
    value = arguments_for(schema, "tool")
    assert value["mode"] == "fast"
    assert value["count"] == 5
    assert isinstance(value["ratio"], float)
    assert len(value["tags"]) == 1
    assert value["flag"] is True
    assert value["nested"] == {"x": 7}
    assert "optional" not in value
    assert value == arguments_for(schema, "tool")
    assert arguments_for(None, "tool") == {}


def test_planned_calls() -> None:
    knobs = Knobs.defaults(MockSettings())
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert planned_calls({"tools": [tool]}, knobs) is None
    assert planned_calls({"tools": [tool], "tool_choice": "required"}, knobs) == (
        ToolCallSpec("f", "{}"),
    )
    named = {"tools": [tool], "tool_choice": {"type": "function", "name": "g"}}
    assert planned_calls(named, knobs) == (ToolCallSpec("g", "{}"),)
    forced = knobs.override({"tool_calls": [{"name": "h", "arguments": {"a": 1}}]})
    assert planned_calls({}, forced) == (ToolCallSpec("h", orjson.dumps({"a": 1}).decode()),)


def test_knobs_override_only_what_is_given() -> None:
    base = Knobs.defaults(MockSettings(latency_ms=5, chunks=3))
    knobs = base.override({"fail": 429, "chunk_interval_ms": 2})
    assert (knobs.latency_ms, knobs.chunks, knobs.chunk_interval_ms) == (5, 3, 2)
    assert knobs.fail == "429"
    assert base.fail is None
    with pytest.raises(InvalidRequest):
        base.override({"chunks": True})


def test_settings_json_round_trip_and_validation() -> None:
    settings = MockSettings(latency_ms=1.5, api_key="k", record=0)
    assert MockSettings.from_json(settings.to_json()) == settings
    assert MockSettings.from_json("{}") == MockSettings()
    with pytest.raises(ValueError, match="unknown"):
        MockSettings.from_json('{"latency": 1}')
    with pytest.raises(ValueError, match="chunks"):
        MockSettings(chunks=0)


def test_cli_arguments_map_to_settings() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 9100, 1)
    assert settings_from_args(args) == MockSettings()
    args = parser.parse_args(["--latency-ms", "1", "--chunks", "3", "--api-key", "k"])
    assert settings_from_args(args) == MockSettings(latency_ms=1, chunks=3, api_key="k")
