"""Converse streams: guarding them event by event, reading their usage, framing their events.

The stream is the AWS binary event stream; each message is named by its `:event-type`
(`messageStart`, `contentBlockStart`, `contentBlockDelta`, `contentBlockStop`, `messageStop`,
`metadata`) and carries a JSON payload without a type of its own, so the guard goes by the
event's name. Text deltas go through the answer guard's streaming redactor, which holds back
only the tail that could still complete a match; the tail is released as one more text delta
before the block's `contentBlockStop` (Converse opens text blocks without a `contentBlockStart`).
A `toolUse` block is held from its `contentBlockStart` to its `contentBlockStop` when a policy,
a scan or a mask applies, then released as one delta of the whole (redacted, un-masked) input,
or replaced, at the same index, by a text block that names the rule; with every call of the turn
blocked, `messageStop`'s `stopReason` becomes `end_turn`.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade._core import SseEvent, frame_event, frame_exception
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.bedrock.usage import from_converse
from palisade.providers.held_calls import CallHolder, HeldCall


def read_usage(holder: UsageHolder, events: list[SseEvent]) -> None:
    for event in events:
        if event.event == "metadata":
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                take_usage(holder, obj)


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    # Only `metadata` carries `usage` (the other events' payloads have no such member).
    usage = from_converse(obj.get("usage"))
    if usage is not None:
        holder.usage = usage
    return True


def frame(event: Event) -> bytes:
    name, data = event
    payload = orjson.dumps(data) if isinstance(data, dict) else str(data).encode()
    if name.endswith("Exception"):
        return frame_exception(name, payload)
    return frame_event(name, payload)


def _index(obj: dict[str, Any]) -> int:
    index = obj.get("contentBlockIndex")
    return index if isinstance(index, int) else 0


class ConverseGuard(CallHolder):
    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.texts: set[int] = set()

    def transform(self, event: Event) -> list[Event]:
        name, obj = event
        if name == "contentBlockDelta":
            index = _index(obj)
            delta = obj.get("delta")
            call = self.calls.get(index)
            if call is not None:
                use = delta.get("toolUse") if isinstance(delta, dict) else None
                if isinstance(use, dict) and isinstance(use.get("input"), str):
                    call.partial.append(use["input"])
                return []
            if isinstance(delta, dict) and isinstance(delta.get("text"), str):
                self.texts.add(index)
                delta["text"] = self.guard.feed((index, 0), delta["text"], f"content[{index}].text")
                if not delta["text"]:
                    return []
            return [event]
        if name == "contentBlockStart":
            start = obj.get("start")
            use = start.get("toolUse") if isinstance(start, dict) else None
            if isinstance(use, dict) and self._hold(_index(obj), event, use.get("name")):
                return []
            return [event]
        if name == "contentBlockStop":
            index = _index(obj)
            call = self.calls.pop(index, None)
            if call is not None:
                return self._judge(index, call, event)
            if index in self.texts:
                self.texts.discard(index)
                rest = self.guard.flush((index, 0))
                if rest:
                    tail = {"delta": {"text": rest}, "contentBlockIndex": index}
                    return [("contentBlockDelta", tail), event]
            return [event]
        if name == "messageStop" and self.blocked_all and obj.get("stopReason") == "tool_use":
            obj["stopReason"] = "end_turn"
        return [event]

    def _judge(self, index: int, call: HeldCall, stop: Event) -> list[Event]:
        where = ("output", "message", "content", index, "toolUse", "input")
        arguments, notice = self._judge_call(call, where, f"content[{index}]")
        if notice is None:
            delta = {"delta": {"toolUse": {"input": arguments}}, "contentBlockIndex": index}
            return [call.start, ("contentBlockDelta", delta), stop]
        text = {"delta": {"text": notice}, "contentBlockIndex": index}
        return [("contentBlockDelta", text), stop]
