"""Gemini stream chunks -> OpenAI chat.completion.chunk objects.

One translator per stream; `feed` takes one Gemini chunk and returns what to send, in order. The
rules are `translate`'s (ids, finish reasons, usage); what is particular to streams:

- the first chunk -> a chunk with `delta: {"role": "assistant", "content": ""}` per candidate;
  its `responseId` and `modelVersion` name every later chunk.
- text parts -> `delta.content`; `thought` parts -> `delta.reasoning_content`; a `functionCall`
  part (Gemini sends each whole) -> one tool call delta with its id, name and whole arguments,
  at the candidate's next tool index.
- a candidate's `finishReason` -> a chunk with an empty delta and the finish reason
  (`tool_calls` when the candidate called a function).
- `usageMetadata` (each chunk carries the total so far) is kept; Gemini has no end marker: the
  stream's end (`finish`) sends the usage chunk (`choices: []`) if the client asked for it with
  `stream_options.include_usage`, then "[DONE]" when every candidate had finished; a stream that
  stopped before (it broke off) gets the usage chunk alone, and the caller adds the error.
- an error object -> an OpenAI error object, the stream's last item (no "[DONE]").
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.chat_chunks import DONE, ChatChunks
from palisade.providers.gemini.shape import field
from palisade.providers.gemini.translate import (
    call_id,
    chat_id,
    chat_usage,
    finish_reason,
    stream_error_to_chat,
)


class GeminiStreamToChat(ChatChunks):
    __slots__ = ("_called", "_finished", "_named", "_started", "_tools", "_usage")

    def __init__(self, *, include_usage: bool, model: Any = None) -> None:
        # `model`: the requested one, named until a chunk gives its `modelVersion` (a stream
        # refused at once has none; chunks without a model break strict clients).
        super().__init__(include_usage=include_usage, model=model)
        self._named = False
        self._usage: dict[str, Any] | None = None
        self._started: set[int] = set()
        self._finished: set[int] = set()
        self._tools: dict[int, int] = {}  # candidate -> tool calls so far
        self._called: set[int] = set()

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        if isinstance(data.get("error"), dict):
            self._done = True
            return [stream_error_to_chat(data)]
        if not self._id:
            self._id = chat_id(data.get("responseId"))
        if not self._named and isinstance(data.get("modelVersion"), str):
            self._model = data["modelVersion"]
            self._named = True
        meta = data.get("usageMetadata")
        if isinstance(meta, dict):
            self._usage = meta
        out: list[dict[str, Any] | str] = []
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = data.get("promptFeedback")
            if (
                isinstance(feedback, dict)
                and feedback.get("blockReason")
                and 0 not in self._started
            ):
                self._started.add(0)
                self._finished.add(0)
                out.append(self._chunk({"role": "assistant", "content": ""}))
                out.append(self._chunk({}, "content_filter"))
            return out
        for position, candidate in enumerate(candidates):
            if not isinstance(candidate, dict):
                continue
            index = candidate.get("index")
            index = index if isinstance(index, int) else position
            if index not in self._started:
                self._started.add(index)
                out.append(self._chunk({"role": "assistant", "content": ""}, index=index))
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if not isinstance(part, dict):
                    continue
                text = part.get("text")
                call = field(part, "functionCall")
                if isinstance(text, str):
                    if text:
                        key = "reasoning_content" if part.get("thought") is True else "content"
                        out.append(self._chunk({key: text}, index=index))
                elif isinstance(call, dict):
                    tool = self._tools.get(index, 0)
                    self._tools[index] = tool + 1
                    self._called.add(index)
                    arguments = orjson.dumps(call.get("args") or {}).decode()
                    name = call.get("name")
                    out.append(self._call_start(tool, call_id(call), name, arguments, index))
            reason = finish_reason(candidate.get("finishReason"), index in self._called)
            if reason is not None and index not in self._finished:
                self._finished.add(index)
                out.append(self._chunk({}, reason, index))
        return out

    def finish(self) -> list[dict[str, Any] | str]:
        """The stream ended: the usage chunk (when asked for), and "[DONE]" if every candidate
        it began had finished (else it broke off: no "[DONE]")."""
        if self._done:
            return []
        self._done = True
        out: list[dict[str, Any] | str] = []
        if self._include_usage and self._usage is not None:
            out.append(self._usage_chunk(chat_usage(self._usage)))
        if self._started and self._started <= self._finished:
            out.append(DONE)
        return out
