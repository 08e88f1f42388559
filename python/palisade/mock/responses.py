"""`POST /v1/responses` (the Responses API), non-stream and stream (typed SSE events)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response

from palisade.mock import params
from palisade.mock.content import (
    MESSAGE_OVERHEAD,
    answer_text,
    content_text,
    count_tokens,
    seed,
    split_chunks,
)
from palisade.mock.errors import InvalidRequest
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs
from palisade.mock.sse import EventStream, named_event, pause
from palisade.mock.tools import planned_calls
from palisade.mock.usage import responses_usage


def _input(body: dict[str, Any]) -> tuple[str, int]:
    """The prompt text of `instructions` + `input` (a string or a list of items), and tokens."""
    value = body.get("input", "")
    items: list[Any]
    if isinstance(value, str):
        items = [{"content": value}]
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidRequest(
            "Invalid type for 'input': expected a string or an array of items.",
            "input",
            "invalid_type",
        )
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        items = [{"content": instructions}, *items]
    texts: list[str] = []
    for item in items:
        if isinstance(item, dict):
            parts = (content_text(item.get(k)) for k in ("content", "output", "arguments"))
            texts.append("\n".join(p for p in parts if p))
    text = "\n".join(texts)
    return text, count_tokens(text) + MESSAGE_OVERHEAD * len(texts)


def _tools(body: dict[str, Any]) -> list[Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    echoed: list[Any] = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            echoed.append(
                {
                    "type": "function",
                    "name": tool.get("name"),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict", True),
                }
            )
        else:
            echoed.append(tool)
    return echoed


def _tool_choice(body: dict[str, Any]) -> Any:
    choice = body.get("tool_choice", "auto")
    return choice if choice in ("auto", "none", "required") or isinstance(choice, dict) else "auto"


class _Plan:
    """Everything one answer needs, shared by the non-stream and the stream forms."""

    def __init__(self, body: dict[str, Any], knobs: Knobs) -> None:
        self.body = body
        self.model = params.model(body)
        prompt, self.input_tokens = _input(body)
        limit = params.optional_int(body, "max_output_tokens", 1, 1 << 31)
        self.id = new_id("resp_")
        self.created_at = int(time.time())
        self.text: str | None = None
        self.calls: list[dict[str, Any]] = []
        self.incomplete = False
        key = seed(self.model, prompt)
        calls = planned_calls(body, knobs)
        if calls:
            for i, call in enumerate(calls):
                digest = seed(key.hex(), str(i)).hex()[:24]
                self.calls.append(
                    {
                        "id": f"fc_{digest}",
                        "type": "function_call",
                        "status": "completed",
                        "arguments": call.arguments,
                        "call_id": f"call_{digest}",
                        "name": call.name,
                    }
                )
            self.output_tokens = sum(
                count_tokens(c["name"]) + count_tokens(c["arguments"]) for c in self.calls
            )
        else:
            self.text, finish = answer_text(key, knobs.reply, limit, None)
            self.incomplete = finish == "length"
            self.output_tokens = count_tokens(self.text)
        self.message_id = new_id("msg_")

    @property
    def status(self) -> str:
        return "incomplete" if self.incomplete else "completed"

    def message(self, text: str, status: str) -> dict[str, Any]:
        content = [] if status == "in_progress" else [_text_part(text)]
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }

    def output(self) -> list[dict[str, Any]]:
        if self.text is None:
            return self.calls
        return [self.message(self.text, self.status)]

    def response(self, final: bool) -> dict[str, Any]:
        body = self.body
        instructions = body.get("instructions")
        metadata = body.get("metadata")
        status = self.status if final else "in_progress"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if final and self.incomplete
            else None,
            "instructions": instructions if isinstance(instructions, str) else None,
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": self.model,
            "output": self.output() if final else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": _tool_choice(body),
            "tools": _tools(body),
            "top_logprobs": 0,
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": responses_usage(self.input_tokens, self.output_tokens) if final else None,
            "user": None,
            "metadata": metadata if isinstance(metadata, dict) else {},
        }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


async def responses(body: dict[str, Any], knobs: Knobs) -> Response:
    plan = _Plan(body, knobs)
    if params.stream(body):
        return EventStream(_events(plan, knobs), abort_after=knobs.abort_after)
    await pause(knobs.latency_ms)
    return params.json_response(plan.response(final=True))


async def _events(plan: _Plan, knobs: Knobs) -> AsyncIterator[bytes]:
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        payload = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return named_event(kind, payload)

    await pause(knobs.latency_ms + knobs.ttft_ms)
    yield event("response.created", response=plan.response(final=False))
    yield event("response.in_progress", response=plan.response(final=False))
    if plan.text is not None:
        item_id = plan.message_id
        at = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event(
            "response.output_item.added", output_index=0, item=plan.message("", "in_progress")
        )
        yield event("response.content_part.added", **at, part=_text_part(""))
        for step, piece in enumerate(split_chunks(plan.text, knobs.chunks)):
            if step:
                await pause(knobs.chunk_interval_ms)
            if piece:
                yield event("response.output_text.delta", **at, delta=piece, logprobs=[])
        yield event("response.output_text.done", **at, text=plan.text, logprobs=[])
        yield event("response.content_part.done", **at, part=_text_part(plan.text))
        yield event(
            "response.output_item.done", output_index=0, item=plan.message(plan.text, plan.status)
        )
    for index, call in enumerate(plan.calls):
        at = {"item_id": call["id"], "output_index": index}
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**call, "status": "in_progress", "arguments": ""},
        )
        for step, piece in enumerate(split_chunks(call["arguments"], knobs.chunks)):
            if step:
                await pause(knobs.chunk_interval_ms)
            if piece:
                yield event("response.function_call_arguments.delta", **at, delta=piece)
        yield event("response.function_call_arguments.done", **at, arguments=call["arguments"])
        yield event("response.output_item.done", output_index=index, item=call)
    final = "response.incomplete" if plan.incomplete else "response.completed"
    yield event(final, response=plan.response(final=True))
