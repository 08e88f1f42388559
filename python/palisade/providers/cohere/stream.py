"""Cohere v2 chat streams: guarding them event by event, reading their usage, framing events.

Text goes through the answer guard's streaming redactor, which holds back only the tail that
could still complete a match: `content-delta` texts (and thinking) per content index, released
as one more `content-delta` before the index's `content-end`; `tool-plan-delta` texts, whose
tail is released as one more `tool-plan-delta` before the first event that is not one. A tool
call is held from its `tool-call-start` to its `tool-call-end` when a policy, a scan or a mask
applies, then released as its start (empty arguments), one `tool-call-delta` with the whole
(redacted, un-masked) arguments and its end; or replaced by a text content (start, delta, end)
that names the rule, at the next content index (later content indexes move up by one). With
every call of the turn blocked, `message-end`'s `finish_reason` becomes `COMPLETE`. Citations
pass untouched.

Usage: the `message-end` event's `delta.usage`.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade._core import SseEvent
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.cohere.usage import from_cohere
from palisade.providers.held_calls import CallHolder, HeldCall
from palisade.providers.typed_sse import frame as frame

_PLAN = (-1, 0)


def read_usage(holder: UsageHolder, events: list[SseEvent]) -> None:
    for event in events:
        data = event.data
        if event.event == "message-end" or "message-end" in data:
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                take_usage(holder, obj)


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    if obj.get("type") == "message-end":
        delta = obj.get("delta")
        if isinstance(delta, dict):
            usage = from_cohere(delta.get("usage"))
            if usage is not None:
                holder.usage = usage
    return True


def _event(data: dict[str, Any]) -> Event:
    return (str(data["type"]), data)


def _message(obj: dict[str, Any]) -> dict[str, Any] | None:
    delta = obj.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    return message if isinstance(message, dict) else None


class ChatGuard(CallHolder):
    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        # content index -> the key its pieces are under (`text` or `thinking`)
        self.texts: dict[int, str] = {}
        self.planning = False
        # Content indexes the provider used (plus one), and how far notices moved later ones.
        self.next_content = 0
        self.shift = 0

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        kind = obj.get("type")
        out: list[Event] = []
        if self.planning and kind != "tool-plan-delta":
            self.planning = False
            rest = self.guard.flush(_PLAN)
            if rest:
                tail = {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": rest}}}
                out.append(_event(tail))
        index = obj.get("index")
        index = index if isinstance(index, int) else 0
        if kind == "tool-plan-delta":
            message = _message(obj)
            if message is not None and isinstance(message.get("tool_plan"), str):
                self.planning = True
                text = self.guard.feed(_PLAN, message["tool_plan"], "message.tool_plan")
                message["tool_plan"] = text
                if not text:
                    return out
            out.append(event)
            return out
        if kind in ("content-start", "content-delta", "content-end"):
            self.next_content = max(self.next_content, index + 1)
            if self.shift:
                obj["index"] = index + self.shift
            out.extend(self._content(kind, index, obj, event))
            return out
        if kind == "tool-call-start":
            message = _message(obj)
            call = message.get("tool_calls") if message is not None else None
            fn = call.get("function") if isinstance(call, dict) else None
            name = fn.get("name") if isinstance(fn, dict) else None
            if self._hold(index, event, name):
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    self.calls[index].partial.append(fn["arguments"])
                    fn["arguments"] = ""
                return out
        elif kind == "tool-call-delta":
            pending = self.calls.get(index)
            if pending is not None:
                message = _message(obj)
                call = message.get("tool_calls") if message is not None else None
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    pending.partial.append(fn["arguments"])
                return out
        elif kind == "tool-call-end":
            done = self.calls.pop(index, None)
            if done is not None:
                out.extend(self._judge(index, done, event))
                return out
        elif kind == "message-end" and self.blocked_all:
            delta = obj.get("delta")
            if isinstance(delta, dict) and delta.get("finish_reason") == "TOOL_CALL":
                delta["finish_reason"] = "COMPLETE"
        out.append(event)
        return out

    def _content(self, kind: str, index: int, obj: dict[str, Any], event: Event) -> list[Event]:
        guard = self.guard
        if kind == "content-end":
            key = self.texts.pop(index, None)
            if key is not None:
                rest = guard.flush((index, 0))
                if rest:
                    delta = {
                        "type": "content-delta",
                        "index": obj["index"],
                        "delta": {"message": {"content": {key: rest}}},
                    }
                    return [_event(delta), event]
            return [event]
        message = _message(obj)
        content = message.get("content") if message is not None else None
        if not isinstance(content, dict):
            return [event]
        for key in ("text", "thinking"):
            text = content.get(key)
            if isinstance(text, str):
                self.texts[index] = key
                if text:
                    content[key] = guard.feed((index, 0), text, f"message.content[{index}].{key}")
                    if kind == "content-delta" and not content[key]:
                        return []
                break
        return [event]

    def _judge(self, index: int, call: HeldCall, end: Event) -> list[Event]:
        where = ("message", "tool_calls", index, "function", "arguments")
        arguments, notice = self._judge_call(call, where, f"message.tool_calls[{index}]")
        if notice is None:
            delta = {
                "type": "tool-call-delta",
                "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": arguments}}}},
            }
            return [call.start, _event(delta), end]
        at = self.next_content + self.shift
        self.shift += 1
        start = {
            "type": "content-start",
            "index": at,
            "delta": {"message": {"content": {"type": "text", "text": ""}}},
        }
        text = {
            "type": "content-delta",
            "index": at,
            "delta": {"message": {"content": {"text": notice}}},
        }
        return [_event(start), _event(text), _event({"type": "content-end", "index": at})]
