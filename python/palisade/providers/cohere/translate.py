"""OpenAI Chat Completions and Embeddings -> Cohere v2 chat and embed: requests, whole answers
and error bodies.

Pure functions on parsed JSON. Outputs may share sub-objects with their inputs (a tool's JSON
schema): nothing here mutates either. A request field with no equivalent is either mapped by a
rule below or named in `notes`; none is dropped without a trace.

OpenAI chat request -> Cohere v2 chat request (`chat_request_to_cohere`)
- `system`/`developer` messages -> `system` messages, in place (Cohere takes them anywhere);
  content: a string stays a string, text parts -> text parts.
- user content: a string stays a string; text parts -> text parts; `image_url` -> Cohere's
  `image_url` part (the URL and `detail` kept); other parts (audio, files) are noted and dropped.
- assistant: text -> `content`, except beside `tool_calls`, where the text is Cohere's
  `tool_plan` (the model's words before it calls tools); `tool_calls` -> `tool_calls` (ids,
  names and argument strings unchanged); `refusal` -> text; `reasoning_content` and
  `thinking_blocks` are noted and dropped.
- `tool` messages -> `tool` messages (`tool_call_id`, content a string or text parts).
- `tools` (`function`) -> the same shape (`name`, `description`, `parameters`); `strict: true`
  on any tool -> `strict_tools: true`. `tool_choice`: auto -> omitted, required -> `REQUIRED`,
  none -> `NONE`, a named function -> `REQUIRED` with only that tool sent (noted: Cohere cannot
  name one). `parallel_tool_calls: false` is noted (no equivalent).
- `max_completion_tokens` (else `max_tokens`) -> `max_tokens`; `temperature`, `seed`,
  `frequency_penalty`, `presence_penalty` copied; `top_p` -> `p`; `stop` -> `stop_sequences`;
  `logprobs` copied; `stream` copied; `stream_options.include_usage` is consumed (Cohere streams
  always end with their usage).
- `response_format`: json_object -> `{"type": "json_object"}`, json_schema ->
  `{"type": "json_object", "json_schema": <schema>}` (its name has no equivalent).
- `reasoning_effort`: "none" -> `thinking: {"type": "disabled"}`; other efforts ->
  `{"type": "enabled"}` with the provider's default budget (noted).
- `n` > 1, `top_logprobs`, `logit_bias`, `user`, `metadata`, `store`, `service_tier`, audio,
  prediction, web search, legacy `functions`... are noted and dropped unless they hold their
  default value. Unknown fields: noted and dropped.

Cohere v2 chat answer -> OpenAI chat completion (`cohere_answer_to_chat`)
- id `X` -> `chatcmpl-X`; `model`: the request's (Cohere's answer names none).
- text parts joined -> `content`; `tool_plan` -> `content` when there is no text (read back as
  `tool_plan` above); thinking parts -> `reasoning_content`; `tool_calls` -> `tool_calls`.
- finish reasons: COMPLETE and STOP_SEQUENCE -> stop, MAX_TOKENS -> length, TOOL_CALL ->
  tool_calls, ERROR and TIMEOUT -> stop (a whole answer has no way to say more).
- usage: prompt/completion tokens are the billed ones (else `tokens`); `cached_tokens` ->
  `prompt_tokens_details.cached_tokens`.
- dropped, as answers have nowhere to say so: `citations` (which need `documents`, which an
  OpenAI request cannot send) and `logprobs`.

OpenAI embeddings request -> Cohere v2 embed request (`embeddings_request_to_cohere`)
- `input` (a string or strings) -> `texts`; token-id inputs are refused (Cohere embeds text).
- `input_type: "search_document"` (OpenAI has no such notion: vectors to be searched, the most
  common use; noted), `embedding_types: ["float"]`; `dimensions` -> `output_dimension`;
  `encoding_format` is kept for the answer: base64 is encoded by the gateway from the floats
  (little-endian float32, as OpenAI sends it); `user` noted and dropped.
- answer: `embeddings.float[i]` -> `data[i].embedding`; usage from `meta.billed_units`.

Errors: the status is kept; Cohere's `{"message": ...}` -> `{"error": {"message", "type",
"param", "code"}}`, the type by status. A body that is not JSON becomes the message.
"""

from __future__ import annotations

import base64
import secrets
import struct
import time
from typing import Any, Final

import orjson

from palisade.errors import BadRequest
from palisade.providers.chat_errors import body_text, chat_error
from palisade.providers.cohere.usage import counts
from palisade.providers.translation import Notes, note

FINISH: Final[dict[str, str]] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "stop",
    "TIMEOUT": "stop",
}

_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logprobs",
        "stream",
        "stream_options",
        "response_format",
        "reasoning_effort",
        "parallel_tool_calls",
    }
)
_NO_DEFAULT: Final = object()
# Fields with no equivalent, and the value that changes nothing (no note then).
_WITHOUT_EQUIVALENT: Final[dict[str, object]] = {
    "n": 1,
    "top_logprobs": _NO_DEFAULT,
    "logit_bias": _NO_DEFAULT,
    "user": _NO_DEFAULT,
    "safety_identifier": _NO_DEFAULT,
    "prompt_cache_key": _NO_DEFAULT,
    "metadata": _NO_DEFAULT,
    "store": False,
    "service_tier": "auto",
    "modalities": ["text"],
    "audio": _NO_DEFAULT,
    "prediction": _NO_DEFAULT,
    "web_search_options": _NO_DEFAULT,
    "functions": _NO_DEFAULT,
    "function_call": _NO_DEFAULT,
    "verbosity": _NO_DEFAULT,
}


def chat_id(cohere_id: object) -> str:
    if not isinstance(cohere_id, str) or not cohere_id:
        return "chatcmpl-" + secrets.token_hex(12)
    return "chatcmpl-" + cohere_id


def chat_usage(usage: object) -> dict[str, Any]:
    found = counts(usage) if isinstance(usage, dict) else None
    prompt, completion, cached = found or (0, 0, 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(cached, prompt)},
    }


# --- requests ---------------------------------------------------------------------------------


def chat_request_to_cohere(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {"model": body.get("model")}
    messages = body.get("messages")
    out["messages"] = _messages(messages if isinstance(messages, list) else [], notes)
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if isinstance(tools, list) and tools:
        cohere_tools, strict = _tools(tools, notes)
        if isinstance(choice, dict):
            fn = choice.get("function")
            name = fn.get("name") if isinstance(fn, dict) else None
            note(notes, "tool_choice: a named function -> REQUIRED with only that tool sent")
            cohere_tools = [t for t in cohere_tools if t["function"].get("name") == name]
            out["tool_choice"] = "REQUIRED"
        elif choice == "required":
            out["tool_choice"] = "REQUIRED"
        elif choice == "none":
            out["tool_choice"] = "NONE"
        if cohere_tools:
            out["tools"] = cohere_tools
        if strict:
            out["strict_tools"] = True
    elif choice not in (None, "none", "auto"):
        note(notes, "tool_choice: no tools, dropped")
    if body.get("parallel_tool_calls") is False:
        note(notes, "parallel_tool_calls: false has no equivalent, dropped")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None:
        out["max_tokens"] = limit
    for name in ("temperature", "seed", "frequency_penalty", "presence_penalty", "logprobs"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("top_p") is not None:
        out["p"] = body["top_p"]
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = stop
    if body.get("stream") is not None:
        out["stream"] = body["stream"]
    _response_format(body.get("response_format"), out, notes)
    effort = body.get("reasoning_effort")
    if effort == "none":
        out["thinking"] = {"type": "disabled"}
    elif isinstance(effort, str):
        out["thinking"] = {"type": "enabled"}
        note(notes, "reasoning_effort: thinking enabled with the provider's default budget")
    for name, value in body.items():
        if name in _HANDLED:
            continue
        default = _WITHOUT_EQUIVALENT.get(name, _NO_DEFAULT)
        if value is None or (default is not _NO_DEFAULT and value == default):
            continue
        note(notes, f"{name}: no equivalent in Cohere's API, dropped")
    return out


def _messages(messages: list[Any], notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": _content(content, notes, "system")})
        elif role == "user":
            out.append({"role": "user", "content": _content(content, notes, "user")})
        elif role == "assistant":
            out.append(_assistant(message, notes))
        elif role == "tool":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": message.get("tool_call_id"),
                    "content": _content(content, notes, "tool"),
                }
            )
        else:
            note(notes, f"messages: role {role!r} has no equivalent, dropped")
    return out


def _content(content: Any, notes: Notes, role: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "image_url" and role == "user" and isinstance(part.get("image_url"), dict):
                parts.append({"type": "image_url", "image_url": part["image_url"]})
            else:
                note(notes, f"{role} content: {kind} parts have no equivalent, dropped")
    return parts if parts else ""


def _assistant(message: dict[str, Any], notes: Notes) -> dict[str, Any]:
    content = message.get("content")
    text = content if isinstance(content, str) else None
    if isinstance(content, list):
        text = "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        text = (text + "\n\n" if text else "") + message["refusal"]
    if message.get("reasoning_content") or message.get("thinking_blocks"):
        note(notes, "assistant reasoning: not sent back to Cohere, dropped")
    out: dict[str, Any] = {"role": "assistant"}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {
                    "name": (call.get("function") or {}).get("name"),
                    "arguments": (call.get("function") or {}).get("arguments") or "{}",
                },
            }
            for call in calls
            if isinstance(call, dict)
        ]
        if text:
            out["tool_plan"] = text
    elif text is not None:
        out["content"] = text
    return out


def _tools(tools: list[Any], notes: Notes) -> tuple[list[dict[str, Any]], bool]:
    out: list[dict[str, Any]] = []
    strict = False
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            note(notes, "tools: only function tools have an equivalent, others dropped")
            continue
        spec: dict[str, Any] = {"name": fn.get("name")}
        if fn.get("description") is not None:
            spec["description"] = fn["description"]
        parameters = fn.get("parameters")
        # Cohere requires them; OpenAI's default is a function without arguments.
        spec["parameters"] = (
            parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
        )
        if fn.get("strict") is True:
            strict = True
        out.append({"type": "function", "function": spec})
    return out, strict


def _response_format(value: Any, out: dict[str, Any], notes: Notes) -> None:
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if kind == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        schema = value.get("json_schema")
        fmt: dict[str, Any] = {"type": "json_object"}
        if isinstance(schema, dict) and isinstance(schema.get("schema"), dict):
            fmt["json_schema"] = schema["schema"]
        out["response_format"] = fmt
        note(notes, "response_format.json_schema: its name has no equivalent")


# --- answers ---------------------------------------------------------------------------------


def cohere_answer_to_chat(obj: dict[str, Any], model: object) -> dict[str, Any]:
    message = obj.get("message")
    message = message if isinstance(message, dict) else {}
    texts: list[str] = []
    thinking: list[str] = []
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "thinking" and isinstance(part.get("thinking"), str):
                thinking.append(part["thinking"])
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
    text = "".join(texts)
    plan = message.get("tool_plan")
    if not text and isinstance(plan, str) and plan:
        text = plan
    out_message: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out_message["tool_calls"] = [_tool_call(call) for call in calls if isinstance(call, dict)]
    elif not text:
        out_message["content"] = ""
    if thinking:
        out_message["reasoning_content"] = "".join(thinking)
    out_message["refusal"] = None
    reason = obj.get("finish_reason")
    return {
        "id": chat_id(obj.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": out_message,
                "logprobs": None,
                "finish_reason": FINISH.get(reason, "stop") if isinstance(reason, str) else "stop",
            }
        ],
        "usage": chat_usage(obj.get("usage")),
    }


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function")
    fn = fn if isinstance(fn, dict) else {}
    arguments = fn.get("arguments")
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {
            "name": fn.get("name"),
            "arguments": arguments if isinstance(arguments, str) else "{}",
        },
    }


# --- embeddings ------------------------------------------------------------------------------

EMBED_INPUT_TYPE: Final = "search_document"


def embeddings_request_to_cohere(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    value = body.get("input")
    if isinstance(value, str):
        texts = [value]
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        texts = value
    else:
        raise BadRequest(
            "Palisade: the model is served by Cohere, which embeds text only: `input` must be "
            "a string or an array of strings.",
            param="input",
            code="translation_unavailable",
        )
    out: dict[str, Any] = {
        "model": body.get("model"),
        "texts": texts,
        "input_type": EMBED_INPUT_TYPE,
        "embedding_types": ["float"],
    }
    note(notes, f"input_type: {EMBED_INPUT_TYPE} (OpenAI's API has no equivalent)")
    if body.get("dimensions") is not None:
        out["output_dimension"] = body["dimensions"]
    for name, value in body.items():
        if name in ("model", "input", "dimensions", "encoding_format") or value is None:
            continue
        note(notes, f"{name}: no equivalent in Cohere's API, dropped")
    return out


def cohere_embed_to_embeddings(obj: dict[str, Any], model: object, encoding: str) -> dict[str, Any]:
    embeddings = obj.get("embeddings")
    vectors = embeddings.get("float") if isinstance(embeddings, dict) else None
    data: list[dict[str, Any]] = []
    for i, vector in enumerate(vectors if isinstance(vectors, list) else []):
        if not isinstance(vector, list):
            continue
        value: list[float] | str = vector
        if encoding == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    meta = obj.get("meta")
    found = counts(meta) if isinstance(meta, dict) else None
    prompt = found[0] if found else 0
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


# --- errors ----------------------------------------------------------------------------------

_OPENAI_ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    498: "authentication_error",
    499: "invalid_request_error",
    500: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


def openai_error_type(status: int) -> str:
    if status in _OPENAI_ERROR_TYPES:
        return _OPENAI_ERROR_TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def error_message(status: int, body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body_text(status, body)
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])
    return orjson.dumps(parsed).decode()[:2000]


def cohere_error_to_chat(status: int, body: bytes) -> bytes:
    return orjson.dumps(chat_error(error_message(status, body), openai_error_type(status), None))


def stream_error(message: object) -> dict[str, Any]:
    """A Cohere `message-end` with finish_reason ERROR -> the error object an OpenAI stream
    carries."""
    text = message if isinstance(message, str) and message else "upstream error"
    return chat_error(text, "server_error", "upstream_stream_error")
