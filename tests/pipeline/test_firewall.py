"""The firewall's JSON shape limits: nesting depth, repeated keys and the parser differentials
(on the raw bytes), and message counts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from palisade.config import FirewallConfig
from palisade.errors import BadRequest
from palisade.pipeline.firewall import check_messages, check_shape, parse_json_object

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


# ---- parser differentials: the gateway judges orjson's parse but forwards the raw bytes -------

SECRET = "sk-proj-" + "a1B2c3D4e5F6" * 4


def _shape_then_parse(raw: bytes) -> None:
    """The route's first two steps on a body."""
    check_shape(raw, FirewallConfig())
    parse_json_object(raw)


def _refused(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        _shape_then_parse(raw)
    error = caught.value
    assert (error.status, error.type) == (400, "invalid_request_error")
    assert error.message.startswith("Palisade:")
    return error


@pytest.mark.parametrize(
    "raw",
    [
        # A first-wins provider would read the secret; orjson (last wins) reads "hi".
        (
            b'{"model": "x", "messages": [{"role": "user", "content": "%s"}], '
            b'"messages": [{"role": "user", "content": "hi"}]}' % SECRET.encode()
        ),
        # The same with the second key escaped, which only a decoding comparison catches.
        (
            b'{"model": "x", "messages": [{"role": "user", "content": "%s"}], '
            b'"mess\\u0061ges": [{"role": "user", "content": "hi"}]}' % SECRET.encode()
        ),
    ],
)
def test_a_smuggled_duplicate_messages_key_is_a_400(raw: bytes) -> None:
    error = _refused(raw)
    assert (error.code, error.param) == ("duplicate_key", "messages")
    assert "repeats the key `messages` in one object" in error.message
    assert "parsers disagree" in error.message
    assert SECRET not in error.message


def test_a_duplicate_deep_inside_is_a_400_naming_the_key() -> None:
    raw = (
        b'{"model": "x", "messages": [{"role": "user", "content": "hi"}, '
        b'{"role": "user", "content": "%s", "content": "ok"}]}' % SECRET.encode()
    )
    error = _refused(raw)
    assert (error.code, error.param) == ("duplicate_key", "content")
    assert SECRET not in error.message


def test_a_long_duplicate_key_is_echoed_cut_to_64_characters() -> None:
    key = "k" * 63 + "é" + "x" * 1000
    error = _refused(b'{"%s": 1, "%s": 2}' % (key.encode(), key.encode()))
    assert error.param == key[:64]
    assert f"`{key[:64]}`" in error.message
    assert "x" not in error.message.split("`")[1]


def test_the_same_key_in_different_objects_passes() -> None:
    body = {
        "model": "x",
        "messages": [
            {"role": "user", "content": "role"},
            {"role": "assistant", "content": "messages", "name": "model"},
        ],
        "metadata": {"model": "x", "messages": "y"},
    }
    check_shape(orjson.dumps(body), FirewallConfig())


def test_a_nul_escape_is_a_400() -> None:
    # Scanners see `sk-proj-\x00…`, no key; a provider that drops the NUL sees a key.
    raw = orjson.dumps({"model": "x", "messages": [{"role": "user", "content": "sk-\x00proj"}]})
    error = _refused(raw)
    assert error.code == "invalid_json"
    assert "NUL" in error.message
    assert "does not accept" in error.message
    assert error.param is None


@pytest.mark.parametrize(
    "raw",
    [
        # Refused by orjson itself (3.13), right after the shape check; each of these some
        # provider parser reads (Python's json: NaN, Infinity, 1e400, lone surrogates, UTF-16).
        b'\xef\xbb\xbf{"model": "x", "messages": []}',
        b'{"model": "x", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": "x", "messages": [{"role": "user", "content": "\\udc00\\ud800"}]}',
        b'{"model": "x", "messages": [{"role": "user", "content": "\\ud83d\\u0041"}]}',
        b'{"model": "x", "\\ud800": 1}',
        b'{"model": "x", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}',
        b'{"model": "x", "messages": [{"role": "user", "content": "\xff"}]}',
        b'{"model": "x", "messages": [{"role": "user", "content": "a\x00b"}]}',
        b'{"model": "x", "messages": [{"role": "user", "content": "a\x1fb"}]}',
        b'{"model": "x", "temperature": NaN}',
        b'{"model": "x", "temperature": Infinity}',
        b'{"model": "x", "temperature": 1e400}',
        b'{"model": "x", "max_tokens": ' + b"9" * 400 + b"}",
        b'{"model": "x", "messages": []} {"messages": []}',
        b'{"model": "x", "messages": []}\x00',
        b'{"model": "x", /* note */ "messages": []}',
        b'{"model": "x", "messages": [],}',
        b"{'model': 'x'}",
        '{"model": "x", "messages": []}'.encode("utf-16"),
        '{"model": "x", "messages": []}'.encode("utf-16-le"),
    ],
)
def test_differentials_orjson_refuses_are_a_400(raw: bytes) -> None:
    assert _refused(raw).code == "invalid_json"


def test_integers_beyond_64_bits_become_the_nearest_double() -> None:
    # Accepted, as by Go's encoding/json, serde_json and JSON.parse, which read the same double
    # (Python's json alone keeps every digit). No guardrail reads a number; limits read
    # `max_tokens` only when it is an int, so this value falls back to the default reservation.
    body = b'{"model": "x", "max_tokens": 18446744073709551616, "seed": -9223372036854775809}'
    check_shape(body, FirewallConfig())
    parsed = parse_json_object(body)
    assert parsed["max_tokens"] == 18446744073709551616.0
    assert isinstance(parsed["max_tokens"], float)
    assert parsed["seed"] == -9223372036854775809.0
    # Up to 64 bits they stay exact integers.
    exact = parse_json_object(b'{"a": 18446744073709551615, "b": -9223372036854775808}')
    assert exact == {"a": 2**64 - 1, "b": -(2**63)}
    assert all(type(v) is int for v in exact.values())


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
