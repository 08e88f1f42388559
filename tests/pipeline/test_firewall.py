"""The firewall's JSON shape limits: nesting depth (on the raw bytes) and message counts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade.config import FirewallConfig
from palisade.errors import BadRequest
from palisade.pipeline.firewall import check_messages, check_shape

CONFIG = FirewallConfig(max_json_depth=4, max_messages=3)


def _nested(levels: int) -> bytes:
    value: Any = "leaf"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return orjson.dumps(value)


def test_depth_at_the_limit_passes() -> None:
    check_shape(_nested(4), CONFIG)
    check_shape(b'{"model": "m", "messages": []}', CONFIG)


def test_depth_over_the_limit_is_a_400_naming_the_limit() -> None:
    with pytest.raises(BadRequest) as caught:
        check_shape(_nested(5), CONFIG)
    error = caught.value
    assert error.status == 400
    assert error.code == "json_too_deep"
    assert error.type == "invalid_request_error"
    assert error.message.startswith("Palisade:")
    assert "4 levels" in error.message


def test_brackets_inside_strings_do_not_count() -> None:
    body = orjson.dumps({"messages": [{"content": '[[[[[[{{{{{{ \\" ]]]]'}]})
    check_shape(body, CONFIG)


def test_depth_is_checked_on_raw_bytes_before_any_parsing() -> None:
    # Not JSON (unterminated), and a parser would recurse into it: rejected as too deep.
    with pytest.raises(BadRequest) as caught:
        check_shape(b"[" * 1_000_000, FirewallConfig())
    assert caught.value.code == "json_too_deep"
    assert "64 levels" in caught.value.message


def test_default_limit_fits_real_requests() -> None:
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {
                        "type": "object",
                        "properties": {"a": {"type": "array", "items": {"type": "object"}}},
                    },
                },
            }
        ],
    }
    check_shape(orjson.dumps(request), FirewallConfig())


@pytest.mark.parametrize("key", ["messages", "input"])
def test_message_count_at_the_limit_passes(key: str) -> None:
    check_messages({key: [{"role": "user", "content": "x"}] * 3}, CONFIG)


@pytest.mark.parametrize("key", ["messages", "input"])
def test_too_many_messages_is_a_400_naming_field_and_limit(key: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_messages({"model": "m", key: [{"role": "user", "content": "x"}] * 4}, CONFIG)
    error = caught.value
    assert error.status == 400
    assert error.code == "too_many_messages"
    assert error.param == key
    assert error.message.startswith("Palisade:")
    assert f"`{key}` has 4 items" in error.message
    assert "limit is 3" in error.message


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"input": "one long string " * 100},
        # Wrong types are the upstream's to reject, not counted here.
        {"messages": "x" * 100},
        {"messages": {str(i): i for i in range(100)}},
        {"messages": None},
        {"input": 12345},
    ],
)
def test_non_list_values_are_not_counted(body: dict[str, Any]) -> None:
    check_messages(body, CONFIG)


def test_default_message_limit() -> None:
    config = FirewallConfig()
    check_messages({"messages": [{}] * 2048}, config)
    with pytest.raises(BadRequest, match="limit is 2048"):
        check_messages({"messages": [{}] * 2049}, config)
