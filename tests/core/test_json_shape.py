"""`json_shape`: the byte scan must agree with a parser on depth and on repeated keys."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from palisade._core import ShapeFault, json_shape

NO_LIMIT = 2**62

# Strings are where a byte scan goes wrong: brackets, quotes and backslashes inside them must
# not count, so the alphabet leans on exactly those. No NUL: it is a fault of its own (below).
_TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/ ,:aé\u2028\x01\x1f😀'), max_size=20)
_STRINGS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20), _TRICKY
)
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


def _encodings(document: Any) -> list[bytes]:
    return [
        orjson.dumps(document),
        # Python's encoder escapes every non-ASCII character (`\uXXXX`, surrogate pairs beyond
        # the BMP), in keys too, and adds whitespace.
        json.dumps(document, indent=1).encode(),
        json.dumps(document, ensure_ascii=False).encode(),
    ]


def _fault(raw: bytes, max_depth: int = NO_LIMIT) -> ShapeFault:
    fault = json_shape(raw, max_depth)
    assert fault is not None, raw
    return fault


@settings(max_examples=500, deadline=None)
@given(document=_DOCUMENTS, extra=st.integers(min_value=0, max_value=70))
def test_valid_json_passes_and_the_depth_is_the_parsed_one(document: Any, extra: int) -> None:
    document = _wrap(document, extra)
    depth = reference_depth(document)
    for raw in _encodings(document):
        assert json_shape(raw, NO_LIMIT) is None
        assert json_shape(raw, depth) is None
        assert json_shape(raw, depth + 1) is None
        if depth > 0:
            fault = _fault(raw, depth - 1)
            assert (fault.kind, fault.key) == ("too_deep", None)
            assert raw[fault.offset : fault.offset + 1] in (b"[", b"{")


# ---- repeated keys ---------------------------------------------------------------------------


def _escape_all(key: str) -> str:
    """`key` as a JSON string with every character written as a `\\uXXXX` escape."""
    units = key.encode("utf-16-be")
    return '"' + "".join(f"\\u{units[i : i + 2].hex()}" for i in range(0, len(units), 2)) + '"'


def _repeated_keys(raw: bytes) -> set[str]:
    """The keys that some object of `raw` repeats, by Python's parser (the reference)."""
    repeated: set[str] = set()

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        repeated.update(k for k in keys if keys.count(k) > 1)
        return dict(pairs)

    json.loads(raw, object_pairs_hook=pairs_hook)
    return repeated


def _dump(value: Any, duplicate: tuple[int, int, bool] | None, counter: list[int]) -> str:
    """JSON for `value`, with the `duplicate = (object number, key number, escaped)`: the
    object numbered so in document order that has keys gets its key of that number once more
    at its end, written raw or fully escaped."""
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, duplicate, counter) for v in value) + "]"
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    number = counter[0]
    if value:
        counter[0] += 1
    members = [
        f"{json.dumps(k, ensure_ascii=False)}:{_dump(v, duplicate, counter)}"
        for k, v in value.items()
    ]
    if duplicate is not None and duplicate[0] == number and value:
        key = list(value)[duplicate[1] % len(value)]
        written = _escape_all(key) if duplicate[2] else json.dumps(key, ensure_ascii=False)
        members.append(f"{written}:null")
    return "{" + ",".join(members) + "}"


def _objects_with_keys(value: Any) -> int:
    if isinstance(value, list):
        return sum(_objects_with_keys(v) for v in value)
    if isinstance(value, dict):
        return (1 if value else 0) + sum(_objects_with_keys(v) for v in value.values())
    return 0


@settings(max_examples=500, deadline=None)
@given(
    document=_DOCUMENTS,
    extra=st.integers(min_value=1, max_value=30),
    which=st.integers(min_value=0),
    key=st.integers(min_value=0),
    escaped=st.booleans(),
)
def test_a_repeated_key_is_found_at_any_depth(
    document: Any, extra: int, which: int, key: int, escaped: bool
) -> None:
    document = _wrap(document, extra)
    target = which % _objects_with_keys(document)
    raw = _dump(document, (target, key, escaped), [0]).encode()
    repeated = _repeated_keys(raw)
    assert len(repeated) == 1
    fault = _fault(raw)
    assert fault.kind == "duplicate_key"
    assert fault.key in repeated
    assert raw[fault.offset : fault.offset + 1] == b'"'
    # The repeat is found whatever the depth limit, as long as the scan gets that far.
    assert _fault(raw, reference_depth(document)).kind == "duplicate_key"


# Few short keys, so that repeats are common; each written raw or escaped, at random.
_KEYS = st.sampled_from(["a", "b", "A", "é", "😀", "messages", '"', "\\", ""])
_KEY_TEXT = st.tuples(_KEYS, st.sampled_from(["raw", "ascii", "escaped"])).map(
    lambda k: {
        "raw": json.dumps(k[0], ensure_ascii=False),
        "ascii": json.dumps(k[0]),
        "escaped": _escape_all(k[0]),
    }[k[1]]
)
_TEXTS: st.SearchStrategy[str] = st.recursive(
    st.one_of(_KEY_TEXT, st.sampled_from(["0", "-1.5e3", "true", "null", "[]", "{}"])),
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_KEY_TEXT, children), max_size=5).map(
            lambda members: "{" + ", ".join(f"{k}: {v}" for k, v in members) + "}"
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=1000, deadline=None)
@given(text=_TEXTS)
def test_repeats_agree_with_a_parser_on_any_valid_json(text: str) -> None:
    raw = text.encode()
    repeated = _repeated_keys(raw)
    fault = json_shape(raw, NO_LIMIT)
    if not repeated:
        assert fault is None
    else:
        assert fault is not None
        assert (fault.kind, fault.key in repeated) == ("duplicate_key", True)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (rb'{"messages": [], "mess\u0061ges": []}', "messages"),
        (rb'{"\u006D": 1, "\u006d": 2}', "m"),
        (rb'{"M": 1, "\u004D": 2}', "M"),
        ('{"😀": 1, "\\ud83d\\ude00": 2}'.encode(), "😀"),
        ('{"\\uD83D\\uDE00": 1, "😀": 2}'.encode(), "😀"),
        ('{"café": 1, "caf\\u00e9": 2}'.encode(), "café"),
        (rb'{"a/b": 1, "a\/b": 2}', "a/b"),
        (rb'{"\"": 1, "\u0022": 2}', '"'),
        (rb'{"\\": 1, "\u005c": 2}', "\\"),
        (rb'{"\n\t\b\f\r": 1, "\u000a\u0009\u0008\u000c\u000d": 2}', "\n\t\b\f\r"),
        (rb'{"": 1, "": 2}', ""),
    ],
)
def test_keys_are_compared_as_a_parser_decodes_them(raw: bytes, key: str) -> None:
    assert _repeated_keys(raw) == {key}
    fault = _fault(raw)
    assert (fault.kind, fault.key) == ("duplicate_key", key)
    # The second key's opening quote.
    assert fault.offset == raw.index(b", ") + 2


@pytest.mark.parametrize(
    "raw",
    [
        # A key equal to a value, to its own value, to a value in another object.
        b'{"a": "a", "b": "a"}',
        b'{"role": "role", "content": ["role", "content", {"role": "x"}]}',
        # The same key in sibling objects, in nested objects, in objects in arrays.
        b'[{"a": 1}, {"a": 2}, {"a": {"a": {"a": 3}}}]',
        b'{"a": {"a": 1}, "b": {"a": 2, "b": 3}}',
        b'{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}',
        # Keys that differ by case, by a trailing space, by an escaped backslash before `u`,
        # or only once normalized (a parser does not normalize).
        b'{"messages": 1, "Messages": 2, "MESSAGES": 3}',
        b'{"a": 1, "a ": 2, " a": 3}',
        b'{"a\\\\u0061": 1, "aa": 2, "a\\\\\\u0061": 3}',
        '{"\u00e9": 1, "e\u0301": 2}'.encode(),
        # Many keys, past the hash table's threshold, none repeated; then the same keys again
        # in a sibling object and in a nested one.
        orjson.dumps([{f"key{i}": {f"key{j}": j for j in range(40)} for i in range(40)}] * 2),
    ],
)
def test_no_false_repeats(raw: bytes) -> None:
    assert _repeated_keys(raw) == set()
    assert json_shape(raw, NO_LIMIT) is None


def test_the_first_repeat_in_the_text_is_reported() -> None:
    raw = b'{"b": 1, "a": [{"c": 1, "c": 2}], "b": 2}'
    fault = _fault(raw)
    assert (fault.key, fault.offset) == ("c", raw.index(b'"c"', raw.index(b'"c"') + 1))


def test_a_hundred_thousand_keys_are_checked_in_linear_time() -> None:
    # Not a timing assertion: a quadratic scan would not finish within the test's patience.
    many = {f"key{i:06}": i for i in range(100_000)}
    raw = orjson.dumps(many)
    assert json_shape(raw, 64) is None
    repeated = raw[:-1] + b',"key000000":0}'
    fault = _fault(repeated, 64)
    assert (fault.kind, fault.key, fault.offset) == ("duplicate_key", "key000000", len(raw))
    # Keys that agree on their length and first and last 8 bytes, so that telling them apart
    # needs every byte: the worst case for comparing.
    alike = "{" + ",".join(f'"prefix__{i:06}__suffix":0' for i in range(100_000)) + "}"
    assert json_shape(alike.encode(), 64) is None
    escaped = "{" + ",".join(f'"\\u006b{i}":0' for i in range(100_000)) + "}"
    assert json_shape(escaped.encode(), 64) is None
    assert _fault((escaped[:-1] + ',"k99999":1}').encode()).key == "k99999"


def test_many_large_objects_in_a_row() -> None:
    # A huge object, then many just past the hash threshold: none pays for another's size.
    objects = [{f"k{i}": i for i in range(100_000)}] + [{f"k{i}": i for i in range(20)}] * 20_000
    raw = orjson.dumps(objects)
    assert json_shape(raw, 64) is None
    fault = _fault(raw[:-2] + b',"k3":0}]')
    assert (fault.kind, fault.key) == ("duplicate_key", "k3")


# ---- NUL escapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        orjson.dumps({"messages": [{"role": "user", "content": "sk-proj-\x00abc"}]}),
        orjson.dumps({"a\x00": 1}),
        json.dumps(["\x00"]).encode(),
        b'"\\u0000"',
    ],
)
def test_a_nul_escape_is_a_fault(raw: bytes) -> None:
    fault = _fault(raw)
    assert (fault.kind, fault.key) == ("nul_escape", None)
    assert raw[fault.offset : fault.offset + 6] == b"\\u0000"


def test_text_that_only_looks_like_a_nul_escape_is_not_one() -> None:
    # An escaped backslash followed by `u0000`; the escapes of other control characters.
    assert json_shape(orjson.dumps({"a": "\\u0000", "b": "\\\\u0000"}), 64) is None
    assert json_shape(orjson.dumps({"a": "\x01\x1f\u0100"}), 64) is None


# ---- limits and totality ---------------------------------------------------------------------


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
def test_depth_examples(raw: bytes, depth: int) -> None:
    assert json_shape(raw, depth) is None
    if depth:
        assert _fault(raw, depth - 1).kind == "too_deep"


def test_the_limit_stops_the_scan_at_the_first_bracket_over_it() -> None:
    hostile = b"[" * (4 * 1024 * 1024)
    fault = _fault(hostile, 64)
    assert (fault.kind, fault.offset) == ("too_deep", 64)
    assert json_shape(hostile, len(hostile)) is None
    # A repeated key past the bracket over the limit is never reached.
    assert _fault(b'[[[{"a":1,"a":2}]]]', 2).kind == "too_deep"
    assert _fault(b'[[[{"a":1,"a":2}]]]', 4).kind == "duplicate_key"


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200), limit=st.integers(min_value=0, max_value=8))
def test_any_bytes_get_an_answer(raw: bytes, limit: int) -> None:
    fault = json_shape(raw, limit)
    if fault is not None:
        assert 0 <= fault.offset < len(raw)


def test_large_input_with_the_gil_released() -> None:
    # Above the 16 KiB hand-over threshold: the same answers from the detached path.
    content = 'a "quoted" [bracket] \\ ' * 2000
    raw = orjson.dumps({"messages": [{"role": "user", "content": content}] * 20})
    assert len(raw) > 16 * 1024
    assert json_shape(raw, 3) is None
    assert _fault(raw, 2).kind == "too_deep"
    fault = _fault(raw[:-1] + b',"messages":[]}')
    assert (fault.kind, fault.key) == ("duplicate_key", "messages")


def test_a_fault_is_frozen_and_shows_no_value() -> None:
    fault = _fault(b'{"k": "secret value", "k": 2}')
    assert repr(fault) == 'ShapeFault(kind="duplicate_key", key="k", offset=22)'
    assert "secret" not in repr(fault)
    with pytest.raises(AttributeError):
        fault.kind = "too_deep"  # type: ignore[misc]


def test_negative_limit_is_refused() -> None:
    with pytest.raises(OverflowError):
        json_shape(b"[]", -1)
