"""Cohere v2 chat stream events -> OpenAI chat.completion.chunk objects.

One translator object per stream; `feed` takes one upstream event and returns what to send, in
order. The rules are `translate`'s (ids, finish reasons, usage, `tool_plan` as text); what is
particular to streams:
- message-start -> the first chunk, `delta: {"role": "assistant", "content": ""}`; its id is kept
  for every later chunk.
- content-start (a non-empty text) and content-delta -> `delta.content`; thinking ->
  `delta.reasoning_content`; tool-plan-delta -> `delta.content`.
- tool-call-start -> a tool call with its id, name and arguments so far, at the next OpenAI tool
  index; tool-call-delta -> `arguments` pieces at that index.
- message-end -> a chunk with an empty delta and the finish reason, the usage chunk
  (`choices: []`) if the client asked for it with `stream_options.include_usage`, then "[DONE]";
  with `finish_reason: "ERROR"`, an OpenAI error object instead, the stream's last item.
- content-end, tool-call-end, citation-start/-end and debug events produce nothing.
- `finish()`, for a stream that ended without message-end: the usage chunk alone when asked for
  (the caller adds the error: the stream did not complete).
"""

from __future__ import annotations

from typing import Any

from palisade.providers.chat_chunks import DONE, ChatChunks
from palisade.providers.cohere.translate import FINISH, chat_id, chat_usage, stream_error


def _message(data: dict[str, Any]) -> dict[str, Any]:
    delta = data.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    return message if isinstance(message, dict) else {}


class CohereStreamToChat(ChatChunks):
    __slots__ = ("_tools", "_usage")

    def __init__(self, *, include_usage: bool, model: object) -> None:
        super().__init__(include_usage=include_usage, model=model)
        self._usage: object = None
        # Cohere tool call index -> OpenAI tool call index.
        self._tools: dict[int, int] = {}

    @property
    def open(self) -> bool:
        return bool(self._id) and not self._done

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        kind = data.get("type")
        if kind == "content-delta" or kind == "content-start":
            content = _message(data).get("content")
            if not isinstance(content, dict):
                return []
            if isinstance(content.get("thinking"), str) and content["thinking"]:
                return [self._chunk({"reasoning_content": content["thinking"]})]
            if isinstance(content.get("text"), str) and content["text"]:
                return [self._chunk({"content": content["text"]})]
            return []
        if kind == "tool-plan-delta":
            plan = _message(data).get("tool_plan")
            return [self._chunk({"content": plan})] if isinstance(plan, str) and plan else []
        if kind == "tool-call-start" or kind == "tool-call-delta":
            return self._tool(kind, data)
        if kind == "message-start":
            self._id = chat_id(data.get("id"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "message-end":
            if not self._id:
                self._id = chat_id(data.get("id"))
            self._done = True
            delta = data.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            self._usage = delta.get("usage")
            reason = delta.get("finish_reason")
            if reason == "ERROR":
                return [stream_error(delta.get("error"))]
            finish = FINISH.get(reason, "stop") if isinstance(reason, str) else "stop"
            out: list[dict[str, Any] | str] = [self._chunk({}, finish)]
            if self._include_usage:
                out.append(self._usage_chunk(chat_usage(self._usage)))
            out.append(DONE)
            return out
        return []

    def _tool(self, kind: str, data: dict[str, Any]) -> list[dict[str, Any] | str]:
        index = data.get("index")
        index = index if isinstance(index, int) else 0
        call = _message(data).get("tool_calls")
        call = call if isinstance(call, dict) else {}
        fn = call.get("function")
        fn = fn if isinstance(fn, dict) else {}
        arguments = fn.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        if kind == "tool-call-start":
            tool = self._tools[index] = len(self._tools)
            return [self._call_start(tool, call.get("id"), fn.get("name"), arguments)]
        at = self._tools.get(index)
        if at is None or not arguments:
            return []
        return [self._call_arguments(at, arguments)]

    def finish(self) -> list[dict[str, Any] | str]:
        if self._done or not self._id:
            return []
        self._done = True
        return [self._usage_chunk(chat_usage(self._usage))] if self._include_usage else []
