"""Compiled `Condition`s of tool policies and trusted-data rules.

String operations (`equals`, `contains`, `starts_with`, `ends_with`) are case-sensitive and
compare code points as is (no Unicode normalisation). `regex` uses the Rust linear-time engine
of `palisade._core` (Rust `regex` syntax; `(?i)` for case-insensitive), compiled once: a pattern
from the config cannot backtrack catastrophically on text chosen by an attacker. A regex holds
when it matches a non-empty part of the text (an empty match, say of `^$`, does not count).

A tool-policy condition may name an `argument`: a dot path into the call's JSON arguments
(`options.path`; a list element by its index, `files.0`). A string value is compared as is;
any other value (number, boolean, null, object, list) as its compact JSON text (`true`, `42`,
`{"a":1}`). A missing path or arguments that are not JSON mean the condition does not hold.
Without an argument the condition applies to the whole arguments text (tool policies) or to
the tool result's text (trusted data).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final, final

import orjson

from palisade._core import Scanner
from palisade.config import Condition, ConditionOp
from palisade.config.guardrails import ArgumentPath, parse_argument_path

_VERBS: Final[dict[ConditionOp, str]] = {
    "equals": "equals the configured value",
    "contains": "contains the configured value",
    "starts_with": "starts with the configured value",
    "ends_with": "ends with the configured value",
    "regex": "matches the configured pattern",
}

# Per segment: the object key, and the list index when the key is a plain number.

_UNPARSED: Final = object()
_INVALID: Final = object()


@final
class Arguments:
    """One tool call's arguments text, parsed as JSON on first use and at most once."""

    __slots__ = ("_value", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._value: Any = _UNPARSED

    def lookup(self, path: ArgumentPath) -> str | None:
        """The text at `path` (see the module docstring), or None when there is none."""
        value = self._value
        if value is _UNPARSED:
            value = self._value = _parse(self.text)
        if value is _INVALID:
            return None
        for key, index in path:
            if isinstance(value, dict):
                if key not in value:
                    return None
                value = value[key]
            elif isinstance(value, list) and index is not None and index < len(value):
                value = value[index]
            else:
                return None
        return value if isinstance(value, str) else _json_text(value)


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    # orjson rejects what Python's json (and so many agent frameworks) accepts: NaN, Infinity,
    # lone surrogates. Arguments the client would execute must not slip past a rule that way.
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _INVALID


def _json_text(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, lone surrogates
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@final
class Matcher:
    """One compiled condition. Build it once per config; it is immutable and thread-safe."""

    __slots__ = ("_path", "_test", "argument", "op")

    def __init__(self, condition: Condition) -> None:
        """ValueError for an invalid regex or an argument path with an empty segment."""
        self.op: ConditionOp = condition.op
        self.argument = condition.argument
        self._path = None if condition.argument is None else parse_argument_path(condition.argument)
        self._test = _compile(condition.op, condition.value)

    def test(self, text: str) -> bool:
        """The condition on `text` itself, whatever its `argument` (trusted data)."""
        return self._test(text)

    def holds(self, arguments: Arguments) -> bool:
        """The condition on a tool call: on its `argument`, else on the whole arguments text."""
        if self._path is None:
            return self._test(arguments.text)
        value = arguments.lookup(self._path)
        return value is not None and self._test(value)

    def describe(self, subject: str = "the text") -> str:
        """What held, without the configured value: "argument `cmd` contains the configured
        value". `subject` names the whole text when the condition has no argument."""
        what = subject if self.argument is None else f"argument `{self.argument}`"
        return f"{what} {_VERBS[self.op]}"


def _compile(op: ConditionOp, value: str) -> Callable[[str], bool]:
    if op == "equals":
        return value.__eq__
    if op == "contains":
        return lambda text: value in text
    if op == "starts_with":
        return lambda text: text.startswith(value)
    if op == "ends_with":
        return lambda text: text.endswith(value)
    if op == "regex":
        scanner = Scanner([], {"condition": value})
        return lambda text: bool(scanner.scan(text))
    raise ValueError(f"unknown condition operator {op!r}")
