"""OpenAI streams: guarding them event by event, reading their usage, framing their events.

Chat completions and completions stream choices with text deltas and tool-call deltas; each
text goes through the answer guard's streaming redactor, which holds back only the tail that
could still complete a match, and tool-call deltas are held until the choice finishes, since a
policy can only judge whole arguments. The Responses API streams typed events: text and argument
deltas are guarded alike, the events that repeat finished texts are redacted whole, and a
function call's events are held from its `added` to its `done`, then released or replaced by a
message that says why it was blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from palisade._core import SseEvent
from palisade.guardrails.decisions import path_text
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.openai.shape import message_item

# --- usage -----------------------------------------------------------------------------------

# With include_usage on, every chunk carries this; its compact form is removed as bytes, without
# a JSON round trip. In valid JSON the sequence can only be a real key, never string content.
_USAGE_NULL = ',"usage":null'


def has_usage_value(data: str) -> bool:
    """True when the event may carry a usage object (not just `"usage":null`)."""
    count = data.count('"usage"')
    return count > 1 or (count == 1 and _USAGE_NULL not in data)


def read_usage(holder: UsageHolder, events: list[SseEvent]) -> None:
    for event in events:
        data = event.data
        if has_usage_value(data):
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and _carries_usage(obj):
                holder.usage_source = obj


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    """Notes the event's usage (read when something asks for it), and hides it when the
    gateway asked for it on its own; False for the usage-only chunk the client did not ask
    for."""
    if not holder.injected_stream_usage:
        if _carries_usage(obj):
            holder.usage_source = obj
        return True
    if "usage" not in obj:
        return True
    raw = obj.pop("usage")
    if raw:
        holder.usage_source = {"usage": raw}
        return bool(obj.get("choices"))
    return True


def _carries_usage(obj: dict[str, Any]) -> bool:
    if isinstance(obj.get("usage"), dict):
        return True
    response = obj.get("response")  # Responses API: response.completed
    return isinstance(response, dict) and isinstance(response.get("usage"), dict)


def hide_usage(holder: UsageHolder, events: list[SseEvent]) -> bytes:
    """The events without the usage the gateway asked for on its own, re-framed. Most events
    only carry `"usage":null`, removed as bytes: only the one with the usage is parsed."""
    parts: list[bytes] = []
    for event in events:
        data = event.data
        if not has_usage_value(data):
            data = data.replace(_USAGE_NULL, "", 1)
        if '"usage"' in data:
            obj = orjson.loads(data)
            if isinstance(obj, dict) and not take_usage(holder, obj):
                continue
            data = orjson.dumps(obj).decode()
        if event.event == "message" and "\n" not in data:  # every chunk of a chat stream
            parts.append(b"data: " + data.encode() + b"\n\n")
        else:
            parts.append(frame((event.event, data)))
    return b"".join(parts)


def frame(event: Event) -> bytes:
    name, data = event
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    if name == "message" and "\n" not in text:
        return b"data: " + text.encode() + b"\n\n"
    head = "" if name == "message" else f"event: {name}\n"
    lines = "".join(f"data: {line}\n" for line in text.split("\n"))
    return f"{head}{lines}\n".encode()


# --- chat completions and completions --------------------------------------------------------


class _Call:
    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type = "function"
        self.name = ""
        self.arguments = ""


class ChoicesGuard:
    """Chat completions (`field` "content", with tool calls) and completions (`field` "text")."""

    def __init__(self, guard: AnswerGuard, field: str) -> None:
        self.guard = guard
        self.field = field
        self.calls: dict[int, dict[int, _Call]] = {}

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list):
            return [event]
        field = self.field
        kept = []
        for choice in choices:
            if not isinstance(choice, dict):
                kept.append(choice)
                continue
            index = choice.get("index", 0)
            index = index if isinstance(index, int) else 0
            holder = choice if field == "text" else choice.get("delta")
            if not isinstance(holder, dict):
                kept.append(choice)
                continue
            text = holder.get(field)
            if isinstance(text, str) and text:
                holder[field] = self.guard.feed((index, 0), text, f"choices[{index}].delta.{field}")
            calls = holder.get("tool_calls")
            if self.guard.holds_calls and isinstance(calls, list):
                self._hold(index, calls)
                del holder["tool_calls"]
            if choice.get("finish_reason") is not None:
                self._finish_choice(index, choice, holder)
            if (
                holder.get(field)
                or choice.get("finish_reason") is not None
                or len(holder) > 1
                or (field == "content" and "role" in holder)
            ):
                kept.append(choice)
        obj["choices"] = kept
        return [event] if kept or obj.get("usage") is not None else []

    def _hold(self, index: int, deltas: list[Any]) -> None:
        calls = self.calls.setdefault(index, {})
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            position = delta.get("index", 0)
            call = calls.setdefault(position if isinstance(position, int) else 0, _Call())
            if isinstance(delta.get("id"), str):
                call.id = delta["id"]
            if isinstance(delta.get("type"), str):
                call.type = delta["type"]
            fn = delta.get("function")
            if isinstance(fn, dict):
                call.name += fn.get("name") or ""
                call.arguments += fn.get("arguments") or ""

    def _finish_choice(self, index: int, choice: dict[str, Any], holder: dict[str, Any]) -> None:
        guard = self.guard
        rest = guard.flush((index, 0))
        notices = []
        released: list[dict[str, Any]] = []
        for position, call in sorted(self.calls.pop(index, {}).items()):
            path = ("choices", index, "delta", "tool_calls", position)
            arguments = guard.arguments(call.arguments, (*path, "arguments"))
            notice = guard.tool_call(call.name, arguments, path_text(path))
            if notice:
                notices.append(notice)
                continue
            released.append(
                {
                    "index": len(released),
                    "id": call.id,
                    "type": call.type,
                    "function": {"name": call.name, "arguments": arguments},
                }
            )
        field = self.field
        text = holder.get(field) or ""
        text += rest
        if notices:
            text += ("\n\n" if text else "") + "\n".join(notices)
            if not released and choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"
        if text:
            holder[field] = text
        if released:
            holder["tool_calls"] = released


# --- Responses API ---------------------------------------------------------------------------

_TEXT_DELTA = "response.output_text.delta"
_ARGS_DELTA = "response.function_call_arguments.delta"
_RESPONSES_DELTAS = frozenset({_TEXT_DELTA, _ARGS_DELTA})
_RESPONSES_DONE = frozenset({"response.output_text.done", "response.function_call_arguments.done"})
# Events that repeat finished texts in full.
_RESPONSES_WHOLE = _RESPONSES_DONE | {
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
    "response.incomplete",
}


class ResponsesGuard:
    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard
        # Events of function calls not yet judged, and blocked calls' notices, by output index.
        self.held: dict[int, list[Event]] = {}
        self.blocked: dict[int, str] = {}
        self.sequence: int | None = None

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        if not isinstance(obj, dict):
            return [event]
        out = self._events(event[0], obj)
        # Events were added or held back: renumber so that sequence numbers keep increasing
        # in the order the client receives them.
        for _, data in out:
            if isinstance(data, dict) and isinstance(data.get("sequence_number"), int):
                if self.sequence is None:
                    self.sequence = data["sequence_number"]
                data["sequence_number"] = self.sequence
                self.sequence += 1
        return out

    def _events(self, name: str, obj: dict[str, Any]) -> list[Event]:
        kind = obj.get("type")
        index = _int(obj.get("output_index"))
        out = self._texts(name, obj, kind, index)
        if not self.guard.checks_calls:
            return out
        item = obj.get("item")
        if kind == "response.output_item.added" and _is_call(item):
            self.held[index] = out
            return []
        if kind == "response.output_item.done" and index in self.held:
            held = self.held.pop(index)
            assert isinstance(item, dict)
            notice = self.guard.tool_call(
                _str(item.get("name")), _str(item.get("arguments")), f"output[{index}]"
            )
            if notice is None:
                return [*held, *out]
            self.blocked[index] = notice
            return [(_name(name, e), e) for e in _message_events(obj, index, notice)]
        if index in self.held and kind != "response.completed":
            self.held[index].extend(out)
            return []
        if kind in ("response.completed", "response.incomplete") and self.blocked:
            output = obj.get("response", {}).get("output")
            if isinstance(output, list):
                for position, notice in self.blocked.items():
                    if position < len(output):
                        output[position] = message_item(position, notice)
        return out

    def _texts(self, name: str, obj: dict[str, Any], kind: object, index: int) -> list[Event]:
        guard = self.guard
        if kind in _RESPONSES_DELTAS and isinstance(obj.get("delta"), str):
            key = (index, _int(obj.get("content_index")) if kind == _TEXT_DELTA else -1)
            where = f"output[{index}]" + (f".content[{key[1]}]" if key[1] >= 0 else ".arguments")
            obj["delta"] = guard.feed(key, obj["delta"], where)
            return [(name, obj)]
        out: list[Event] = []
        if kind in _RESPONSES_DONE:
            delta_kind = _TEXT_DELTA if kind == "response.output_text.done" else _ARGS_DELTA
            key = (index, _int(obj.get("content_index")) if delta_kind == _TEXT_DELTA else -1)
            rest = guard.flush(key)
            if rest:  # the held tail, before the event that closes its text
                tail = {k: v for k, v in obj.items() if k not in ("text", "arguments")}
                delta = {**tail, "type": delta_kind, "delta": rest}
                out.append((_name(name, delta), delta))
        if kind in _RESPONSES_WHOLE:
            _map_texts(obj, guard.whole)
        out.append((name, obj))
        return out


def _name(name: str, data: dict[str, Any]) -> str:
    """An added event's SSE name: its type when the stream names its events."""
    return name if name == "message" else str(data.get("type", name))


def _map_texts(node: Any, fix: Callable[[str], str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "arguments") and isinstance(value, str):
                node[key] = fix(value)
            elif isinstance(value, dict | list):
                _map_texts(value, fix)
    elif isinstance(node, list):
        for value in node:
            _map_texts(value, fix)


def _is_call(item: object) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call"


def _message_events(done: dict[str, Any], index: int, notice: str) -> list[dict[str, Any]]:
    """The events of a whole assistant message, in place of a blocked function call."""
    item = message_item(index, notice)
    seq = {"sequence_number": done["sequence_number"]} if "sequence_number" in done else {}
    at = {"item_id": item["id"], "output_index": index, "content_index": 0, **seq}
    part = item["content"][0]
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
            **seq,
        },
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        {"type": "response.output_text.delta", **at, "delta": notice, "logprobs": []},
        {"type": "response.output_text.done", **at, "text": notice, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item, **seq},
    ]


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
