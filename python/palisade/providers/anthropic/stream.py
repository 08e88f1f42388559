"""Anthropic streams: guarding them event by event, reading their usage, framing their events.

Text deltas go through the answer guard's streaming redactor, which holds back only the tail
that could still complete a match; the tail is released as one more `text_delta` before the
block's `content_block_stop`. A `tool_use` block is held from its `content_block_start` to its
`content_block_stop` when a policy, a scan or a mask applies, then released as one
`input_json_delta` of the whole (redacted, un-masked) input, or replaced, at the same index, by
a text block that names the rule; with every call of the turn blocked, `message_delta`'s
`stop_reason` becomes `end_turn`. Thinking blocks pass untouched (their signature covers them).
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade._core import SseEvent
from palisade.providers.anthropic.usage import merged, usage_of
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.held_calls import CallHolder, HeldCall
from palisade.providers.typed_sse import frame as frame

_USAGE_EVENTS = frozenset({"message_start", "message_delta"})


def read_usage(holder: UsageHolder, events: list[SseEvent]) -> None:
    for event in events:
        if event.event in _USAGE_EVENTS:
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                take_usage(holder, obj)


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    kind = obj.get("type")
    if kind == "message_start":
        message = obj.get("message")
        if isinstance(message, dict):
            usage = usage_of(message)
            if usage is not None:
                holder.usage = usage
    elif kind == "message_delta":
        delta = obj.get("usage")
        if isinstance(delta, dict):
            holder.usage = merged(holder.usage, delta)
    return True


class MessagesGuard(CallHolder):
    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.texts: set[int] = set()

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        kind = obj.get("type")
        index = obj.get("index")
        index = index if isinstance(index, int) else 0
        if kind == "content_block_start":
            block = obj.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                if self._hold(index, event, block.get("name")):
                    return []
            elif isinstance(block, dict) and block.get("type") == "text":
                self.texts.add(index)
                text = block.get("text")
                if isinstance(text, str) and text:
                    block["text"] = self.guard.feed((index, 0), text, f"content[{index}].text")
            return [event]
        if kind == "content_block_delta":
            call = self.calls.get(index)
            if call is not None:
                delta = obj.get("delta")
                if isinstance(delta, dict) and isinstance(delta.get("partial_json"), str):
                    call.partial.append(delta["partial_json"])
                return []
            delta = obj.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "text_delta":
                text = delta.get("text")
                if isinstance(text, str):
                    delta["text"] = self.guard.feed((index, 0), text, f"content[{index}].text")
                    if not delta["text"]:
                        return []
            return [event]
        if kind == "content_block_stop":
            call = self.calls.pop(index, None)
            if call is not None:
                return self._judge(index, call, event)
            if index in self.texts:
                self.texts.discard(index)
                rest = self.guard.flush((index, 0))
                if rest:
                    tail = {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": rest},
                    }
                    return [(_name(event, tail), tail), event]
            return [event]
        if kind == "message_delta" and self.blocked_all:
            delta = obj.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") == "tool_use":
                delta["stop_reason"] = "end_turn"
        return [event]

    def _judge(self, index: int, call: HeldCall, stop: Event) -> list[Event]:
        where = ("content", index, "input")
        arguments, notice = self._judge_call(call, where, f"content[{index}]")
        if notice is None:
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": arguments},
            }
            return [call.start, (_name(stop, delta), delta), stop]
        start = {"type": "content_block_start", "index": index, "content_block": _text("")}
        text = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": notice},
        }
        return [(_name(stop, start), start), (_name(stop, text), text), stop]


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _name(like: Event, data: dict[str, Any]) -> str:
    return str(data["type"]) if like[0] != "message" else "message"
