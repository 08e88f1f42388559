"""`json_depth`: the byte scan must agree with the depth of the parsed document."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from palisade._core import json_depth

# Strings are where a byte scan goes wrong: brackets, quotes and backslashes inside them must
# not count, so the alphabet leans on exactly those.
_TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/ ,:aé\u2028\x00\x1f😀'), max_size=20)
_STRINGS = st.one_of(st.text(max_size=20), _TRICKY)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _STRINGS,
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_STRINGS, children, max_size=4),
    ),
    max_leaves=40,
)


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


def _wrap(value: Any, levels: int) -> Any:
    for i in range(levels):
        value = [value] if i % 2 else {"k[{": value}
    return value


@settings(max_examples=500, deadline=None)
@given(document=_DOCUMENTS, extra=st.integers(min_value=0, max_value=70))
def test_agrees_with_the_parsed_depth(document: Any, extra: int) -> None:
    document = _wrap(document, extra)
    expected = reference_depth(document)
    for raw in (
        orjson.dumps(document),
        # Python's encoder escapes every non-ASCII character (`\uXXXX`) and adds whitespace.
        json.dumps(document, indent=1).encode(),
    ):
        assert json_depth(raw) == expected
        for limit in (0, expected - 1, expected, expected + 1, 64):
            if limit < 0:
                continue
            assert json_depth(raw, limit) == (limit + 1 if expected > limit else expected)


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0),
        (b"42", 0),
        (b'"[[["', 0),
        (b"{}", 1),
        (b'{"a": "]]]", "b": [1, [2]]}', 3),
        (rb'["\"[[[", {}]', 2),
        (rb'["\\", [[]]]', 3),
        (rb'{"a": "\\\"{{{\\"}', 1),
        (b'["\\u005b", [[]]]', 3),
        # Not JSON at all: answered, not rejected (validation is the parser's job).
        (b"]]]][[", 2),
        (b'[[ "unterminated [[[[', 2),
        (b"\xff\xfe[\x80[", 2),
    ],
)
def test_examples(raw: bytes, depth: int) -> None:
    assert json_depth(raw) == depth


def test_limit_stops_at_the_first_bracket_over_it() -> None:
    hostile = b"[" * (4 * 1024 * 1024)
    assert json_depth(hostile, 64) == 65
    assert json_depth(hostile) == 4 * 1024 * 1024


def test_large_input_with_the_gil_released() -> None:
    # Above the 16 KiB hand-over threshold: the same answer from the detached path.
    content = 'a "quoted" [bracket] \\ ' * 2000
    raw = orjson.dumps({"messages": [{"role": "user", "content": content}] * 20})
    assert len(raw) > 16 * 1024
    assert json_depth(raw) == 3
    assert json_depth(raw, 2) == 3


def test_negative_limit_is_refused() -> None:
    with pytest.raises(OverflowError):
        json_depth(b"[]", -1)
