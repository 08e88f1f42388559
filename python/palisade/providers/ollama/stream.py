"""Ollama streams: one JSON object per line (`application/x-ndjson`), the last with
`"done": true` and the counts. Parsed into events shaped like the SSE parser's (`event`,
`data`), so the relay treats them alike; guarded line by line; framed back as lines."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import orjson

from palisade._core import SseEvent
from palisade.providers.base import AnswerGuard, Event, UsageHolder
from palisade.providers.ollama import shape

NDJSON = "application/x-ndjson"


class Line(NamedTuple):
    """One NDJSON line as an event: what the relay reads of the SSE parser's (`event`, `data`)."""

    data: str
    event: str = "message"


class NdjsonParser:
    """Splits a stream into lines as its bytes arrive; a line may span chunks."""

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        data = self._rest + chunk if self._rest else chunk
        *lines, self._rest = data.split(b"\n")
        out = [Line(line.decode()) for line in lines if line.strip()]
        # Duck-typed: the relay reads only `event` and `data` of what a parser returns.
        return cast("list[SseEvent]", out)

    def finish(self) -> bool:
        return bool(self._rest.strip())


def frame(event: Event) -> bytes:
    data = event[1]
    if isinstance(data, str):
        return data.encode() + b"\n"
    return orjson.dumps(data) + b"\n"


def take_usage(holder: UsageHolder, obj: dict[str, Any]) -> bool:
    if obj.get("done"):
        holder.usage_source = obj
    return True


class LinesGuard:
    """The answer's text through the streaming redactor (held back only while a match could
    still complete); tool calls, which Ollama sends whole, judged as they come; the held tail
    flushed into the last line."""

    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard

    def transform(self, event: Event) -> list[Event]:
        obj = event[1]
        message = obj.get("message") if isinstance(obj, dict) else None
        if not isinstance(message, dict):
            return [event]
        guard = self.guard
        text = message.get("content")
        if isinstance(text, str) and text:
            message["content"] = guard.feed((0, 0), text, "message.content")
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            notices = []
            kept = []
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict):
                    kept.append(call)
                    continue
                path = ("message", "tool_calls", j)
                arguments = guard.arguments(shape.arguments_text(fn.get("arguments")), path)
                name = fn.get("name") if isinstance(fn.get("name"), str) else ""
                notice = guard.tool_call(str(name), arguments, f"message.tool_calls[{j}]")
                if notice:
                    notices.append(notice)
                    continue
                try:
                    fn["arguments"] = orjson.loads(arguments)
                except orjson.JSONDecodeError:
                    fn["arguments"] = arguments
                kept.append(call)
            if kept:
                message["tool_calls"] = kept
            else:
                del message["tool_calls"]
            if notices:
                held = message.get("content") or ""
                message["content"] = held + ("\n\n" if held else "") + "\n".join(notices)
        if obj.get("done"):
            rest = guard.flush((0, 0))
            if rest:
                message["content"] = (message.get("content") or "") + rest
        if not obj.get("done") and not message.get("content") and not message.get("tool_calls"):
            return []
        return [event]
