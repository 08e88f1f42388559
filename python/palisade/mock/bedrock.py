"""Bedrock's Converse API (`POST /model/{modelId}/converse` and `.../converse-stream`), as AWS
answers it: every request must carry a SigV4 signature by the mock's test credentials
(`bedrock_signature`), errors are `{"message"}` with `x-amzn-errortype`, and streams are AWS
binary event streams (`messageStart`, `contentBlockStart` of a tool use, `contentBlockDelta`s,
`contentBlockStop`, `messageStop`, `metadata` with the usage), framed by the Rust extension.

`invoke` and `invoke-with-response-stream` answer Anthropic's Messages body (with
`anthropic_version: bedrock-2023-05-31`, no `model`) as the Anthropic side does, the stream's
events wrapped in `chunk` events (base64 of each event's JSON).

Knobs: the body's `mock` field, `additionalModelRequestFields.mock` (the field boto3 lets
through unchecked), or the `x-mock-knobs` header. As elsewhere, tools are used only when told to
(`toolChoice` `any` or `tool`, or the `mock.tool_calls` knob), and not in a turn that returns
tool results, so that a client's tool loop ends. `fail`: 429 (ThrottlingException), 500
(InternalServerException), 503 (ServiceUnavailableException), drop, hang, and, in a stream,
`stream_error` (a `modelStreamErrorException` after `fail_after_chunks` events).
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from palisade._core import frame_event, frame_exception
from palisade.mock import anthropic, anthropic_stream, bedrock_signature
from palisade.mock.content import count_tokens, reply_for, seed, split_chunks, truncate_tokens
from palisade.mock.errors import InvalidRequest
from palisade.mock.failures import DroppedResponse, HangingResponse
from palisade.mock.knobs import FAILURES, Knobs
from palisade.mock.recorder import Recorder
from palisade.mock.scenarios import (
    Scenario,
    StatusBody,
    answer_status,
    scenario_of,
    with_failure,
)
from palisade.mock.settings import MockSettings
from palisade.mock.sse import EventStream, pause
from palisade.mock.tools import arguments_for

BEDROCK_FAILURES = FAILURES | {"stream_error"}
EVENT_STREAM = "application/vnd.amazon.eventstream"
KNOBS_HEADER = "x-mock-knobs"
ANTHROPIC_VERSION = "bedrock-2023-05-31"


def error_response(status: int, code: str, message: str, request_id: str) -> Response:
    return Response(
        orjson.dumps({"message": message}),
        status_code=status,
        media_type="application/json",
        headers={"x-amzn-errortype": code, "x-amzn-requestid": request_id},
    )


class Bedrock:
    def __init__(self, settings: MockSettings, defaults: Knobs, recorder: Recorder) -> None:
        self.keys = {settings.aws_access_key_id: settings.aws_secret_access_key}
        self.defaults = defaults
        self.recorder = recorder

    async def converse(self, request: Request) -> Response:
        return await self._answer(request, stream=False)

    async def converse_stream(self, request: Request) -> Response:
        return await self._answer(request, stream=True)

    async def invoke(self, request: Request) -> Response:
        return await self._answer(request, stream=False, invoke=True)

    async def invoke_stream(self, request: Request) -> Response:
        return await self._answer(request, stream=True, invoke=True)

    async def _answer(self, request: Request, *, stream: bool, invoke: bool = False) -> Response:
        request_id = os.urandom(16).hex()
        body, raw = await self.recorder.received(request)
        refused = bedrock_signature.check(
            request.method,
            request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
            or request.url.path,
            request.scope["query_string"].decode("latin-1"),
            request.headers,
            raw,
            self.keys,
        )
        if refused is not None:
            return error_response(403, refused[0], refused[1], request_id)
        if not isinstance(body, dict):
            return error_response(
                400, "ValidationException", "Malformed input request.", request_id
            )
        model = request.path_params["model"]
        try:
            scenario = scenario_of(request.scope)
            knobs = self._knobs(body, request.headers, scenario)
            if scenario is not None:
                injected = scenario.inject(BEDROCK_FAILURES)
                if isinstance(injected, StatusBody):
                    return await answer_status(injected, knobs)
                if injected is not None:
                    knobs = with_failure(knobs, injected)
            if knobs.fail is not None and not (stream and knobs.fail in ("drop", "stream_error")):
                return await _failure(knobs, request_id)
            if invoke:
                return await _invoke(body, knobs, model, stream, request_id)
            answer = plan(body, knobs, model)
        except InvalidRequest as error:
            return error_response(400, "ValidationException", error.message, request_id)
        if stream:
            events = _events(answer, knobs)
            headers = {"content-type": EVENT_STREAM, "x-amzn-requestid": request_id}
            return EventStream(events, abort_after=knobs.abort_after, headers=headers)
        await pause(knobs.latency_ms)
        response = Response(orjson.dumps(answer.whole()), media_type="application/json")
        response.headers["x-amzn-requestid"] = request_id
        return response

    def _knobs(
        self, body: dict[str, Any], headers: Mapping[str, str], scenario: Scenario | None
    ) -> Knobs:
        raw = body.get("mock")
        extra = body.get("additionalModelRequestFields")
        if raw is None and isinstance(extra, dict):
            raw = extra.get("mock")
        header = headers.get(KNOBS_HEADER)
        if raw is None and header is not None:
            try:
                raw = orjson.loads(header)
            except orjson.JSONDecodeError:
                raise InvalidRequest(f"{KNOBS_HEADER} is not JSON") from None
        base = self.defaults if scenario is None else scenario.knobs
        return base if raw is None else base.override(raw, BEDROCK_FAILURES)


async def _invoke(
    body: dict[str, Any], knobs: Knobs, model: str, stream: bool, request_id: str
) -> Response:
    """Anthropic's Messages on Bedrock: the body without `model`, with Bedrock's version."""
    if "model" in body:
        raise InvalidRequest("extraneous key [model] is not permitted")
    if body.get("anthropic_version") != ANTHROPIC_VERSION:
        raise InvalidRequest(f"anthropic_version: must be {ANTHROPIC_VERSION}")
    request = {k: v for k, v in body.items() if k not in ("anthropic_version", "mock")}
    answer = anthropic.plan({**request, "model": model}, knobs)
    if not stream:
        await pause(knobs.latency_ms)
        response = Response(orjson.dumps(answer.message()), media_type="application/json")
        response.headers["x-amzn-requestid"] = request_id
        return response
    headers = {"content-type": EVENT_STREAM, "x-amzn-requestid": request_id}
    events = _chunks(anthropic_stream.events(answer, knobs), answer, knobs)
    return EventStream(events, abort_after=knobs.abort_after, headers=headers)


async def _chunks(
    sse: AsyncGenerator[bytes, None], answer: Any, knobs: Knobs
) -> AsyncGenerator[bytes, None]:
    """Anthropic's SSE events as Bedrock sends them: each one's JSON, base64, in a `chunk`;
    no pings; Bedrock's invocation metrics in `message_stop`."""
    sent = 0
    breaks = knobs.fail_after_chunks if knobs.fail == "stream_error" else None
    try:
        async for item in sse:
            data = orjson.loads(item.split(b"\ndata: ", 1)[1])
            if data.get("type") == "ping":
                continue
            if breaks is not None and sent >= breaks:
                message = orjson.dumps({"message": "The model stream failed (mock)."})
                yield frame_exception("modelStreamErrorException", message)
                return
            if data.get("type") == "message_stop":
                data["amazon-bedrock-invocationMetrics"] = {
                    "inputTokenCount": answer.input_tokens,
                    "outputTokenCount": answer.output_tokens,
                    "invocationLatency": 1,
                    "firstByteLatency": 1,
                }
            wrapped = {"bytes": base64.b64encode(orjson.dumps(data)).decode()}
            yield frame_event("chunk", orjson.dumps(wrapped))
            sent += 1
    finally:
        await sse.aclose()


async def _failure(knobs: Knobs, request_id: str) -> Response:
    if knobs.fail == "hang":
        return HangingResponse(
            error_response(408, "ModelTimeoutException", "Model has timed out.", request_id)
        )
    await pause(knobs.latency_ms)
    if knobs.fail == "429":
        return error_response(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
            request_id,
        )
    if knobs.fail == "500":
        return error_response(
            500,
            "InternalServerException",
            "The server encountered an internal error.",
            request_id,
        )
    if knobs.fail == "503":
        return error_response(
            503, "ServiceUnavailableException", "The service is unavailable (mock).", request_id
        )
    if knobs.fail == "context_length":
        return error_response(
            400, "ValidationException", "Input is too long for requested model.", request_id
        )
    return DroppedResponse()


class Answer:
    def __init__(
        self, content: list[dict[str, Any]], stop: str, input_tokens: int, output_tokens: int
    ) -> None:
        self.content = content
        self.stop = stop
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    def usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 0,
        }

    def whole(self) -> dict[str, Any]:
        return {
            "output": {"message": {"role": "assistant", "content": self.content}},
            "stopReason": self.stop,
            "usage": self.usage(),
            "metrics": {"latencyMs": 1},
        }


def _texts(blocks: Any, out: list[str]) -> None:
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            out.append(block["text"])
        elif isinstance(block.get("toolResult"), dict):
            _texts(block["toolResult"].get("content"), out)
        elif isinstance(block.get("toolUse"), dict):
            out.append(orjson.dumps(block["toolUse"].get("input")).decode())


def plan(body: dict[str, Any], knobs: Knobs, model: str) -> Answer:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("The messages field is required and must not be empty.")
    texts: list[str] = []
    _texts(body.get("system"), texts)
    rounds = 0
    answers_tool = False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest("A message must have the role user or assistant.")
        content = message.get("content")
        _texts(content, texts)
        blocks = content if isinstance(content, list) else []
        uses = any(isinstance(b, dict) and "toolUse" in b for b in blocks)
        rounds += message["role"] == "assistant" and uses
        answers_tool = any(isinstance(b, dict) and "toolResult" in b for b in blocks)
    prompt = "\n".join(texts)
    key = seed(model, prompt)
    config = body.get("inferenceConfig")
    limit = config.get("maxTokens") if isinstance(config, dict) else None
    limit = limit if isinstance(limit, int) and limit > 0 else 4096
    calls = _tool_calls(body, knobs, rounds, answers_tool)
    input_tokens = count_tokens(prompt)
    if calls:
        content = []
        spent = 0
        for index, (name, arguments) in enumerate(calls):
            tool_id = f"tooluse_{seed(key.hex(), str(index)).hex()[:22]}"
            content.append({"toolUse": {"toolUseId": tool_id, "name": name, "input": arguments}})
            spent += count_tokens(name) + count_tokens(orjson.dumps(arguments).decode())
        return Answer(content, "tool_use", input_tokens, spent)
    text = knobs.reply if knobs.reply is not None else reply_for(key)
    stop = "end_turn"
    if count_tokens(text) > limit:
        text, stop = truncate_tokens(text, limit), "max_tokens"
    return Answer([{"text": text}], stop, input_tokens, count_tokens(text))


def _tool_calls(
    body: dict[str, Any], knobs: Knobs, rounds: int, answers_tool: bool
) -> list[tuple[str, dict[str, Any]]]:
    forced = knobs.forced_calls(rounds)
    if forced is not None:
        out = []
        for call in forced:
            try:
                value = orjson.loads(call.arguments)
            except orjson.JSONDecodeError:
                value = None
            if not isinstance(value, dict):
                raise InvalidRequest("mock.tool_calls[].arguments must be a JSON object here")
            out.append((call.name, value))
        return out
    config = body.get("toolConfig")
    if answers_tool or not isinstance(config, dict):
        return []
    specs = [
        t["toolSpec"]
        for t in config.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("toolSpec"), dict)
    ]
    choice = config.get("toolChoice")
    if not specs or not isinstance(choice, dict) or not ({"any", "tool"} & choice.keys()):
        return []
    name = (choice.get("tool") or {}).get("name")
    spec = next((s for s in specs if s.get("name") == name), specs[0])
    schema = (spec.get("inputSchema") or {}).get("json")
    arguments = arguments_for(schema, spec["name"])
    return [(spec["name"], arguments if isinstance(arguments, dict) else {})]


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return frame_event(name, orjson.dumps(payload))


async def _events(answer: Answer, knobs: Knobs) -> AsyncGenerator[bytes, None]:
    await pause(knobs.latency_ms + knobs.ttft_ms)
    sent = 0
    breaks = knobs.fail_after_chunks if knobs.fail == "stream_error" else None

    def broken() -> bool:
        return breaks is not None and sent >= breaks

    yield _event("messageStart", {"role": "assistant"})
    sent += 1
    paced = False
    deltas: list[dict[str, Any]]
    for index, block in enumerate(answer.content):
        use = block.get("toolUse")
        if use is not None:
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            yield _event("contentBlockStart", {"start": start, "contentBlockIndex": index})
            sent += 1
            pieces = split_chunks(orjson.dumps(use["input"]).decode(), knobs.chunks)
            deltas = [{"toolUse": {"input": piece}} for piece in pieces if piece]
        else:
            text = block["text"]
            pieces = (
                knobs.reply_chunks
                if knobs.reply_chunks and text == knobs.reply
                else split_chunks(text, knobs.chunks)
            )
            deltas = [{"text": piece} for piece in pieces if piece]
        for delta in deltas:
            if broken():
                yield frame_exception(
                    "modelStreamErrorException",
                    orjson.dumps({"message": "The model stream failed (mock)."}),
                )
                return
            if paced:
                await pause(knobs.chunk_interval_ms)
            paced = True
            yield _event("contentBlockDelta", {"delta": delta, "contentBlockIndex": index})
            sent += 1
        yield _event("contentBlockStop", {"contentBlockIndex": index})
        sent += 1
    yield _event("messageStop", {"stopReason": answer.stop})
    yield _event("metadata", {"usage": answer.usage(), "metrics": {"latencyMs": 1}})
