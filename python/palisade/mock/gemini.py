"""Gemini's `generateContent`, `streamGenerateContent?alt=sse` and `countTokens`, and the model
listing (Google's Generative Language API; Vertex AI serves the same bodies at its own paths).

An answer is planned once from the request and written whole or streamed: a thought part when
the request asks for thoughts (`thinkingConfig.includeThoughts`), then `functionCall` parts or
one text part. As on the other sides, functions are called only when told to
(`toolConfig.functionCallingConfig.mode` ANY, or the `mock.tool_calls` knob, for
`mock.tool_rounds` turns), and a turn that returns function responses is answered with text.
A stream sends the text in `mock.chunks` pieces (or `mock.reply_chunks`), each chunk a whole
`GenerateContentResponse` with the usage so far; the last carries `finishReason`.
A request that names `cachedContent` reads half its prompt from the "cache".
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock.content import count_tokens, reply_for, seed, split_chunks, truncate_tokens
from palisade.mock.errors import InvalidRequest
from palisade.mock.gemini_errors import BLOCKED, INTERNAL, error_event
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs
from palisade.mock.params import json_response
from palisade.mock.sse import EventStream, breaking_off, pause
from palisade.mock.tools import arguments_for

MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")


@dataclass(frozen=True, slots=True)
class _Prompt:
    text: str
    tokens: int
    answers_tool: bool
    tool_rounds: int


@dataclass(frozen=True, slots=True)
class Plan:
    model: str
    thought: str | None
    calls: tuple[tuple[str, dict[str, Any]], ...]
    text: str | None
    finish: str
    usage: dict[str, Any]


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _prompt(body: dict[str, Any]) -> _Prompt:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest("* GenerateContentRequest.contents: contents is not specified")
    texts: list[str] = []
    system = _get(body, "systemInstruction", "system_instruction")
    if isinstance(system, dict):
        texts.extend(_part_texts(system.get("parts"), "systemInstruction"))
    rounds = 0
    answers_tool = False
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise InvalidRequest(f"* GenerateContentRequest.contents[{i}]: must be an object")
        role = content.get("role", "user")
        if role not in ("user", "model", "function"):
            raise InvalidRequest(
                f"* GenerateContentRequest.contents[{i}].role: Please use a valid role: "
                "user, model."
            )
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise InvalidRequest(
                f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            )
        texts.extend(_part_texts(parts, f"contents[{i}]"))
        calls = any(isinstance(p, dict) and _get(p, "functionCall", "function_call") for p in parts)
        rounds += role == "model" and calls
        answers_tool = role != "model" and any(
            isinstance(p, dict) and _get(p, "functionResponse", "function_response") for p in parts
        )
    text = "\n".join(texts)
    tools = body.get("tools")
    extra = count_tokens(orjson.dumps(tools).decode()) if tools else 0
    return _Prompt(text, count_tokens(text) + extra + 3, answers_tool, rounds)


def _part_texts(parts: Any, where: str) -> list[str]:
    out: list[str] = []
    for j, part in enumerate(parts if isinstance(parts, list) else ()):
        if not isinstance(part, dict):
            raise InvalidRequest(f"* GenerateContentRequest.{where}.parts[{j}]: must be an object")
        if isinstance(part.get("text"), str):
            out.append(part["text"])
            continue
        call = _get(part, "functionCall", "function_call")
        response = _get(part, "functionResponse", "function_response")
        if isinstance(call, dict):
            if not isinstance(call.get("name"), str) or not call["name"]:
                raise InvalidRequest(
                    f"* GenerateContentRequest.{where}.parts[{j}].function_call.name: "
                    "Name cannot be empty."
                )
            out.append(f"{call['name']}({orjson.dumps(call.get('args') or {}).decode()})")
        elif isinstance(response, dict):
            if not isinstance(response.get("name"), str) or not response["name"]:
                raise InvalidRequest(
                    f"* GenerateContentRequest.{where}.parts[{j}].function_response.name: "
                    "Name cannot be empty."
                )
            out.append(orjson.dumps(response.get("response") or {}).decode())
        elif not any(k in part for k in ("inlineData", "inline_data", "fileData", "file_data")):
            raise InvalidRequest(
                f"* GenerateContentRequest.{where}.parts[{j}].data: required oneof field "
                "'data' must have one initialized field"
            )
    return out


def _declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        found = (
            _get(tool, "functionDeclarations", "function_declarations")
            if isinstance(tool, dict)
            else None
        )
        for declaration in found if isinstance(found, list) else ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                out.append(declaration)
    return out


def _forced(body: dict[str, Any], declared: list[dict[str, Any]]) -> dict[str, Any] | None:
    config = _get(body, "toolConfig", "tool_config")
    calling = (
        _get(config, "functionCallingConfig", "function_calling_config")
        if isinstance(config, dict)
        else None
    )
    if not isinstance(calling, dict) or calling.get("mode") != "ANY" or not declared:
        return None
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names")
    if isinstance(allowed, list) and allowed:
        return next((d for d in declared if d["name"] == allowed[0]), {"name": allowed[0]})
    return declared[0]


def plan(body: dict[str, Any], knobs: Knobs, model: str) -> Plan:
    prompt = _prompt(body)
    config = _get(body, "generationConfig", "generation_config")
    config = config if isinstance(config, dict) else {}
    limit = _get(config, "maxOutputTokens", "max_output_tokens")
    limit = limit if isinstance(limit, int) and limit > 0 else 8192
    thinking = _get(config, "thinkingConfig", "thinking_config")
    thinking = thinking if isinstance(thinking, dict) else {}
    budget = _get(thinking, "thinkingBudget", "thinking_budget")
    key = seed(model, prompt.text)
    thought = None
    thoughts_tokens = 0
    if isinstance(budget, int) and budget > 0:
        thought = reply_for(seed(key.hex(), "thinking"))
        thoughts_tokens = count_tokens(thought)
        if not _get(thinking, "includeThoughts", "include_thoughts"):
            thought = None
    calls: list[tuple[str, dict[str, Any]]] = []
    forced = knobs.forced_calls(prompt.tool_rounds)
    if forced is not None:
        for call in forced:
            args = orjson.loads(call.arguments)
            if not isinstance(args, dict):
                raise InvalidRequest("mock.tool_calls[].arguments must be a JSON object here")
            calls.append((call.name, args))
    elif not prompt.answers_tool:
        declared = _declarations(body)
        chosen = _forced(body, declared)
        if chosen is not None:
            schema = _get(chosen, "parametersJsonSchema", "parameters_json_schema")
            if schema is None:
                schema = chosen.get("parameters")
            args = arguments_for(schema, chosen["name"])
            calls.append((chosen["name"], args if isinstance(args, dict) else {}))
    text = None
    finish = "STOP"
    spent = 0
    if calls:
        spent = sum(count_tokens(n) + count_tokens(orjson.dumps(a).decode()) for n, a in calls)
    else:
        text = knobs.reply if knobs.reply is not None else reply_for(key)
        stops = _get(config, "stopSequences", "stop_sequences")
        for stop in stops if isinstance(stops, list) else ():
            if isinstance(stop, str) and stop and stop in text:
                text = text[: text.index(stop)]
        if count_tokens(text) > limit:
            text, finish = truncate_tokens(text, limit), "MAX_TOKENS"
        spent = count_tokens(text)
    cached = prompt.tokens // 2 if _get(body, "cachedContent", "cached_content") else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt.tokens,
        "candidatesTokenCount": spent,
        "totalTokenCount": prompt.tokens + spent + thoughts_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt.tokens}],
    }
    if thoughts_tokens:
        usage["thoughtsTokenCount"] = thoughts_tokens
    if cached:
        usage["cachedContentTokenCount"] = cached
    return Plan(model, thought, tuple(calls), text, finish, usage)


def _parts(answer: Plan, text: str | None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if answer.thought is not None:
        parts.append({"text": answer.thought, "thought": True})
    for name, args in answer.calls:
        parts.append({"functionCall": {"name": name, "args": args}})
    if text is not None:
        parts.append({"text": text})
    return parts


def _response(
    answer: Plan, parts: list[dict[str, Any]], finish: str | None, usage: dict[str, Any], rid: str
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": answer.model,
        "responseId": rid,
    }


def generate(model: str, *, streams: bool) -> Any:
    """The handler of `models/{model}:generateContent` (or its stream)."""

    async def handler(body: dict[str, Any], knobs: Knobs) -> Response:
        answer = plan(body, knobs, model)
        rid = new_id("")[:22]
        if streams and knobs.fail == "content_filter":
            return EventStream(_one(_frame(BLOCKED)))
        if streams:
            events = _events(answer, knobs, rid)
            if knobs.fail == "stream_error":
                return EventStream(
                    breaking_off(events, knobs.fail_after_chunks, error_event(500, INTERNAL))
                )
            return EventStream(events, abort_after=knobs.abort_after)
        await pause(knobs.latency_ms)
        return json_response(
            _response(answer, _parts(answer, answer.text), answer.finish, answer.usage, rid)
        )

    return handler


async def _events(answer: Plan, knobs: Knobs, rid: str) -> AsyncGenerator[bytes, None]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    so_far = {
        "promptTokenCount": answer.usage["promptTokenCount"],
        "totalTokenCount": answer.usage["promptTokenCount"],
    }
    if answer.text is None:
        yield _frame(_response(answer, _parts(answer, None), answer.finish, answer.usage, rid))
        return
    pieces = (
        knobs.reply_chunks
        if knobs.reply_chunks and answer.text == knobs.reply
        else split_chunks(answer.text, knobs.chunks)
    )
    pieces = tuple(p for p in pieces if p) or ("",)
    for i, piece in enumerate(pieces):
        if i:
            await pause(knobs.chunk_interval_ms)
        last = i == len(pieces) - 1
        parts: list[dict[str, Any]] = [{"text": piece}]
        if i == 0 and answer.thought is not None:
            parts.insert(0, {"text": answer.thought, "thought": True})
        yield _frame(
            _response(
                answer,
                parts,
                answer.finish if last else None,
                answer.usage if last else so_far,
                rid,
            )
        )


async def _one(event: bytes) -> AsyncGenerator[bytes, None]:
    yield event


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\r\n\r\n"


def count(model: str) -> Any:
    async def handler(body: dict[str, Any], knobs: Knobs) -> Response:
        inner = _get(body, "generateContentRequest", "generate_content_request")
        request = inner if isinstance(inner, dict) else body
        prompt = _prompt(request)
        await pause(knobs.latency_ms)
        return json_response(
            {
                "totalTokens": prompt.tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt.tokens}],
            }
        )

    return handler


def list_models() -> Response:
    return json_response(
        {
            "models": [
                {
                    "name": f"models/{name}",
                    "version": "001",
                    "displayName": name,
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for name in MODELS
            ]
        }
    )


def vertex_anthropic(model: str, inner: Any, count: Any) -> Any:
    """Anthropic-on-Vertex (`publishers/anthropic/models/{model}:rawPredict`): the Messages API
    with the model in the path and `anthropic_version` in the body instead; token counts at
    `count-tokens:rawPredict`, the model in the body."""

    async def handler(body: dict[str, Any], knobs: Knobs) -> Response:
        if body.get("anthropic_version") != "vertex-2023-10-16":
            raise InvalidRequest("anthropic_version: vertex-2023-10-16 is required")
        # A copy: the recorder keeps the body as it came.
        messages = {k: v for k, v in body.items() if k != "anthropic_version"}
        if model == "count-tokens":
            counted: Response = await count(messages, knobs)
            return counted
        if "model" in body:
            raise InvalidRequest("model: Extra inputs are not permitted")
        response: Response = await inner({**messages, "model": model}, knobs)
        return response

    return handler
