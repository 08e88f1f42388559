"""OpenAI chat.completion.chunk streams <-> Anthropic Messages stream events.

One translator object per stream; `feed` takes one upstream event and returns what to send, in
order. The rules are those of `translate` (ids, stop reasons, usage, thinking); what is
particular to streams:

Anthropic events -> OpenAI chunks (`MessagesStreamToChat`)
- message_start -> the first chunk, `delta: {"role": "assistant", "content": ""}`; its id, model
  and input usage are kept for every later chunk.
- text_delta -> `delta.content`. A tool_use block start -> a tool call with its id, name and
  empty arguments, at the next OpenAI tool index; input_json_delta -> `arguments` pieces at that
  index. thinking_delta -> `delta.reasoning_content` and the same text in
  `delta.thinking_blocks[k].thinking`; signature_delta -> `delta.thinking_blocks[k].signature`;
  a redacted_thinking block -> `delta.thinking_blocks[k]` whole. `k` counts thinking blocks, and
  the entries carry `index: k`, so the openai SDK's accumulator merges them into the same
  `thinking_blocks` list a whole answer carries (and `translate` reads back, signatures and all).
- message_delta -> a chunk with an empty delta and the finish reason; its usage is merged into
  what message_start said.
- message_stop -> the usage chunk (`choices: []`) if the client asked for it with
  `stream_options.include_usage`, then "[DONE]". `finish()`, for a stream that ended without
  message_stop: the usage chunk alone (the client sees what was read; no "[DONE]": the stream
  did not complete).
- error -> an OpenAI error object `{"error": {...}}`, the stream's last item (no "[DONE]": the
  stream did not complete). ping, content_block_stop, citations and server-tool blocks (which an
  OpenAI request cannot ask for) produce nothing.

OpenAI chunks -> Anthropic events (`ChatStreamToMessages`)
- the first chunk -> message_start (id `chatcmpl-X` -> `msg_X`, the model given to the
  constructor, zero usage: OpenAI reports usage at the end).
- `reasoning_content` (or `reasoning`) -> a thinking block (empty signature: there is none to
  give); `content` -> a text block; `refusal` -> a text block and stop reason "refusal"; each tool
  call index -> a tool_use block whose `arguments` pieces are input_json_delta. A block is
  opened when its kind changes and closed when the next one opens or the choice finishes.
  Argument pieces for a tool call whose block was already closed (an upstream interleaving
  parallel calls, which OpenAI itself does not do) are still sent at that block's index.
- finish_reason -> closes the open block; the usage chunk that follows is kept; "[DONE]" ->
  message_delta (stop reason, usage; zeros if the upstream sent none) and message_stop.
  Without a finish_reason, "[DONE]" means end_turn (tool_use if tools were called).
- an error object -> an `error` event, the stream's last.
- `finish()` closes a stream the upstream ended without "[DONE]": the same closing events, with
  a null stop reason if no finish_reason was seen either (the caller decides whether that was a
  broken stream); nothing if the stream is already closed.
"""

from __future__ import annotations

from typing import Any

import orjson

from palisade.providers.anthropic.translate import (
    FINISH_TO_STOP,
    STOP_TO_FINISH,
    chat_id,
    chat_stream_error,
    chat_usage,
    message_id,
    messages_stream_error,
    messages_usage,
)
from palisade.providers.chat_chunks import DONE, ChatChunks


class MessagesStreamToChat(ChatChunks):
    """Anthropic stream events -> OpenAI chat.completion.chunk objects."""

    __slots__ = ("_stopped", "_thinking_index", "_tool_index", "_usage")

    def __init__(self, *, include_usage: bool) -> None:
        super().__init__(include_usage=include_usage)
        self._usage: dict[str, Any] = {}
        # Anthropic content block index -> OpenAI tool call index / thinking_blocks index.
        self._tool_index: dict[int, int] = {}
        self._thinking_index: dict[int, int] = {}
        self._stopped = False

    def feed(self, event: str, data: dict[str, Any]) -> list[dict[str, Any] | str]:
        if self._done:
            return []
        if event == "content_block_delta":
            delta = data["delta"]
            kind = delta.get("type")
            if kind == "text_delta":
                return [self._chunk({"content": delta["text"]})]
            if kind == "input_json_delta":
                tool = self._tool_index.get(data["index"])
                if tool is None:
                    return []
                return [self._call_arguments(tool, delta["partial_json"])]
            if kind == "thinking_delta":
                text = delta["thinking"]
                k = self._thinking_index.get(data["index"], 0)
                return [
                    self._chunk(
                        {
                            "reasoning_content": text,
                            "thinking_blocks": [{"index": k, "type": "thinking", "thinking": text}],
                        }
                    )
                ]
            if kind == "signature_delta":
                k = self._thinking_index.get(data["index"], 0)
                block = {"index": k, "type": "thinking", "signature": delta["signature"]}
                return [self._chunk({"thinking_blocks": [block]})]
            return []
        if event == "content_block_start":
            return self._block_start(data["index"], data["content_block"])
        if event == "message_start":
            message = data.get("message") or {}
            self._id = chat_id(message.get("id"))
            self._model = message.get("model")
            self._usage = dict(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if event == "message_delta":
            usage = data.get("usage")
            if usage:
                for key, value in usage.items():
                    if value is not None:
                        self._usage[key] = value
            stop_reason = (data.get("delta") or {}).get("stop_reason")
            self._stopped = True
            return [self._chunk({}, STOP_TO_FINISH.get(stop_reason or "end_turn", "stop"))]
        if event == "message_stop":
            self._done = True
            return (
                [self._usage_chunk(chat_usage(self._usage)), DONE]
                if self._include_usage
                else [DONE]
            )
        if event == "error":
            self._done = True
            return [chat_stream_error(data)]
        return []

    @property
    def open(self) -> bool:
        """Started and not ended by `message_stop` (nor an error event)."""
        return bool(self._id) and not self._done

    def finish(self) -> list[dict[str, Any] | str]:
        """A stream that ended without `message_stop`: its usage chunk (when asked for), and
        "[DONE]" if its stop reason had come (the answer is whole; only the last event is
        missing)."""
        if self._done or not self._id:
            return []
        self._done = True
        out: list[dict[str, Any] | str] = []
        if self._include_usage:
            out.append(self._usage_chunk(chat_usage(self._usage)))
        if self._stopped:
            out.append(DONE)
        return out

    def _block_start(self, index: int, block: dict[str, Any]) -> list[dict[str, Any] | str]:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind == "tool_use":
            tool = len(self._tool_index)
            self._tool_index[index] = tool
            given = block.get("input")
            # The input streams as deltas from `{}`; a relay that sends it whole, here.
            arguments = orjson.dumps(given).decode() if given else ""
            return [self._call_start(tool, block.get("id"), block.get("name"), arguments)]
        if kind == "thinking":
            k = len(self._thinking_index)
            self._thinking_index[index] = k
            text = block.get("thinking")
            if not text:
                return []
            return [
                self._chunk(
                    {
                        "reasoning_content": text,
                        "thinking_blocks": [{"index": k, "type": "thinking", "thinking": text}],
                    }
                )
            ]
        if kind == "redacted_thinking":
            k = len(self._thinking_index)
            self._thinking_index[index] = k
            entry = {"index": k, "type": "redacted_thinking", "data": block.get("data", "")}
            return [self._chunk({"thinking_blocks": [entry]})]
        return []


class ChatStreamToMessages:
    """OpenAI chat.completion.chunk objects -> Anthropic stream events."""

    __slots__ = (
        "_closed",
        "_finish",
        "_id",
        "_model",
        "_next",
        "_open",
        "_open_kind",
        "_open_tool",
        "_refusal",
        "_started",
        "_tool_blocks",
        "_usage",
    )

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._id = ""
        self._started = False
        self._closed = False
        self._next = 0  # the index the next content block gets
        self._open: int | None = None  # the index of the open block
        self._open_kind: str | None = None  # "text", "thinking" or "tool"
        self._open_tool: int | None = None  # the OpenAI tool index of the open tool block
        self._tool_blocks: dict[int, int] = {}  # OpenAI tool index -> block index
        self._finish: str | None = None
        self._refusal = False
        self._usage: dict[str, Any] | None = None

    def feed(self, data: dict[str, Any] | str) -> list[tuple[str, dict[str, Any]]]:
        if isinstance(data, str):
            return self._close(done=True) if data.strip() == DONE else []
        if self._closed:
            return []
        if data.get("error"):
            self._closed = True
            return [("error", messages_stream_error(data))]
        out: list[tuple[str, dict[str, Any]]] = []
        if not self._started:
            out.append(self._start(data))
        choices = data.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning:
                    self._delta("thinking", "thinking_delta", "thinking", reasoning, out)
                content = delta.get("content")
                if content:
                    self._delta("text", "text_delta", "text", content, out)
                refusal = delta.get("refusal")
                if refusal:
                    self._refusal = True
                    self._delta("text", "text_delta", "text", refusal, out)
                calls = delta.get("tool_calls")
                if calls:
                    for call in calls:
                        self._tool(call, out)
            finish = choice.get("finish_reason")
            if finish:
                self._finish = finish
                self._close_block(out)
        usage = data.get("usage")
        if usage:
            self._usage = usage
        return out

    def finish(self) -> list[tuple[str, dict[str, Any]]]:
        return self._close(done=False)

    def _start(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._started = True
        usage = data.get("usage")
        return (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id(data.get("id")),
                    "type": "message",
                    "role": "assistant",
                    "model": self._model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": messages_usage(usage)
                    if usage
                    else {"input_tokens": 0, "output_tokens": 0},
                },
            },
        )

    def _delta(
        self,
        kind: str,
        delta_type: str,
        field: str,
        text: str,
        out: list[tuple[str, dict[str, Any]]],
    ) -> None:
        if self._open_kind != kind:
            self._close_block(out)
            index = self._open = self._next
            self._next += 1
            self._open_kind = kind
            block: dict[str, Any] = (
                {"type": "text", "text": ""}
                if kind == "text"
                else {"type": "thinking", "thinking": "", "signature": ""}
            )
            out.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block},
                )
            )
        out.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": self._open,
                    "delta": {"type": delta_type, field: text},
                },
            )
        )

    def _tool(self, call: dict[str, Any], out: list[tuple[str, dict[str, Any]]]) -> None:
        function = call.get("function") or {}
        tool = call.get("index")
        if tool is None:
            # Some servers omit the index: the name comes only with a call's first piece.
            if function.get("name"):
                tool = len(self._tool_blocks)
            else:
                tool = (
                    self._open_tool if self._open_tool is not None else len(self._tool_blocks) - 1
                )
        block = self._tool_blocks.get(tool)
        if block is None:
            self._close_block(out)
            block = self._open = self._next
            self._next += 1
            self._open_kind = "tool"
            self._open_tool = tool
            self._tool_blocks[tool] = block
            out.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": block,
                        "content_block": {
                            "type": "tool_use",
                            "id": call.get("id") or f"toolu_{tool}",
                            "name": function.get("name") or "",
                            "input": {},
                        },
                    },
                )
            )
        arguments = function.get("arguments")
        if arguments:
            out.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": block,
                        "delta": {"type": "input_json_delta", "partial_json": arguments},
                    },
                )
            )

    def _close_block(self, out: list[tuple[str, dict[str, Any]]]) -> None:
        if self._open is not None:
            out.append(("content_block_stop", {"type": "content_block_stop", "index": self._open}))
            self._open = None
            self._open_kind = None
            self._open_tool = None

    def _close(self, *, done: bool) -> list[tuple[str, dict[str, Any]]]:
        if self._closed:
            return []
        self._closed = True
        out: list[tuple[str, dict[str, Any]]] = []
        if not self._started:
            out.append(self._start({}))
        self._close_block(out)
        stop_reason: str | None
        if self._refusal:
            stop_reason = "refusal"
        elif self._finish is not None:
            stop_reason = FINISH_TO_STOP.get(self._finish, "end_turn")
        elif done:
            stop_reason = "tool_use" if self._tool_blocks else "end_turn"
        else:
            stop_reason = None
        usage = messages_usage(self._usage) if self._usage else {"output_tokens": 0}
        out.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": usage,
                },
            )
        )
        out.append(("message_stop", {"type": "message_stop"}))
        return out
