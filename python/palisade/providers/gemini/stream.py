"""Gemini streams (`streamGenerateContent?alt=sse`): guarding them chunk by chunk, reading their
usage, framing their events.

Each event is a whole `GenerateContentResponse` chunk. Text parts go through the answer guard's
streaming redactor, keyed by candidate, which holds back only the tail that could still
complete a match; the tail is released as one more text part of the chunk that carries the
candidate's `finishReason` (or, when a function call follows text, of the chunk with the call,
before it). Gemini sends a `functionCall` whole, in one part: it is judged as it comes (its
arguments redacted and un-masked), and a blocked call becomes a text part that names the rule.
A chunk left with nothing to say (its text all held back) is not sent. Parts marked `thought`
pass untouched.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade._core import SseEvent
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.gemini.shape import field


def read_usage(holder: UsageHolder, events: list[SseEvent]) -> None:
    # Every chunk may carry the total so far: only the last one that does is parsed for it
    # (a stream relayed unchanged is read on the raw text first).
    for event in reversed(events):
        if '"usageMetadata"' in event.data:
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and take_usage(holder, obj):
                return


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    # Kept, and read (`usage_of`) only when something asks: most chunks' usage is overtaken.
    if isinstance(obj.get("usageMetadata"), dict):
        holder.usage_source = obj
    return True


def frame(event: Event) -> bytes:
    data = event[1]
    text = orjson.dumps(data) if isinstance(data, dict) else str(data).encode()
    return b"data: " + text + b"\r\n\r\n"


class GenerateGuard:
    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        candidates = obj.get("candidates")
        if not isinstance(candidates, list):
            return [event]
        guard = self.guard
        said = False
        for i, candidate in enumerate(candidates):
            if not isinstance(candidate, dict):
                continue
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            if isinstance(parts, list):
                out: list[Any] = []
                for j, part in enumerate(parts):
                    if not isinstance(part, dict) or part.get("thought") is True:
                        out.append(part)
                        continue
                    text = part.get("text")
                    if isinstance(text, str):
                        where = f"candidates[{i}].content.parts[{j}].text"
                        part["text"] = guard.feed((i, 0), text, where)
                        if part["text"] or len(part) > 1:
                            out.append(part)
                        continue
                    call = field(part, "functionCall")
                    if isinstance(call, dict):
                        rest = guard.flush((i, 0))
                        if rest:
                            out.append({"text": rest})
                        out.append(self._judge(i, j, part, call))
                        continue
                    out.append(part)
                if candidate.get("finishReason"):
                    rest = guard.flush((i, 0))
                    if rest:
                        out.append({"text": rest})
                content["parts"] = out  # type: ignore[index]
                said = said or bool(out)
            elif candidate.get("finishReason"):
                rest = guard.flush((i, 0))
                if rest:
                    candidate["content"] = {"role": "model", "parts": [{"text": rest}]}
            said = said or bool(candidate.get("finishReason"))
        if not said:
            # Its usage, the total so far, was read before; the next chunk repeats it.
            return []
        return [event]

    def _judge(self, i: int, j: int, part: dict[str, Any], call: dict[str, Any]) -> Any:
        guard = self.guard
        name = call.get("name")
        name = name if isinstance(name, str) else ""
        path = ("candidates", i, "content", "parts", j, "functionCall", "args")
        arguments = guard.arguments(orjson.dumps(call.get("args") or {}).decode(), path)
        notice = guard.tool_call(name, arguments, f"candidates[{i}].content.parts[{j}]")
        if notice is not None:
            return {"text": notice}
        try:
            call["args"] = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            call["args"] = {"_invalid_arguments": arguments}
        return part
