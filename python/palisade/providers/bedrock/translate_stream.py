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

from typing import Any, Final

from palisade.providers.bedrock.translate import STOP_TO_FINISH, chat_usage, new_chat_id
from palisade.providers.chat_chunks import DONE, ChatChunks
from palisade.providers.chat_errors import chat_error, openai_error_type

# A stream exception's name -> the status its error would have had.
_EXCEPTION_STATUS: Final = {
    "validationException": 400,
    "throttlingException": 429,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
    "internalServerException": 500,
}


class ConverseStreamToChat(ChatChunks):
    __slots__ = ("_stopped", "_tools")

    def __init__(self, *, include_usage: bool, model: str) -> None:
        super().__init__(include_usage=include_usage, model=model, chunk_id=new_chat_id())
        # Converse content block index -> OpenAI tool call index.
        self._tools: dict[int, int] = {}
        self._stopped = False

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
                return [self._call_arguments(tool, use["input"])]
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
                return [self._chunk({"reasoning_content": reasoning["text"]})]
            return []
        if event == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if not isinstance(use, dict) or not isinstance(index, int):
                return []
            tool = self._tools[index] = len(self._tools)
            return [self._call_start(tool, use.get("toolUseId"), use.get("name"), "")]
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
                out.append(self._usage_chunk(chat_usage(usage if isinstance(usage, dict) else {})))
            out.append(DONE)
            return out
        if event.endswith("Exception"):
            self._done = True
            status = _EXCEPTION_STATUS.get(event, 500)
            message = data.get("message") or data.get("Message") or "upstream stream error"
            return [chat_error(message, openai_error_type(status), event[0].upper() + event[1:])]
        return []

    def finish(self) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        self._done = True
        out: list[dict[str, Any] | str] = []
        if self._stopped:
            if self._include_usage:
                out.append(self._usage_chunk(chat_usage({})))
            out.append(DONE)
        return out
