"""Converse stream events -> OpenAI chat.completion.chunk objects.

- messageStart -> the first chunk, `delta: {"role": "assistant", "content": ""}`.
- contentBlockDelta text -> `delta.content`; reasoningContent text -> `delta.reasoning_content`;
  a contentBlockStart of a toolUse -> a tool call with its id, name and empty arguments, at the
  next OpenAI tool index; toolUse input pieces -> `arguments` pieces at that index.
- messageStop -> a chunk with an empty delta and the finish reason (`translate.STOP_TO_FINISH`).
- metadata (Converse's last event, after messageStop) -> the usage chunk (`choices: []`) when the
  client asked for it with `stream_options.include_usage`, then "[DONE]".
- an exception event (`throttlingException`, ...) -> an OpenAI error object, the stream's last
  item (no "[DONE]": the stream did not complete).
- `finish()`, for a stream that ended without metadata: the usage chunk (when asked for) and
  "[DONE]" if the stop reason had come; the caller adds an error otherwise.
"""

from __future__ import annotations

import time
from typing import Any, Final

from palisade.providers.anthropic.translate import openai_error_type
from palisade.providers.bedrock.translate import STOP_TO_FINISH, chat_usage, new_chat_id

DONE: Final = "[DONE]"
_CHUNK: Final = "chat.completion.chunk"
# A stream exception's name -> the status its error would have had.
_EXCEPTION_STATUS: Final = {
    "validationException": 400,
    "throttlingException": 429,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
    "internalServerException": 500,
}


class ConverseStreamToChat:
    __slots__ = ("_created", "_done", "_id", "_include_usage", "_model", "_stopped", "_tools")

    def __init__(self, *, include_usage: bool, model: str) -> None:
        self._include_usage = include_usage
        self._id = new_chat_id()
        self._model = model
        self._created = int(time.time())
        # Converse content block index -> OpenAI tool call index.
        self._tools: dict[int, int] = {}
        self._done = False
        self._stopped = False

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": _CHUNK,
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    @property
    def open(self) -> bool:
        return not self._done

    def feed(self, event: str, data: dict[str, Any]) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        index = data.get("contentBlockIndex")
        if event == "contentBlockDelta":
            delta = data.get("delta") or {}
            if isinstance(delta.get("text"), str):
                return [self._chunk({"content": delta["text"]})]
            use = delta.get("toolUse")
            if isinstance(use, dict) and isinstance(use.get("input"), str):
                tool = self._tools.get(index) if isinstance(index, int) else None
                if tool is None:
                    return []
                call = {"index": tool, "function": {"arguments": use["input"]}}
                return [self._chunk({"tool_calls": [call]})]
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
                return [self._chunk({"reasoning_content": reasoning["text"]})]
            return []
        if event == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if not isinstance(use, dict) or not isinstance(index, int):
                return []
            tool = self._tools[index] = len(self._tools)
            call = {
                "index": tool,
                "id": use.get("toolUseId"),
                "type": "function",
                "function": {"name": use.get("name"), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if event == "messageStart":
            return [self._chunk({"role": "assistant", "content": ""})]
        if event == "messageStop":
            self._stopped = True
            stop = data.get("stopReason")
            finish = STOP_TO_FINISH.get(stop, "stop") if isinstance(stop, str) else "stop"
            return [self._chunk({}, finish)]
        if event == "metadata":
            self._done = True
            usage = data.get("usage")
            out: list[dict[str, Any] | str] = []
            if self._include_usage:
                out.append(self._usage_chunk(usage if isinstance(usage, dict) else {}))
            out.append(DONE)
            return out
        if event.endswith("Exception"):
            self._done = True
            status = _EXCEPTION_STATUS.get(event, 500)
            message = data.get("message") or data.get("Message") or "upstream stream error"
            error = {
                "message": message,
                "type": openai_error_type(status),
                "param": None,
                "code": event[0].upper() + event[1:],
            }
            return [{"error": error}]
        return []

    def finish(self) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        self._done = True
        out: list[dict[str, Any] | str] = []
        if self._stopped:
            if self._include_usage:
                out.append(self._usage_chunk({}))
            out.append(DONE)
        return out

    def _usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": _CHUNK,
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": chat_usage(usage),
        }
