from typing import Any

import orjson
import pytest

from palisade.config import Condition, ConditionOp
from palisade.config.guardrails import parse_argument_path
from palisade.guardrails.conditions import Arguments, Matcher


def holds(op: ConditionOp, value: str, arguments: str, argument: str | None = None) -> bool:
    return Matcher(Condition(op, value, argument)).holds(Arguments(arguments))


@pytest.mark.parametrize(
    ("op", "value", "text", "expected"),
    [
        ("equals", "ls -la", "ls -la", True),
        ("equals", "ls -la", "ls -la ", False),
        ("equals", "", "", True),
        ("contains", "rm -rf", "sudo rm -rf /", True),
        ("contains", "rm -rf", "rm -r -f /", False),
        ("contains", "", "anything", True),
        ("starts_with", "/etc/", "/etc/passwd", True),
        ("starts_with", "/etc/", "/home/etc/", False),
        ("ends_with", ".pem", "keys/server.pem", True),
        ("ends_with", ".pem", "server.pem.txt", False),
        ("regex", r"\brm\s+-rf\b", "x; rm   -rf /", True),
        ("regex", r"\brm\s+-rf\b", "farm -rf", False),
        ("regex", r"^/etc/", "/etc/hosts", True),
        ("regex", r"^/etc/", "cat /etc/hosts", False),
        ("regex", r"(?i)secret", "TOP SECRET", True),
    ],
)
def test_every_operator_on_a_whole_text(
    op: ConditionOp, value: str, text: str, expected: bool
) -> None:
    matcher = Matcher(Condition(op, value))
    assert matcher.test(text) is expected
    # Without an argument, a tool-policy condition sees the whole arguments text, JSON or not.
    assert matcher.holds(Arguments(text)) is expected


@pytest.mark.parametrize(
    ("op", "value", "text"),
    [
        ("equals", "Admin", "admin"),
        ("contains", "DROP TABLE", "drop table users"),
        ("starts_with", "Rm", "rm -rf"),
        ("ends_with", ".PEM", "key.pem"),
        ("regex", "Secret", "secret"),
    ],
)
def test_matching_is_case_sensitive(op: ConditionOp, value: str, text: str) -> None:
    assert not Matcher(Condition(op, value)).test(text)


def test_a_regex_holds_only_on_a_non_empty_match() -> None:
    assert not Matcher(Condition("regex", "^$")).test("")
    assert not Matcher(Condition("regex", "x*")).test("abc")
    assert Matcher(Condition("regex", "x*")).test("abxc")


def test_the_regex_engine_is_linear_on_catastrophic_patterns() -> None:
    # Backtracking engines take exponential time on these; the answer must simply come back.
    nested = Matcher(Condition("regex", "(a+)+$"))
    assert not nested.test("a" * 100_000 + "!")
    assert nested.test("!" + "a" * 100_000)
    alternation = Matcher(Condition("regex", "^(a|aa)+$"))
    assert not alternation.test("a" * 50_000 + "b")
    assert alternation.test("a" * 50_000)
    # The same through an argument value.
    assert not holds("regex", "(x+x+)+y", orjson.dumps({"q": "x" * 20_000}).decode(), "q")


def test_an_invalid_regex_is_rejected_when_built() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        Matcher(Condition("regex", "(unclosed"))


CALL = orjson.dumps(
    {
        "command": "rm -rf /tmp/x",
        "options": {"path": "/etc/passwd", "depth": {"max": 3}},
        "files": ["a.txt", {"name": "b.pem"}, ["nested"]],
        "count": 42,
        "ratio": 1.5,
        "force": True,
        "nothing": None,
        "env": {"A": "1", "B": [1, 2]},
        "by_index": {"0": "zero"},
        "dotted.key": "x",
    }
).decode()


@pytest.mark.parametrize(
    ("argument", "op", "value", "expected"),
    [
        ("command", "starts_with", "rm ", True),
        ("options.path", "equals", "/etc/passwd", True),
        ("options.depth.max", "equals", "3", True),
        ("files.0", "equals", "a.txt", True),
        ("files.1.name", "ends_with", ".pem", True),
        ("files.2.0", "equals", "nested", True),
        # Non-strings compare as compact JSON text.
        ("count", "equals", "42", True),
        ("ratio", "equals", "1.5", True),
        ("force", "equals", "true", True),
        ("nothing", "equals", "null", True),
        ("env", "equals", '{"A":"1","B":[1,2]}', True),
        ("env.B", "equals", "[1,2]", True),
        ("files", "contains", '"b.pem"', True),
        # A digit segment is a key in an object.
        ("by_index.0", "equals", "zero", True),
        # The other argument does not leak into this one.
        ("options.path", "contains", "rm -rf", False),
    ],
)
def test_argument_paths(argument: str, op: ConditionOp, value: str, expected: bool) -> None:
    assert holds(op, value, CALL, argument) is expected


@pytest.mark.parametrize(
    "argument",
    [
        "missing",
        "options.missing",
        "options.path.deeper",  # into a string
        "files.3",  # past the end
        "files.x",  # a name on a list
        "files.-1",  # no negative indices
        "files.²",  # a Unicode digit is no index
        "count.0",  # into a number
        "dotted.key",  # a dot always separates segments
    ],
)
def test_a_missing_path_never_holds(argument: str) -> None:
    # `contains ""` would hold on any value: only the missing path can make it false.
    assert not holds("contains", "", CALL, argument)


@pytest.mark.parametrize(
    "arguments",
    ["", "not json", '{"command": "rm -rf /"', "[1, 2", '{"command": rm}', "{'command': 'rm'}"],
)
def test_unparsable_arguments_fail_argument_conditions_only(arguments: str) -> None:
    assert not holds("contains", "", arguments, "command")
    # A whole-text condition still sees the raw text.
    assert holds("contains", "", arguments)


@pytest.mark.parametrize(
    ("arguments", "value"),
    [
        ('{"command": "rm -rf /", "pad": NaN}', "rm -rf /"),
        ('{"command": "rm -rf /", "pad": 1e999}', "rm -rf /"),
        ('{"command": "rm -rf /", "pad": "\\ud800"}', "rm -rf /"),
    ],
)
def test_json_that_orjson_rejects_but_clients_accept_is_still_checked(
    arguments: str, value: str
) -> None:
    # Python's json (and so many agent frameworks) executes these; a rule must still see them.
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(arguments)
    assert holds("equals", value, arguments, "command")


def test_non_strings_beyond_what_orjson_writes_still_compare_as_json() -> None:
    # 64-bit overflow on the way out (the stdlib parser keeps big integers exact).
    big = "123456789012345678901234567890"
    assert holds("equals", f"[{big}]", f'{{"n": [{big}], "pad": NaN}}', "n")
    # A lone surrogate (not UTF-8 text) on the way out.
    assert holds("equals", '["\ud800"]', '{"s": ["\\ud800"]}', "s")


def test_deeply_nested_arguments_are_unparsable_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert not holds("contains", "", deep, "0")
    assert holds("starts_with", "[[[", deep)


def test_arguments_are_parsed_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    loads = orjson.loads

    def counting_loads(text: str) -> Any:
        calls.append(text)
        return loads(text)

    monkeypatch.setattr(orjson, "loads", counting_loads)
    args = Arguments('{"a": "x", "b": {"c": 1}}')
    assert calls == []
    matchers = [
        Matcher(Condition("equals", "x", "a")),
        Matcher(Condition("equals", "1", "b.c")),
        Matcher(Condition("contains", "z", "a")),
        Matcher(Condition("contains", '"a"')),
    ]
    assert [m.holds(args) for m in matchers] == [True, True, False, True]
    assert [m.holds(args) for m in matchers] == [True, True, False, True]
    assert len(calls) == 1

    broken = Arguments("{")
    assert not Matcher(Condition("equals", "x", "a")).holds(broken)
    assert not Matcher(Condition("equals", "x", "b")).holds(broken)
    assert len(calls) == 2


@pytest.mark.parametrize("argument", ["", ".a", "a.", "a..b"])
def test_an_argument_path_with_an_empty_segment_is_rejected(argument: str) -> None:
    with pytest.raises(ValueError, match="empty segment"):
        Matcher(Condition("equals", "x", argument))


def test_argument_path_segments() -> None:
    assert parse_argument_path("files.10.name") == (("files", None), ("10", 10), ("name", None))


@pytest.mark.parametrize(
    ("condition", "subject", "expected"),
    [
        (Condition("contains", "s3cr3t", "command"), "x", "argument `command` contains"),
        (Condition("equals", "s3cr3t"), "the result", "the result equals the configured value"),
        (Condition("starts_with", "s3cr3t"), "the text", "the text starts with the configured"),
        (Condition("ends_with", "s3cr3t", "a.b"), "x", "argument `a.b` ends with the configured"),
        (Condition("regex", "s3cr3t.*"), "the text", "the text matches the configured pattern"),
    ],
)
def test_descriptions_name_the_operator_never_the_value(
    condition: Condition, subject: str, expected: str
) -> None:
    text = Matcher(condition).describe(subject)
    assert text.startswith(expected)
    assert "s3cr3t" not in text
