"""Strict checks of translated bodies against the SDKs' own types.

The SDKs type requests as TypedDicts, which pydantic validates lazily (`Iterable` fields) and
loosely (unknown keys ignored, a `total=False` union member matches almost anything). This
walker checks the whole tree eagerly instead: every required key present, no key the type does
not declare, every value of a declared type, a union satisfied by at least one member. Answers
and stream events are pydantic models and are validated by the SDKs themselves.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import typing_extensions
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)
from pydantic import BaseModel, TypeAdapter

_WRAPPERS = {
    typing.Required,
    typing.NotRequired,
    typing_extensions.Required,
    typing_extensions.NotRequired,
    typing_extensions.ReadOnly,
}
_LISTS = {list, Iterable, Sequence, typing.List}  # noqa: UP006 - the SDKs spell it both ways


class Mismatch(AssertionError):
    pass


@cache
def _hints(tp: Any) -> dict[str, Any]:
    return typing.get_type_hints(tp, include_extras=True)


def _check(value: Any, tp: Any, path: str) -> None:
    if tp is Any or tp is object:
        return
    origin = get_origin(tp)
    if origin is typing.Annotated or origin in _WRAPPERS:
        _check(value, get_args(tp)[0], path)
        return
    if origin is Union or origin is types.UnionType:
        members = get_args(tp)
        tagged = [m for m in members if _tag_matches(value, m)]
        failures = []
        for member in tagged or members:
            try:
                _check(value, member, path)
                return
            except Mismatch as exc:
                failures.append(str(exc))
        # The failure that got deepest into the value names the real problem.
        raise Mismatch(max(failures, key=lambda f: len(f.split(": ", 1)[0])))
    if origin is Literal:
        if value not in get_args(tp):
            raise Mismatch(f"{path}: {value!r} is not one of {get_args(tp)}")
        return
    if tp is type(None):
        if value is not None:
            raise Mismatch(f"{path}: expected null, got {value!r}")
        return
    if tp is bool:
        if not isinstance(value, bool):
            raise Mismatch(f"{path}: expected a bool, got {value!r}")
        return
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Mismatch(f"{path}: expected an int, got {value!r}")
        return
    if tp is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Mismatch(f"{path}: expected a number, got {value!r}")
        return
    if tp is str:
        if not isinstance(value, str):
            raise Mismatch(f"{path}: expected a string, got {value!r}")
        return
    if origin in _LISTS or getattr(origin, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            raise Mismatch(f"{path}: expected a list, got {value!r}")
        (item,) = get_args(tp) or (Any,)
        for i, v in enumerate(value):
            _check(v, item, f"{path}[{i}]")
        return
    if origin is dict or origin is Mapping or tp is dict:
        if not isinstance(value, dict):
            raise Mismatch(f"{path}: expected an object, got {value!r}")
        args = get_args(tp)
        if args:
            for k, v in value.items():
                _check(v, args[1], f"{path}.{k}")
        return
    if typing_extensions.is_typeddict(tp):
        _check_typeddict(value, tp, path)
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        # Unions of request params also admit the SDK's response models (to pass an answer
        # back as is); a translated body is plain JSON and must match a param type.
        raise Mismatch(f"{path}: a plain value where the SDK takes a {tp.__name__} object")
    # File inputs and the like: nothing a translated body holds.
    raise Mismatch(f"{path}: unexpected type {tp!r} for {value!r}")


def _tag_matches(value: Any, tp: Any) -> bool:
    """Whether `tp` is a TypedDict whose literal `type` (or `role`) is the value's: the member
    the value means to be, whose mismatch is the one worth reporting."""
    if not isinstance(value, dict) or not typing_extensions.is_typeddict(tp):
        return False
    hints = _hints(tp)
    for tag in ("type", "role"):
        hint = hints.get(tag)
        while hint is not None and get_origin(hint) in _WRAPPERS:
            hint = get_args(hint)[0]
        if get_origin(hint) is Literal:
            return value.get(tag) in get_args(hint)
    return False


@cache
def _required(tp: Any) -> frozenset[str]:
    # The SDKs' modules use `from __future__ import annotations`, so `__required_keys__` cannot
    # see their `Required[...]` markers (only each class's totality): add them from the hints.
    keys = set()
    for key, hint in _hints(tp).items():
        origin = get_origin(hint)
        marked = origin in (typing.Required, typing_extensions.Required)
        unmarked = origin not in (typing.NotRequired, typing_extensions.NotRequired)
        if marked or (unmarked and key in tp.__required_keys__):
            keys.add(key)
    return frozenset(keys)


def _check_typeddict(value: Any, tp: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise Mismatch(f"{path}: expected {tp.__name__}, got {value!r}")
    hints = _hints(tp)
    for key in _required(tp):
        if key not in value:
            raise Mismatch(f"{path}: {tp.__name__} requires {key!r}")
    for key, v in value.items():
        if key not in hints:
            raise Mismatch(f"{path}: {tp.__name__} has no key {key!r}")
        _check(v, hints[key], f"{path}.{key}")


# Accepted by the API on older models, gone from the SDK since newer models refuse them.
_SAMPLING = ("temperature", "top_p", "top_k")


def anthropic_request(body: dict[str, Any]) -> None:
    body = dict(body)
    for key in _SAMPLING:
        if key in body:
            _check(body.pop(key), float, f"body.{key}")
    tp = MessageCreateParamsStreaming if body.get("stream") else MessageCreateParamsNonStreaming
    _check(body, tp, "body")


def openai_request(body: dict[str, Any]) -> None:
    """`reasoning_content` on an assistant message is the one extension a translated body
    may carry (DeepSeek's convention, which its thinking mode requires back)."""
    messages = []
    for message in body.get("messages") or ():
        if message.get("role") == "assistant" and "reasoning_content" in message:
            message = dict(message)
            _check(message.pop("reasoning_content"), str, "body.messages[].reasoning_content")
        messages.append(message)
    body = {**body, "messages": messages}
    tp = (
        CompletionCreateParamsStreaming
        if body.get("stream")
        else CompletionCreateParamsNonStreaming
    )
    _check(body, tp, "body")


def responses_request(body: dict[str, Any]) -> None:
    tp = ResponseCreateParamsStreaming if body.get("stream") else ResponseCreateParamsNonStreaming
    _check(body, tp, "body")


def anthropic_message(obj: dict[str, Any]) -> Message:
    return Message.model_validate(obj)


def openai_completion(obj: dict[str, Any]) -> ChatCompletion:
    return ChatCompletion.model_validate(obj)


def openai_chunk(obj: dict[str, Any]) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(obj)


_EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


def anthropic_event(event: str, data: dict[str, Any]) -> RawMessageStreamEvent:
    assert data["type"] == event
    return _EVENTS.validate_python(data)


def openai_response(obj: dict[str, Any]) -> Response:
    return Response.model_validate(obj)


_RESPONSE_EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)


def openai_response_event(event: str, data: dict[str, Any]) -> ResponseStreamEvent:
    assert data["type"] == event
    return _RESPONSE_EVENTS.validate_python(data)
