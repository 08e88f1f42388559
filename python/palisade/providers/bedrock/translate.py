"""OpenAI Chat Completions -> Bedrock Converse requests; Converse answers and errors -> OpenAI.

Pure functions on parsed JSON; outputs may share sub-objects with their inputs (a tool's JSON
schema), which nothing here mutates. A request field with no equivalent is mapped by a rule
below or named in `notes`, never dropped without a trace.

Requests
- `system`/`developer` messages -> `system` text blocks, in order (one after the first user or
  assistant message is moved up, noted: Converse takes a system prompt only up front).
- user/assistant content: a string -> one text block; text parts -> text blocks; `image_url`
  with a `data:image/<format>;base64,` URL -> an `image` block (`source.bytes`, base64 as the
  JSON wire carries it); other URLs, audio and files are noted and dropped.
- assistant `tool_calls` -> `toolUse` blocks after the text (`arguments` parsed; text that is not
  a JSON object is sent as `{}` and noted).
- `tool` messages -> `toolResult` blocks (`content: [{"text"}]`) in a user message; Converse wants
  the roles to alternate, so consecutive messages of one role are joined into one.
- `tools` -> `toolConfig.tools[].toolSpec` (`parameters` -> `inputSchema.json`);
  `tool_choice`: auto -> auto, required -> any, a named function -> tool; none -> no tools are
  sent (Converse has no "none"), noted.
- `max_completion_tokens` (else `max_tokens`) -> `inferenceConfig.maxTokens`, `temperature`,
  `top_p` -> `topP`, `stop` -> `stopSequences`. `stream`/`stream_options` say which endpoint
  (`converse-stream`) and are consumed; `model` is in the path.
- anything else (`n` > 1, `seed`, penalties, `response_format`, `reasoning_effort`, `user`, ...)
  is noted and dropped unless it holds its default value.

Answers
- text blocks joined -> `content`; `toolUse` -> `tool_calls` (input serialised);
  `reasoningContent.reasoningText.text` -> `reasoning_content`.
- `stopReason`: end_turn/stop_sequence -> stop, max_tokens/model_context_window_exceeded ->
  length, tool_use -> tool_calls, guardrail_intervened/content_filtered -> content_filter.
- usage: prompt_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens;
  cached_tokens = cacheReadInputTokens; cache_write_tokens = cacheWriteInputTokens.

Errors keep their status; the OpenAI type follows it and `code` is Bedrock's error code.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Final

import orjson

from palisade.providers.bedrock.dialect import error_code
from palisade.providers.chat_errors import chat_error, openai_error_type
from palisade.providers.tool_arguments import arguments_object
from palisade.providers.translation import Notes, note

STOP_TO_FINISH: Final[dict[str, str]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_IMAGE_FORMATS: Final = frozenset({"png", "jpeg", "gif", "webp"})
# Fields that change nothing at these values.
_DEFAULTS: Final[dict[str, Any]] = {
    "n": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logprobs": False,
    "parallel_tool_calls": True,
    "store": False,
}
_CONSUMED: Final = frozenset({"model", "messages", "stream", "stream_options", "tools"})


def chat_request_to_converse(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if messages:
                note(notes, "messages: a system message after the conversation began moved up")
            system.extend(_blocks(content, notes))
        elif role == "tool":
            result = {
                "toolResult": {
                    "toolUseId": message.get("tool_call_id") or "",
                    "content": [{"text": _text_of(content)}],
                }
            }
            _append(messages, "user", [result])
        elif role == "assistant":
            blocks = _blocks(content, notes)
            if message.get("refusal"):
                blocks.append({"text": str(message["refusal"])})
            for call in message.get("tool_calls") or []:
                blocks.append({"toolUse": _tool_use(call, notes)})
            if blocks:
                _append(messages, "assistant", blocks)
        else:
            _append(messages, "user", _blocks(content, notes))
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    inference: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        inference["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        inference["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        inference["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if inference:
        out["inferenceConfig"] = inference
    _tools(body, out, notes)
    handled = {"max_completion_tokens", "max_tokens", "temperature", "top_p", "stop"}
    handled |= {"tool_choice"}
    for key, value in body.items():
        if key in _CONSUMED or key in handled or value is None:
            continue
        if key in _DEFAULTS and value == _DEFAULTS[key]:
            continue
        note(notes, f"{key}: no equivalent in the Converse API, dropped")
    return out


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": list(blocks)})


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _blocks(content: object, notes: Notes) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            out.append({"text": part["text"]})
        elif kind == "image_url":
            image = _image(part.get("image_url"))
            if image is None:
                note(notes, "image_url: only base64 data URLs of png/jpeg/gif/webp are sent")
            else:
                out.append(image)
        else:
            note(notes, f"content part {kind!r}: no equivalent in the Converse API, dropped")
    return out


def _image(value: object) -> dict[str, Any] | None:
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url.startswith("data:image/"):
        return None
    head, _, data = url.partition(",")
    fmt = head[len("data:image/") :].split(";", 1)[0]
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in _IMAGE_FORMATS or ";base64" not in head:
        return None
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _tool_use(call: Any, notes: Notes) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    function = function if isinstance(function, dict) else {}
    parsed = arguments_object(function.get("arguments"))
    if parsed is None:
        note(notes, "tool_calls: arguments that are not a JSON object sent as {}")
        parsed = {}
    return {
        "toolUseId": call.get("id") or "",
        "name": function.get("name") or "",
        "input": parsed,
    }


def _tools(body: dict[str, Any], out: dict[str, Any], notes: Notes) -> None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not tools:
        return
    if choice == "none":
        note(notes, "tool_choice none: no equivalent in the Converse API, tools not sent")
        return
    specs = []
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            note(notes, "tools: only function tools are sent")
            continue
        function = tool.get("function") or {}
        spec: dict[str, Any] = {
            "name": function.get("name") or "",
            "inputSchema": {"json": function.get("parameters") or {"type": "object"}},
        }
        if function.get("description"):
            spec["description"] = function["description"]
        specs.append({"toolSpec": spec})
    if not specs:
        return
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name:
            config["toolChoice"] = {"tool": {"name": name}}
    out["toolConfig"] = config


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    read = usage.get("cacheReadInputTokens") or 0
    write = usage.get("cacheWriteInputTokens") or 0
    prompt = (usage.get("inputTokens") or 0) + read + write
    completion = usage.get("outputTokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
    }


def new_chat_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def tool_call(use: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": use.get("toolUseId"),
        "type": "function",
        "function": {
            "name": use.get("name"),
            "arguments": orjson.dumps(use.get("input") or {}).decode(),
        },
    }


def converse_answer_to_chat(obj: dict[str, Any], model: str) -> dict[str, Any]:
    output = obj.get("output") or {}
    content = (output.get("message") or {}).get("content") or []
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            calls.append(tool_call(block["toolUse"]))
        elif isinstance(block.get("reasoningContent"), dict):
            text = (block["reasoningContent"].get("reasoningText") or {}).get("text")
            if isinstance(text, str):
                reasoning.append(text)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
    }
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    stop = obj.get("stopReason")
    finish = STOP_TO_FINISH.get(stop, "stop") if isinstance(stop, str) else "stop"
    answer: dict[str, Any] = {
        "id": new_chat_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
    }
    usage = obj.get("usage")
    if isinstance(usage, dict):
        answer["usage"] = chat_usage(usage)
    return answer


def error_message(body: bytes) -> str:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")[:2000] or "upstream error"
    if isinstance(obj, dict):
        message = obj.get("message", obj.get("Message"))
        if isinstance(message, str):
            return message
    return body.decode("utf-8", "replace")[:2000]


def converse_error_to_chat(status: int, body: bytes) -> bytes:
    return orjson.dumps(
        chat_error(error_message(body), openai_error_type(status), error_code(status))
    )
