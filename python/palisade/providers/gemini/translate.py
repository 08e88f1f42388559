"""OpenAI Chat Completions -> Gemini `generateContent`: requests, whole answers and error bodies.

Pure functions on parsed JSON (outputs may share sub-objects with their inputs: a tool's schema,
an image's base64 data; nothing here mutates either). A request field with no equivalent is
mapped by a rule below or named in `notes`; none is dropped without a trace.

OpenAI request -> Gemini request (`chat_request_to_gemini`)
- `system`/`developer` messages -> `systemInstruction.parts` (text), in order; one found after
  the first user or assistant message is moved up, and noted.
- user content: a string -> one text part; text parts -> text parts; `image_url` with a
  `data:<type>;base64,` URL -> `inlineData` (mimeType, data); any other URL -> `fileData`
  (`fileUri`; the mime type from the URL's extension, else noted and dropped); `file` with
  `file_data` (a data URL or bare base64) -> `inlineData` (bare base64 as
  application/pdf, noted); `input_audio` -> `inlineData` `audio/<format>`; `detail`, `file_id`
  and other parts are noted and dropped.
- assistant -> role `model`: its text, then `tool_calls` -> `functionCall` parts
  (`name`, `args` = parsed `arguments`; text that is not a JSON object is sent as
  `{"_invalid_arguments": text}` and noted). The call ids have no equivalent in Gemini's
  request: a `tool` message finds its function's name by its `tool_call_id`. `refusal` -> text
  (noted); `reasoning_content` cannot be sent back without Gemini's thought signature: dropped,
  noted.
- `tool` messages -> `functionResponse` parts (`name` from the call, `response`: the content
  parsed when it is a JSON object, else `{"content": <text>}`); a run of them is one `user`
  turn. Consecutive turns of the same role are merged (Gemini wants them alternating).
- `tools` (`function`) -> one `{"functionDeclarations": [...]}` with `name`, `description` and
  `parametersJsonSchema` (= `parameters`, JSON Schema as given); `strict` noted. `tool_choice`:
  auto -> AUTO, required -> ANY, none -> NONE, a named function -> ANY with
  `allowedFunctionNames`. `parallel_tool_calls: false` has no equivalent: noted.
- `generationConfig`: `max_completion_tokens` (else `max_tokens`) -> `maxOutputTokens`;
  `temperature`, `top_p` -> `topP`; `stop` -> `stopSequences`; `n` -> `candidateCount`;
  `seed`; `presence_penalty`/`frequency_penalty` -> `presencePenalty`/`frequencyPenalty`;
  `logprobs` -> `responseLogprobs`, `top_logprobs` -> `logprobs`; `response_format`
  json_object -> `responseMimeType: application/json`, json_schema -> that plus
  `responseJsonSchema` (its `name` and `strict` have no equivalent); `reasoning_effort` ->
  `thinkingConfig.thinkingBudget` (THINKING_BUDGETS; "none" -> 0) with `includeThoughts`.
- `stream` is the path's business (`streamGenerateContent`); `stream_options` is consumed
  (Gemini streams always carry usage); `model` is the path's. `user`, `metadata`, `store`,
  `logit_bias`, audio, prediction, ... are noted and dropped unless they hold their default.

Gemini answer -> OpenAI answer (`gemini_answer_to_chat`)
- `responseId` -> `chatcmpl-<id>`; `modelVersion` -> `model`; each candidate -> a choice (its
  `index`): text parts joined -> `content`, `thought` parts -> `reasoning_content`,
  `functionCall` -> `tool_calls` (the call's `id` if it has one, else `call_<hex>`; `args` as
  JSON text). Dropped, as answers have nowhere to say so: safety ratings, citation and
  grounding metadata, logprobs, executable code parts.
- finish reasons: STOP -> stop (tool_calls when the candidate called a function), MAX_TOKENS ->
  length, SAFETY/RECITATION/BLOCKLIST/PROHIBITED_CONTENT/SPII/IMAGE_SAFETY/LANGUAGE ->
  content_filter, others -> stop. A prompt blocked (`promptFeedback.blockReason`, no candidate)
  -> one empty choice with content_filter.
- usage: prompt_tokens = promptTokenCount + toolUsePromptTokenCount; completion_tokens =
  candidatesTokenCount + thoughtsTokenCount; cached_tokens = cachedContentTokenCount;
  reasoning_tokens = thoughtsTokenCount.

Errors: the status is kept; OpenAI's `type` follows it, `code` carries Google's `status` name.
A body that is not JSON becomes the message.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from typing import Any, Final

import orjson

from palisade.providers.anthropic.translate import THINKING_BUDGETS
from palisade.providers.chat_errors import body_text, chat_error, openai_error_type
from palisade.providers.gemini.shape import field
from palisade.providers.tool_arguments import arguments_object
from palisade.providers.translation import Notes, note

FINISH_REASONS: Final[dict[str, str]] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
}

_CHAT_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
    }
)
_NO_DEFAULT: Final = object()
_WITHOUT_EQUIVALENT: Final[dict[str, object]] = {
    "user": _NO_DEFAULT,
    "safety_identifier": _NO_DEFAULT,
    "metadata": _NO_DEFAULT,
    "store": False,
    "logit_bias": _NO_DEFAULT,
    "modalities": _NO_DEFAULT,
    "audio": _NO_DEFAULT,
    "prediction": _NO_DEFAULT,
    "web_search_options": _NO_DEFAULT,
    "verbosity": _NO_DEFAULT,
    "service_tier": _NO_DEFAULT,
    "prompt_cache_key": _NO_DEFAULT,
    "functions": _NO_DEFAULT,
    "function_call": _NO_DEFAULT,
}

# --- OpenAI request -> Gemini request -----------------------------------------------------------


def chat_request_to_gemini(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    system, contents = _contents(body.get("messages") or (), notes)
    out["contents"] = contents
    if system:
        out["systemInstruction"] = {"parts": system}
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        declarations = _declarations(tools, notes)
        if declarations:
            out["tools"] = [{"functionDeclarations": declarations}]
            choice = _tool_config(body.get("tool_choice"), notes)
            if choice is not None:
                out["toolConfig"] = {"functionCallingConfig": choice}
    if body.get("parallel_tool_calls") is False:
        note(notes, "parallel_tool_calls: Gemini has no equivalent, dropped")
    config = _generation_config(body, notes)
    if config:
        out["generationConfig"] = config
    for key, value in body.items():
        if key in _CHAT_HANDLED:
            continue
        default = _WITHOUT_EQUIVALENT.get(key, _NO_DEFAULT)
        if default is not _NO_DEFAULT and value == default:
            continue
        note(notes, f"{key}: Gemini has no equivalent, dropped")
    return out


def _contents(messages: Any, notes: Notes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> function name
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            if contents:
                note(
                    notes,
                    "messages: a system message after the conversation began was moved "
                    "to systemInstruction",
                )
            text = _text_of(message.get("content"))
            if text:
                system.append({"text": text})
        elif role == "user":
            _append(contents, "user", _user_parts(message.get("content"), notes))
        elif role == "assistant":
            _append(contents, "model", _assistant_parts(message, names, notes))
        elif role == "tool":
            call_id = message.get("tool_call_id")
            name = names.get(call_id) if isinstance(call_id, str) else None
            if name is None:
                note(
                    notes,
                    "messages: a tool message answers no known tool call; its name is "
                    "unknown to Gemini, sent as `unknown`",
                )
            part = {
                "functionResponse": {
                    "name": name or "unknown",
                    "response": _response(_text_of(message.get("content"))),
                }
            }
            _append(contents, "user", [part])
        else:
            note(notes, f"messages: role {role!r} has no Gemini equivalent, dropped")
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        parts = [{"text": ""}]
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _response(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"content": text}
    return value if isinstance(value, dict) else {"content": value}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _user_parts(content: Any, notes: Notes) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    out: list[dict[str, Any]] = []
    if not isinstance(content, list):
        return out
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            out.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(image, dict) and image.get("detail") not in (None, "auto"):
                note(notes, "image_url.detail: Gemini has no equivalent, dropped")
            converted = _media(url, None, notes) if isinstance(url, str) else None
            if converted is not None:
                out.append(converted)
        elif kind == "file":
            file = part.get("file") or {}
            data = file.get("file_data") if isinstance(file, dict) else None
            if isinstance(data, str):
                converted = _media(data, "application/pdf", notes)
                if converted is not None:
                    out.append(converted)
            else:
                note(
                    notes,
                    "file parts without file_data (file_id): Gemini cannot read them, dropped",
                )
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            if isinstance(audio, dict) and isinstance(audio.get("data"), str):
                mime = f"audio/{audio.get('format') or 'wav'}"
                out.append({"inlineData": {"mimeType": mime, "data": audio["data"]}})
        else:
            note(notes, f"content parts of type {kind!r}: no Gemini equivalent, dropped")
    return out


def _media(url: str, bare_type: str | None, notes: Notes) -> dict[str, Any] | None:
    if url.startswith("data:"):
        head, _, data = url[5:].partition(",")
        mime, _, encoding = head.partition(";")
        if encoding != "base64":
            note(notes, "data URLs that are not base64: Gemini takes base64 only, dropped")
            return None
        return {"inlineData": {"mimeType": mime or "application/octet-stream", "data": data}}
    if bare_type is not None:
        note(notes, f"file_data without a data URL: sent as {bare_type}")
        return {"inlineData": {"mimeType": bare_type, "data": url}}
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    if guessed is None:
        note(notes, "image URLs without a known file type: Gemini needs a mime type, dropped")
        return None
    return {"fileData": {"mimeType": guessed, "fileUri": url}}


def _assistant_parts(
    message: dict[str, Any], names: dict[str, str], notes: Notes
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    text = _text_of(message.get("content"))
    if text:
        out.append({"text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        note(notes, "refusal: sent as assistant text")
        out.append({"text": refusal})
    if message.get("reasoning_content") or message.get("reasoning"):
        note(notes, "reasoning_content: Gemini needs its own thought signature, dropped")
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        name = function.get("name")
        name = name if isinstance(name, str) else ""
        if isinstance(call.get("id"), str):
            names[call["id"]] = name
        arguments = function.get("arguments")
        args = _arguments(arguments if isinstance(arguments, str) else "", notes)
        out.append({"functionCall": {"name": name, "args": args}})
    return out


def _arguments(text: str, notes: Notes) -> dict[str, Any]:
    value = arguments_object(text)
    if value is not None:
        return value
    note(notes, "tool_calls: arguments that are not a JSON object sent as _invalid_arguments")
    return {"_invalid_arguments": text}


def _declarations(tools: list[Any], notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            note(notes, "tools that are not functions: no Gemini equivalent, dropped")
            continue
        if not isinstance(function, dict):
            continue
        declaration: dict[str, Any] = {"name": function.get("name")}
        if isinstance(function.get("description"), str):
            declaration["description"] = function["description"]
        if function.get("parameters") is not None:
            declaration["parametersJsonSchema"] = function["parameters"]
        if function.get("strict"):
            note(notes, "tools[].function.strict: Gemini has no equivalent, dropped")
        out.append(declaration)
    return out


def _tool_config(choice: Any, notes: Notes) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice == "auto":
        return {"mode": "AUTO"}
    if choice == "required":
        return {"mode": "ANY"}
    if choice == "none":
        return {"mode": "NONE"}
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            return {"mode": "ANY", "allowedFunctionNames": [name]}
    note(notes, f"tool_choice: {choice!r} has no Gemini equivalent, dropped")
    return None


def _generation_config(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    limit = body.get("max_completion_tokens")
    if limit is None:
        limit = body.get("max_tokens")
    if limit is not None:
        out["maxOutputTokens"] = limit
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
        ("logprobs", "responseLogprobs"),
        ("top_logprobs", "logprobs"),
    ):
        if body.get(ours) is not None:
            out[theirs] = body[ours]
    n = body.get("n")
    if n is not None and n != 1:
        out["candidateCount"] = n
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stopSequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stopSequences"] = stop
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind == "json_object":
            out["responseMimeType"] = "application/json"
        elif kind == "json_schema":
            schema = response_format.get("json_schema") or {}
            out["responseMimeType"] = "application/json"
            if isinstance(schema, dict) and schema.get("schema") is not None:
                out["responseJsonSchema"] = schema["schema"]
            note(
                notes, "response_format.json_schema: its name and strict have no Gemini equivalent"
            )
    effort = body.get("reasoning_effort")
    if effort == "none":
        out["thinkingConfig"] = {"thinkingBudget": 0}
    elif isinstance(effort, str) and effort in THINKING_BUDGETS:
        out["thinkingConfig"] = {
            "thinkingBudget": THINKING_BUDGETS[effort],
            "includeThoughts": True,
        }
    elif effort is not None:
        note(notes, f"reasoning_effort: {effort!r} has no Gemini equivalent, dropped")
    return out


# --- Gemini answer -> OpenAI answer ------------------------------------------------------------


def chat_id(response_id: object) -> str:
    if isinstance(response_id, str) and response_id:
        return "chatcmpl-" + response_id
    return "chatcmpl-" + secrets.token_hex(12)


def call_id(call: dict[str, Any]) -> str:
    given = call.get("id")
    return given if isinstance(given, str) and given else "call_" + secrets.token_hex(12)


def finish_reason(reason: object, called: bool) -> str | None:
    if not isinstance(reason, str) or not reason or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    mapped = FINISH_REASONS.get(reason, "stop")
    return "tool_calls" if called and mapped == "stop" else mapped


def chat_usage(meta: dict[str, Any]) -> dict[str, Any]:
    def count(key: str) -> int:
        value = meta.get(key)
        return value if isinstance(value, int) and value > 0 else 0

    thoughts = count("thoughtsTokenCount")
    prompt = count("promptTokenCount") + count("toolUsePromptTokenCount")
    completion = count("candidatesTokenCount") + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": count("cachedContentTokenCount")},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def gemini_answer_to_chat(obj: dict[str, Any]) -> dict[str, Any]:
    choices: list[dict[str, Any]] = []
    candidates = obj.get("candidates")
    for position, candidate in enumerate(candidates if isinstance(candidates, list) else ()):
        if not isinstance(candidate, dict):
            continue
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts: list[str] = []
        thoughts: list[str] = []
        calls: list[dict[str, Any]] = []
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            call = field(part, "functionCall")
            if isinstance(text, str):
                (thoughts if part.get("thought") is True else texts).append(text)
            elif isinstance(call, dict):
                calls.append(
                    {
                        "id": call_id(call),
                        "type": "function",
                        "function": {
                            "name": call.get("name"),
                            "arguments": orjson.dumps(call.get("args") or {}).decode(),
                        },
                    }
                )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(texts) if texts or not calls else None,
            "refusal": None,
        }
        if thoughts:
            message["reasoning_content"] = "".join(thoughts)
        if calls:
            message["tool_calls"] = calls
        index = candidate.get("index")
        choices.append(
            {
                "index": index if isinstance(index, int) else position,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(candidate.get("finishReason"), bool(calls))
                or ("tool_calls" if calls else "stop"),
            }
        )
    if not choices:
        feedback = obj.get("promptFeedback")
        blocked = isinstance(feedback, dict) and feedback.get("blockReason")
        choices.append(
            {
                "index": 0,
                "message": {"role": "assistant", "content": "", "refusal": None},
                "logprobs": None,
                "finish_reason": "content_filter" if blocked else "stop",
            }
        )
    out: dict[str, Any] = {
        "id": chat_id(obj.get("responseId")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": obj.get("modelVersion"),
        "choices": choices,
    }
    meta = obj.get("usageMetadata")
    if isinstance(meta, dict):
        out["usage"] = chat_usage(meta)
    return out


# --- errors ------------------------------------------------------------------------------------


def _error_parts(status: int, body: bytes) -> tuple[str, str | None]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body_text(status, body), None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # Google answers some errors as a one-element array
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            name = error.get("status")
            return (
                message if isinstance(message, str) else orjson.dumps(error).decode(),
                name if isinstance(name, str) else None,
            )
    return orjson.dumps(parsed).decode()[:2000], None


def gemini_error_to_chat(status: int, body: bytes) -> bytes:
    message, name = _error_parts(status, body)
    return orjson.dumps(chat_error(message, openai_error_type(status), name))


def stream_error_to_chat(data: dict[str, Any]) -> dict[str, Any]:
    """An error object in a Gemini stream -> the one an OpenAI stream carries."""
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    status = code if isinstance(code, int) else 500
    message = error.get("message")
    name = error.get("status")
    return chat_error(
        message if isinstance(message, str) else "upstream stream error",
        openai_error_type(status),
        name if isinstance(name, str) else None,
    )
