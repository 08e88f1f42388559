"""OpenAI Chat Completions <-> Anthropic Messages: requests, whole answers and error bodies.

Ours rather than a library's, by measurement: the one maintained library for these dialects
(linguafranca 0.3.15, Rust with Python bindings) took 13 times our time per request and answer
(74 us against 5.9) and 13 times per stream event (6.6 us against 0.5) on
`benches/translate_bench.py`'s cases, dropped `stop`
sequences and `parallel_tool_calls`, reported a translated stream's prompt tokens as 0, and
refused a valid stream whose `message_delta` usage has no `input_tokens`.

Pure functions on parsed JSON. Outputs may share sub-objects with their inputs (a tool's JSON
schema, an image's base64 string): nothing here mutates either, and neither should the caller.
A request field with no equivalent is either mapped by a rule below or named in `notes`; none
is dropped without a trace. Answers have no notes: what they lose is listed below.

OpenAI request -> Anthropic request (`chat_request_to_messages`)
- `system`/`developer` messages -> `system`: one plain-string message stays a string, otherwise
  one text block per message or text part, in order. One found after the first user or
  assistant message is moved up, and noted (Anthropic takes mid-conversation system messages
  only on some models and at some places; moving one up costs that turn its prompt cache).
- user/assistant content: a string stays a string; text parts -> text blocks; `image_url` with
  a `data:<type>;base64,` URL -> `image` with a base64 source, any other URL -> a `url` source
  (`detail` other than "auto" is noted); `file` with `file_data` -> `document` with a base64
  source (`filename` -> `title`); audio, `file_id` and other parts are noted and dropped. A
  `cache_control` on a part or a tool is kept: it is Anthropic's own field.
- assistant `tool_calls` -> `tool_use` blocks after the text (ids kept, `arguments` parsed; text
  that is not a JSON object is sent as `{}` and noted); `refusal` -> a text block (noted).
- `thinking_blocks` on an assistant message (the LiteLLM convention `messages_answer_to_chat`
  writes) -> `thinking`/`redacted_thinking` blocks first, verbatim, so a signed thinking turn
  survives a round trip through an OpenAI client. `reasoning_content` without signed blocks
  cannot be sent back (Anthropic checks the signature): dropped and noted.
- `tool` messages -> `tool_result` blocks; a run of them is one user message, and a user message
  right after the run joins it (Anthropic wants results first in the turn after `tool_use`).
- `tools` (`function`) -> `name`/`description`/`input_schema` (= `parameters`)/`strict`.
  `tool_choice`: auto -> auto, required -> any, none -> none, a named function -> `tool`.
  `parallel_tool_calls: false` -> `disable_parallel_tool_use: true` (on `auto` if no choice).
- `max_completion_tokens` (else `max_tokens`) -> `max_tokens`; absent -> DEFAULT_MAX_TOKENS
  plus the thinking budget, noted. `temperature` above 1 (Anthropic's maximum) -> 1, noted;
  `top_p` copied (newer Claude models refuse both: the caller, which knows the model, removes
  them with `drop_sampling`); `stop` (string or list) -> `stop_sequences`; `stream` copied;
  `stream_options.include_usage` is consumed (Anthropic streams always carry usage).
- `user` (else `safety_identifier`) -> `metadata.user_id`.
- `reasoning_effort` -> `thinking: {"type": "enabled", "budget_tokens": THINKING_BUDGETS[e]}`,
  the budget capped at `max_tokens - 1`; under Anthropic's 1024 minimum no thinking is asked
  for, noted. "none" -> `{"type": "disabled"}`.
- `response_format` json_schema -> `output_config.format` (Anthropic's structured outputs; the
  schema's `name` has no equivalent); `json_object` is noted and dropped.
- `service_tier`: auto -> auto, default -> standard_only, others noted.
- `n` > 1, `logprobs`, `top_logprobs`, `seed`, penalties, `logit_bias`, `metadata`, `store`,
  audio, prediction, web search, legacy `functions`... are noted and dropped unless they hold
  their default value (which changes nothing). Unknown fields: noted and dropped.

Anthropic request -> OpenAI request (`messages_request_to_chat`)
- `system` -> one leading system message; several text blocks are joined with a blank line
  (many OpenAI-compatible servers accept only a string there). A `system` message inside
  `messages` stays a system message in place.
- user blocks: text -> text parts (a lone text block -> a string), images -> `image_url`
  (base64 -> a data URL, url -> the URL), base64 documents -> `file` parts; `tool_result`
  blocks -> `tool` messages placed before the rest of the turn. A result's text blocks are
  joined with a blank line; its images follow in a user message (OpenAI tool messages carry
  text only), noted; `is_error` has no equivalent, noted.
- assistant blocks: text joined -> `content`; `tool_use` -> `tool_calls` (input serialised);
  `thinking` text -> `reasoning_content`, the one non-standard field sent: such blocks come from
  a provider that wrote `reasoning_content`, and DeepSeek's thinking mode refuses a tool-call
  history without it. Signatures and `redacted_thinking` mean nothing to another model:
  dropped, noted.
- `tools` (custom) -> `function` tools; server tools (web search, bash, ...) are noted and
  dropped. `tool_choice` maps back as above; `disable_parallel_tool_use` ->
  `parallel_tool_calls: false`. With no tool left, `tool_choice` is dropped too.
- `max_tokens` -> `max_completion_tokens` (OpenAI's current name; reasoning models refuse the
  old one). `stop_sequences` -> `stop`; `temperature`/`top_p` copied; `top_k` noted.
  `stream: true` also asks for `stream_options.include_usage` (an Anthropic client expects
  usage). `metadata.user_id` -> `user`.
- `thinking` enabled -> `reasoning_effort` by budget: <= 4096 low, <= 12288 medium, else high;
  `output_config.effort` wins when given (adaptive thinking). Disabled or adaptive without an
  effort -> the provider's default, noted. `output_config.format` -> `response_format`
  json_schema named "response".
- `cache_control` anywhere: Anthropic-only, dropped, noted once. Unknown fields: noted, dropped.

Answers (both directions)
- ids: `msg_X` <-> `chatcmpl-X` (any other id gets the prefix); tool call ids are kept.
- text blocks joined <-> `content`; `tool_use` <-> `tool_calls`; thinking <-> `reasoning_content`
  plus `thinking_blocks` (signatures kept). From OpenAI, `reasoning_content` (or `reasoning`)
  becomes a thinking block with an empty signature; tool arguments that are not a JSON object
  become `{"_invalid_arguments": "<text>"}` so the client sees them rather than a silent `{}`.
- dropped, as answers have nowhere to say so: Anthropic's matched `stop_sequence`, text
  citations and server-tool blocks (which a translated request never asks for); OpenAI's
  choices after the first (a translated request asks for one), `logprobs`, `annotations`,
  `audio`, `system_fingerprint`.
- stop reasons: end_turn/stop_sequence/pause_turn -> stop, max_tokens and
  model_context_window_exceeded -> length, tool_use -> tool_calls, refusal -> content_filter;
  back: stop -> end_turn, length -> max_tokens, tool_calls/function_call -> tool_use,
  content_filter -> refusal (and an OpenAI `refusal` becomes a text block with stop_reason
  refusal).
- usage: prompt_tokens = input + cache_read + cache_creation; cached_tokens = cache_read;
  cache_write_tokens = cache_creation; completion_tokens = output; reasoning_tokens <->
  output_tokens_details.thinking_tokens. Back: input = prompt - cached - cache_write.

Errors: the status is kept; the type follows the status (tables below); OpenAI's `code`
carries Anthropic's own error type. A body that is not JSON becomes the message.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Final

import orjson

from palisade.providers.chat_errors import body_text, chat_error, openai_error_type
from palisade.providers.tool_arguments import arguments_object
from palisade.providers.translation import Notes, note

# Anthropic requires max_tokens; OpenAI's default is "as much as the model allows". 4096 fits
# every Claude model's output limit: an answer cut short says so (stop_reason max_tokens).
DEFAULT_MAX_TOKENS: Final = 4096
MIN_THINKING_BUDGET: Final = 1024
# reasoning_effort -> budget_tokens: Anthropic's minimum, then roughly doubling. One table for
# every model; a router that knows a model better may rewrite `thinking` after translation.
THINKING_BUDGETS: Final[dict[str, int]] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 24576,
    "max": 32768,
}
# budget_tokens -> reasoning_effort: cut between the table's low/medium/high, so that a budget
# from the table maps back to its own effort; only the three efforts every OpenAI-dialect
# reasoning model accepts.
_LOW_BUDGET_MAX: Final = 4096
_MEDIUM_BUDGET_MAX: Final = 12288
_OPENAI_EFFORTS: Final = frozenset({"low", "medium", "high", "xhigh", "max", "minimal", "none"})

STOP_TO_FINISH: Final[dict[str, str]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
FINISH_TO_STOP: Final[dict[str, str]] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# --- shared helpers ---------------------------------------------------------------------------


def chat_id(message_id: str | None) -> str:
    if not message_id:
        return "chatcmpl-" + secrets.token_hex(12)
    return "chatcmpl-" + (message_id[4:] if message_id.startswith("msg_") else message_id)


def message_id(chat_completion_id: str | None) -> str:
    if not chat_completion_id:
        return "msg_" + secrets.token_hex(12)
    if chat_completion_id.startswith("chatcmpl-"):
        return "msg_" + chat_completion_id[9:]
    return "msg_" + chat_completion_id


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage. OpenAI's prompt count includes the cached part."""
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + read + write
    completion = usage.get("output_tokens") or 0
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
    }
    details = usage.get("output_tokens_details")
    if details and details.get("thinking_tokens") is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": details["thinking_tokens"]}
    return out


def messages_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage -> Anthropic usage. Anthropic's input count excludes the cached part."""
    details = usage.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or 0
    write = details.get("cache_write_tokens") or 0
    out: dict[str, Any] = {
        "input_tokens": max((usage.get("prompt_tokens") or 0) - read - write, 0),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
    }
    completion_details = usage.get("completion_tokens_details")
    if completion_details and completion_details.get("reasoning_tokens") is not None:
        out["output_tokens_details"] = {"thinking_tokens": completion_details["reasoning_tokens"]}
    return out


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """A `tool_use` block as an OpenAI tool call (the id kept, the input as JSON text)."""
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {
            "name": block.get("name"),
            "arguments": orjson.dumps(block.get("input") or {}).decode(),
        },
    }


def _service_tier(
    body: dict[str, Any], table: dict[str, str], target: str, out: dict[str, Any], notes: Notes
) -> None:
    tier = body.get("service_tier")
    if tier is None:
        return
    if tier in table:
        out["service_tier"] = table[tier]
    else:
        note(notes, f"service_tier: {tier!r} has no {target} equivalent, dropped")


def _text_of(content: Any) -> str:
    """A string, or the text of a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


# --- OpenAI request -> Anthropic request ------------------------------------------------------

# Fields read by chat_request_to_messages itself.
_CHAT_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
        "reasoning_effort",
        "response_format",
        "service_tier",
    }
)
# OpenAI fields with no Anthropic equivalent, and the value that makes dropping them harmless.
_NO_DEFAULT: Final = object()
_CHAT_WITHOUT_EQUIVALENT: Final[dict[str, object]] = {
    "n": 1,
    "logprobs": False,
    "top_logprobs": 0,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "seed": _NO_DEFAULT,
    "logit_bias": _NO_DEFAULT,
    "metadata": _NO_DEFAULT,
    "store": False,
    "modalities": _NO_DEFAULT,
    "audio": _NO_DEFAULT,
    "prediction": _NO_DEFAULT,
    "web_search_options": _NO_DEFAULT,
    "verbosity": _NO_DEFAULT,
    "prompt_cache_key": _NO_DEFAULT,
    "prompt_cache_retention": _NO_DEFAULT,
    "prompt_cache_options": _NO_DEFAULT,
    "moderation": _NO_DEFAULT,
    "functions": _NO_DEFAULT,
    "function_call": _NO_DEFAULT,
}
_SERVICE_TIER_TO_MESSAGES: Final = {"auto": "auto", "default": "standard_only"}
_SERVICE_TIER_TO_CHAT: Final = {"auto": "auto", "standard_only": "default"}

_USER_KEYS: Final = frozenset({"role", "content"})
_ASSISTANT_KEYS: Final = frozenset(
    {
        "role",
        "content",
        "tool_calls",
        "refusal",
        "reasoning_content",
        "reasoning",
        "thinking_blocks",
    }
)
_TOOL_KEYS: Final = frozenset({"role", "content", "tool_call_id"})


def chat_request_to_messages(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {"model": body.get("model")}
    system, messages = _chat_messages(body.get("messages") or (), notes)
    if system is not None:
        out["system"] = system
    out["messages"] = messages

    effort = body.get("reasoning_effort")
    budget: int | None = None
    if effort is not None:
        if effort == "none":
            out["thinking"] = {"type": "disabled"}
        elif effort in THINKING_BUDGETS:
            budget = THINKING_BUDGETS[effort]
        else:
            note(notes, f"reasoning_effort: unknown value {effort!r}, dropped")

    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    elif body.get("max_tokens") not in (None, max_tokens):
        note(notes, "max_tokens: max_completion_tokens is also set and wins, dropped")
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS + (budget or 0)
        note(notes, f"max_tokens: required by Anthropic, absent, set to {max_tokens}")
    out["max_tokens"] = max_tokens
    if budget is not None:
        if isinstance(max_tokens, int):
            budget = min(budget, max_tokens - 1)
        if budget < MIN_THINKING_BUDGET:
            note(
                notes,
                "reasoning_effort: max_tokens leaves less than Anthropic's 1024-token minimum "
                "thinking budget, thinking not enabled",
            )
        else:
            out["thinking"] = {"type": "enabled", "budget_tokens": budget}

    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, int | float) and temperature > 1:
            note(notes, f"temperature: {temperature} is above Anthropic's maximum of 1, sent as 1")
            temperature = 1
        out["temperature"] = temperature
    top_p = body.get("top_p")
    if top_p is not None:
        out["top_p"] = top_p
    stop = body.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    stream = body.get("stream")
    if stream is not None:
        out["stream"] = stream
    stream_options = body.get("stream_options")
    if stream_options:
        for key in stream_options:
            if key != "include_usage":
                note(notes, f"stream_options.{key}: no Anthropic equivalent, dropped")

    user = body.get("user")
    safety_identifier = body.get("safety_identifier")
    if user is not None:
        out["metadata"] = {"user_id": user}
        if safety_identifier is not None:
            note(notes, "safety_identifier: `user` is also set and wins, dropped")
    elif safety_identifier is not None:
        out["metadata"] = {"user_id": safety_identifier}

    tools = body.get("tools")
    if tools:
        out["tools"] = _chat_tools(tools, notes)
    tool_choice = _chat_tool_choice(body.get("tool_choice"), notes)
    if body.get("parallel_tool_calls") is False and tools:
        if tool_choice is None:
            tool_choice = {"type": "auto"}
        if tool_choice["type"] != "none":
            tool_choice["disable_parallel_tool_use"] = True
    if tool_choice is not None:
        out["tool_choice"] = tool_choice

    response_format = body.get("response_format")
    if response_format:
        kind = response_format.get("type")
        if kind == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema") or {}
            out["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        elif kind != "text":
            note(notes, f"response_format: {kind} has no Anthropic equivalent, dropped")

    _service_tier(body, _SERVICE_TIER_TO_MESSAGES, "Anthropic", out, notes)

    for key, value in body.items():
        if key in _CHAT_HANDLED or value is None:
            continue
        default = _CHAT_WITHOUT_EQUIVALENT.get(key, None)
        if default is None:
            note(notes, f"{key}: unknown field, dropped")
        elif value != default:
            note(notes, f"{key}: no Anthropic equivalent, dropped")
    return out


def _chat_messages(
    messages: Any, notes: Notes
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    system_blocks: list[dict[str, Any]] = []
    system_count = 0
    # The content of the only system message, while it is a plain string: kept as one.
    system_string: str | None = None
    out: list[dict[str, Any]] = []
    # The tool_result blocks of the current run of tool messages, None outside such a run.
    results: list[dict[str, Any]] | None = None
    for msg in messages:
        role = msg.get("role")
        if role == "tool":
            if len(msg) > 3:
                _note_extra_keys(msg, _TOOL_KEYS, notes)
            block = _tool_result(msg)
            if results is None:
                results = [block]
                out.append({"role": "user", "content": results})
            else:
                results.append(block)
            continue
        if role == "user":
            if len(msg) > 2:
                _note_extra_keys(msg, _USER_KEYS, notes)
            content = _chat_content(msg.get("content"), notes)
            if results is None:
                out.append({"role": "user", "content": content})
            elif isinstance(content, str):
                if content:
                    results.append({"type": "text", "text": content})
            else:
                results.extend(content)
        elif role == "assistant":
            out.append(_chat_assistant(msg, notes))
        elif role == "system" or role == "developer":
            if out:
                note(notes, f"{role} message after the conversation start: moved into `system`")
            system_count += 1
            content = msg.get("content")
            if isinstance(content, str):
                system_string = content if system_count == 1 else None
                if content:
                    system_blocks.append({"type": "text", "text": content})
            else:
                system_string = None
                for part in content or ():
                    if part.get("type") == "text" and part.get("text"):
                        block = {"type": "text", "text": part["text"]}
                        if "cache_control" in part:
                            block["cache_control"] = part["cache_control"]
                        system_blocks.append(block)
        else:
            note(notes, f"messages: role {role!r} has no Anthropic equivalent, dropped")
        results = None
    if system_string is not None:
        return system_string, out
    return (system_blocks or None), out


def _note_extra_keys(msg: dict[str, Any], known: frozenset[str], notes: Notes) -> None:
    for key in msg:
        if key not in known and msg[key] is not None:
            note(notes, f"messages[].{key}: no Anthropic equivalent, dropped")


def _chat_content(content: Any, notes: Notes) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return _chat_parts(content or (), notes)


def _chat_parts(parts: Any, notes: Notes) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        block: dict[str, Any] | None
        if kind == "text":
            block = {"type": "text", "text": part.get("text", "")}
        elif kind == "image_url":
            block = _image_block(part, notes)
        elif kind == "file":
            block = _document_block(part, notes)
        elif kind == "refusal":
            note(notes, "refusal: no Anthropic equivalent, sent as text")
            block = {"type": "text", "text": part.get("refusal", "")}
        else:
            note(notes, f"content part {kind!r}: no Anthropic equivalent, dropped")
            block = None
        if block is not None:
            if "cache_control" in part:
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
    return blocks


def _image_block(part: dict[str, Any], notes: Notes) -> dict[str, Any] | None:
    image = part.get("image_url")
    if isinstance(image, str):
        url = image
    else:
        url = image.get("url", "") if image else ""
        detail = image.get("detail") if image else None
        if detail is not None and detail != "auto":
            note(notes, "image_url.detail: no Anthropic equivalent, dropped")
    if url.startswith("data:"):
        header, comma, data = url.partition(",")
        if not comma or not header.endswith(";base64"):
            note(notes, "image_url: a data URL that is not base64, dropped")
            return None
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": header[5:-7], "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _document_block(part: dict[str, Any], notes: Notes) -> dict[str, Any] | None:
    file = part.get("file") or {}
    data = file.get("file_data")
    if not data:
        note(notes, "file: only inline file_data has an Anthropic equivalent, file_id dropped")
        return None
    media_type = "application/pdf"
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        media_type = header[5:].split(";", 1)[0] or media_type
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _tool_result(msg: dict[str, Any]) -> dict[str, Any]:
    content = msg.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.get("tool_call_id")}
    if isinstance(content, str):
        block["content"] = content
    elif content:
        block["content"] = [
            {"type": "text", "text": p.get("text", "")} for p in content if p.get("type") == "text"
        ]
    else:
        block["content"] = ""
    return block


def _chat_assistant(msg: dict[str, Any], notes: Notes) -> dict[str, Any]:
    if len(msg) > 2:
        _note_extra_keys(msg, _ASSISTANT_KEYS, notes)
    content = msg.get("content")
    tool_calls = msg.get("tool_calls")
    thinking = msg.get("thinking_blocks")
    refusal = msg.get("refusal")
    if isinstance(content, str) and not tool_calls and not thinking and not refusal:
        # The common text-only turn keeps its shape.
        if msg.get("reasoning_content") or msg.get("reasoning"):
            note(notes, _UNSIGNED_REASONING)
        return {"role": "assistant", "content": content}
    blocks: list[dict[str, Any]] = []
    if thinking:
        for b in thinking:
            kind = b.get("type")
            if kind == "thinking":
                if not b.get("signature"):
                    note(notes, _UNSIGNED_REASONING)
                    continue
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": b.get("thinking", ""),
                        "signature": b["signature"],
                    }
                )
            elif kind == "redacted_thinking":
                blocks.append({"type": "redacted_thinking", "data": b.get("data", "")})
    elif msg.get("reasoning_content") or msg.get("reasoning"):
        note(notes, _UNSIGNED_REASONING)
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif content:
        blocks.extend(b for b in _chat_parts(content, notes) if b.get("text") != "")
    if refusal:
        note(notes, "refusal: no Anthropic equivalent, sent as text")
        blocks.append({"type": "text", "text": refusal})
    for call in tool_calls or ():
        if call.get("type", "function") != "function":
            note(
                notes,
                f"tool_calls: {call.get('type')!r} calls have no Anthropic equivalent, dropped",
            )
            continue
        function = call.get("function") or {}
        arguments = arguments_object(function.get("arguments"))
        if arguments is None:
            note(notes, "tool_calls[].function.arguments: not a JSON object, sent as {}")
            arguments = {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments,
            }
        )
    return {"role": "assistant", "content": blocks}


_UNSIGNED_REASONING: Final = (
    "reasoning_content: Anthropic accepts only signed thinking blocks (thinking_blocks), dropped"
)


def _chat_tools(tools: list[dict[str, Any]], notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        if tool.get("type") != "function":
            note(notes, f"tools: {tool.get('type')!r} tools have no Anthropic equivalent, dropped")
            continue
        function = tool.get("function") or {}
        schema = function.get("parameters")
        converted: dict[str, Any] = {
            "name": function.get("name"),
            # Anthropic requires an object schema; OpenAI allows none for a no-argument tool.
            "input_schema": schema if schema else {"type": "object", "properties": {}},
        }
        if function.get("description"):
            converted["description"] = function["description"]
        if function.get("strict") is not None:
            converted["strict"] = function["strict"]
        if "cache_control" in tool:
            converted["cache_control"] = tool["cache_control"]
        out.append(converted)
    return out


def _chat_tool_choice(choice: Any, notes: Notes) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    kind = choice.get("type") if isinstance(choice, dict) else choice
    note(notes, f"tool_choice: {kind!r} has no Anthropic equivalent, dropped")
    return None


_SAMPLING: Final = ("temperature", "top_p", "top_k")


def drop_sampling(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    """An Anthropic request without sampling parameters, for the models that answer 400 to any
    (the newer ones): which models those are is the router's knowledge, not this module's."""
    if not any(key in body for key in _SAMPLING):
        return body
    out = dict(body)
    for key in _SAMPLING:
        if out.pop(key, None) is not None:
            note(notes, f"{key}: not accepted by this model, dropped")
    return out


# --- Anthropic request -> OpenAI request ------------------------------------------------------

_MESSAGES_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "service_tier",
    }
)
_CACHE_CONTROL_NOTE: Final = "cache_control: Anthropic-only, dropped"
_SIGNATURE_NOTE: Final = "thinking.signature: meaningful to Anthropic only, dropped"


def messages_request_to_chat(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {"model": body.get("model")}
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _system_text(system, notes)})
    for msg in body.get("messages") or ():
        role = msg.get("role")
        if role == "user":
            _messages_user(msg.get("content"), messages, notes)
        elif role == "assistant":
            messages.append(_messages_assistant(msg.get("content"), notes))
        elif role == "system":
            # Anthropic's mid-conversation system message: OpenAI takes one anywhere.
            messages.append({"role": "system", "content": _system_text(msg.get("content"), notes)})
        else:
            note(notes, f"messages: role {role!r} has no OpenAI equivalent, dropped")
    out["messages"] = messages

    if body.get("max_tokens") is not None:
        out["max_completion_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("stream") is not None:
        out["stream"] = body["stream"]
        if body["stream"]:
            out["stream_options"] = {"include_usage": True}

    metadata = body.get("metadata")
    if metadata:
        for key, value in metadata.items():
            if key == "user_id":
                if value is not None:
                    out["user"] = value
            else:
                note(notes, f"metadata.{key}: no OpenAI equivalent, dropped")

    tools = _messages_tools(body.get("tools") or (), notes)
    if tools:
        out["tools"] = tools
    choice = body.get("tool_choice")
    if choice:
        if tools:
            kind = choice.get("type")
            if kind == "auto":
                out["tool_choice"] = "auto"
            elif kind == "any":
                out["tool_choice"] = "required"
            elif kind == "none":
                out["tool_choice"] = "none"
            elif kind == "tool":
                out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
            else:
                note(notes, f"tool_choice: {kind!r} has no OpenAI equivalent, dropped")
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
        else:
            note(notes, "tool_choice: no tool left to choose from, dropped")

    _messages_reasoning(body.get("thinking"), body.get("output_config"), out, notes)

    _service_tier(body, _SERVICE_TIER_TO_CHAT, "OpenAI", out, notes)

    for key, value in body.items():
        if key in _MESSAGES_HANDLED or value is None:
            continue
        if key == "top_k":
            note(notes, "top_k: no OpenAI equivalent, dropped")
        elif key == "cache_control":
            note(notes, _CACHE_CONTROL_NOTE)
        else:
            note(notes, f"{key}: unknown field, dropped")
    return out


def _system_text(system: Any, notes: Notes) -> str:
    if isinstance(system, str):
        return system
    texts = []
    for block in system or ():
        if "cache_control" in block:
            note(notes, _CACHE_CONTROL_NOTE)
        texts.append(block.get("text", ""))
    return "\n\n".join(texts)


def _messages_reasoning(
    thinking: dict[str, Any] | None,
    output_config: dict[str, Any] | None,
    out: dict[str, Any],
    notes: Notes,
) -> None:
    effort = None
    if output_config:
        for key, value in output_config.items():
            if key == "effort":
                effort = value
            elif key == "format":
                if value and value.get("type") == "json_schema":
                    out["response_format"] = {
                        "type": "json_schema",
                        "json_schema": {"name": "response", "schema": value.get("schema") or {}},
                    }
                elif value:
                    note(
                        notes,
                        f"output_config.format: {value.get('type')!r} has no OpenAI equivalent",
                    )
            elif value is not None:
                note(notes, f"output_config.{key}: no OpenAI equivalent, dropped")
    if effort is not None:
        if effort in _OPENAI_EFFORTS:
            out["reasoning_effort"] = effort
        else:
            note(notes, f"output_config.effort: unknown value {effort!r}, dropped")
    if not thinking:
        return
    kind = thinking.get("type")
    if kind == "enabled":
        if effort is None:
            budget = thinking.get("budget_tokens") or 0
            if budget <= _LOW_BUDGET_MAX:
                out["reasoning_effort"] = "low"
            elif budget <= _MEDIUM_BUDGET_MAX:
                out["reasoning_effort"] = "medium"
            else:
                out["reasoning_effort"] = "high"
    elif effort is None:
        note(notes, f"thinking: {kind!r} has no portable OpenAI equivalent, provider default used")
    if thinking.get("display") is not None:
        note(notes, "thinking.display: no OpenAI equivalent, dropped")


def _messages_user(content: Any, messages: list[dict[str, Any]], notes: Notes) -> None:
    if isinstance(content, str):
        messages.append({"role": "user", "content": content})
        return
    parts: list[dict[str, Any]] = []
    for block in content or ():
        kind = block.get("type")
        if "cache_control" in block:
            note(notes, _CACHE_CONTROL_NOTE)
        if kind == "text":
            if block.get("citations"):
                note(notes, "text.citations: no OpenAI equivalent, dropped")
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "tool_result":
            # OpenAI wants tool messages right after the assistant's calls: results go first.
            _tool_message(block, messages, notes)
        else:
            part = _messages_part(block, notes)
            if part is not None:
                parts.append(part)
    if parts:
        if len(parts) == 1 and parts[0]["type"] == "text":
            messages.append({"role": "user", "content": parts[0]["text"]})
        else:
            messages.append({"role": "user", "content": parts})


def _messages_part(block: dict[str, Any], notes: Notes) -> dict[str, Any] | None:
    kind = block.get("type")
    source = block.get("source") or {}
    source_type = source.get("type")
    if kind == "image":
        if source_type == "base64":
            url = "data:" + source.get("media_type", "") + ";base64," + source.get("data", "")
            return {"type": "image_url", "image_url": {"url": url}}
        if source_type == "url":
            return {"type": "image_url", "image_url": {"url": source.get("url", "")}}
    elif kind == "document":
        if source_type == "base64":
            data = "data:" + source.get("media_type", "") + ";base64," + source.get("data", "")
            file: dict[str, Any] = {"file_data": data}
            if block.get("title"):
                file["filename"] = block["title"]
            return {"type": "file", "file": file}
        if source_type == "text":
            return {"type": "text", "text": source.get("data", "")}
    elif kind in ("thinking", "redacted_thinking"):
        note(notes, f"{kind} blocks in a user turn: no OpenAI equivalent, dropped")
        return None
    what = f"{kind} ({source_type} source)" if source_type else kind
    note(notes, f"content block {what}: no OpenAI equivalent, dropped")
    return None


def _tool_message(block: dict[str, Any], messages: list[dict[str, Any]], notes: Notes) -> None:
    content = block.get("content")
    if block.get("is_error"):
        note(notes, "tool_result.is_error: no OpenAI equivalent, dropped")
    if isinstance(content, str) or content is None:
        messages.append(
            {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": content or ""}
        )
        return
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    for inner in content:
        if inner.get("type") == "text":
            texts.append(inner.get("text", ""))
        else:
            if "cache_control" in inner:
                note(notes, _CACHE_CONTROL_NOTE)
            part = _messages_part(inner, notes)
            if part is not None:
                others.append(part)
    messages.append(
        {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": "\n\n".join(texts)}
    )
    if others:
        note(
            notes,
            "tool_result images: OpenAI tool messages carry text only, sent in a user message",
        )
        messages.append({"role": "user", "content": others})


def _messages_assistant(content: Any, notes: Notes) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content or ():
        kind = block.get("type")
        if "cache_control" in block:
            note(notes, _CACHE_CONTROL_NOTE)
        if kind == "text":
            if block.get("citations"):
                note(notes, "text.citations: no OpenAI equivalent, dropped")
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(_tool_call(block))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
            if block.get("signature"):
                note(notes, _SIGNATURE_NOTE)
        elif kind == "redacted_thinking":
            note(notes, "redacted_thinking: encrypted for Anthropic only, dropped")
        else:
            note(notes, f"content block {kind}: no OpenAI equivalent, dropped")
    message: dict[str, Any] = {"role": "assistant"}
    if texts:
        message["content"] = "".join(texts)
    else:
        # OpenAI wants a string unless there are tool calls.
        message["content"] = None if calls else ""
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return message


def _messages_tools(tools: Any, notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        kind = tool.get("type")
        if kind is not None and kind != "custom":
            note(notes, f"tools: server tool {kind!r} has no OpenAI equivalent, dropped")
            continue
        function: dict[str, Any] = {"name": tool.get("name")}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
        if len(tool) > 4:
            for key in tool:
                if key == "cache_control":
                    note(notes, _CACHE_CONTROL_NOTE)
                elif key not in ("name", "description", "input_schema", "strict", "type"):
                    note(notes, f"tools[].{key}: no OpenAI equivalent, dropped")
    return out


# --- whole answers ----------------------------------------------------------------------------


def messages_answer_to_chat(obj: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in obj.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(_tool_call(block))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
            thinking_blocks.append(
                {
                    "type": "thinking",
                    "thinking": block.get("thinking", ""),
                    "signature": block.get("signature", ""),
                }
            )
        elif kind == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": block.get("data", "")})
        # Server-tool blocks only answer server tools, which an OpenAI request cannot ask for.
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if thinking_blocks:
        message["reasoning_content"] = "".join(reasoning)
        message["thinking_blocks"] = thinking_blocks
    stop_reason = obj.get("stop_reason")
    return {
        "id": chat_id(obj.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": obj.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": STOP_TO_FINISH.get(stop_reason or "end_turn", "stop"),
            }
        ],
        "usage": chat_usage(obj.get("usage") or {}),
    }


def chat_answer_to_messages(obj: dict[str, Any]) -> dict[str, Any]:
    choices = obj.get("choices") or ()
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    thinking_blocks = message.get("thinking_blocks")
    if thinking_blocks:
        for b in thinking_blocks:
            if b.get("type") == "thinking":
                content.append(
                    {
                        "type": "thinking",
                        "thinking": b.get("thinking", ""),
                        "signature": b.get("signature") or "",
                    }
                )
            elif b.get("type") == "redacted_thinking":
                content.append({"type": "redacted_thinking", "data": b.get("data", "")})
    else:
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = _text_of(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if refusal:
        content.append({"type": "text", "text": refusal})
    for i, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        parsed = arguments_object(arguments)
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{i}",
                "name": function.get("name"),
                "input": parsed if parsed is not None else {"_invalid_arguments": arguments},
            }
        )
    finish = choice.get("finish_reason")
    stop_reason = "refusal" if refusal else FINISH_TO_STOP.get(finish or "stop", "end_turn")
    return {
        "id": message_id(obj.get("id")),
        "type": "message",
        "role": "assistant",
        "model": obj.get("model"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": messages_usage(obj.get("usage") or {}),
    }


# --- errors -----------------------------------------------------------------------------------

_ANTHROPIC_ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# Inside a stream there is no status: an OpenAI error object is typed by its `type`/`code`.
_ANTHROPIC_TYPE_FOR_OPENAI_TYPE: Final[dict[str, str]] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "rate_limit_error": "rate_limit_error",
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "billing_error",
    "requests": "rate_limit_error",
    "tokens": "rate_limit_error",
    "server_error": "api_error",
    "service_unavailable_error": "overloaded_error",
    "server_is_overloaded": "overloaded_error",
    "timeout_error": "timeout_error",
}


def anthropic_error_type(status: int) -> str:
    if status in _ANTHROPIC_ERROR_TYPES:
        return _ANTHROPIC_ERROR_TYPES[status]
    # Anthropic's docs: other 4xx are invalid_request_error.
    return "api_error" if status >= 500 else "invalid_request_error"


def _error_message(status: int, body: bytes) -> tuple[str, str | None]:
    """The message and, if the body names one, the upstream's own error type."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body_text(status, body), None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            kind = error.get("type") if isinstance(error.get("type"), str) else None
            code = error.get("code")
            message = error.get("message")
            if isinstance(code, str) and kind is None:
                kind = code
            if isinstance(message, str):
                return message, kind
            return orjson.dumps(error).decode(), kind
        if isinstance(error, str):
            return error, None
        for key in ("message", "detail"):
            if isinstance(parsed.get(key), str):
                return parsed[key], None
    return orjson.dumps(parsed).decode()[:2000], None


def messages_error_to_chat(status: int, body: bytes) -> bytes:
    message, kind = _error_message(status, body)
    return orjson.dumps(chat_error(message, openai_error_type(status), kind))


def chat_error_to_messages(status: int, body: bytes) -> bytes:
    message, _ = _error_message(status, body)
    return orjson.dumps(
        {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}
    )


def messages_stream_error(error: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI in-stream error object -> the data of an Anthropic `error` event."""
    inner = error.get("error")
    if not isinstance(inner, dict):
        inner = {"message": inner if isinstance(inner, str) else orjson.dumps(error).decode()}
    kind = "api_error"
    for key in ("code", "type"):
        value = inner.get(key)
        if isinstance(value, str) and value in _ANTHROPIC_TYPE_FOR_OPENAI_TYPE:
            kind = _ANTHROPIC_TYPE_FOR_OPENAI_TYPE[value]
            break
    message = inner.get("message")
    return {
        "type": "error",
        "error": {"type": kind, "message": message if isinstance(message, str) else str(message)},
    }


_OPENAI_TYPE_FOR_ANTHROPIC_TYPE: Final[dict[str, str]] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "billing_error": "insufficient_quota",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "api_error": "server_error",
    "timeout_error": "timeout_error",
    "overloaded_error": "service_unavailable_error",
}


def chat_stream_error(data: dict[str, Any]) -> dict[str, Any]:
    """The data of an Anthropic `error` event -> the error object an OpenAI stream carries."""
    inner = data.get("error")
    if not isinstance(inner, dict):
        inner = {}
    kind = inner.get("type")
    if not isinstance(kind, str):
        kind = "api_error"
    message = inner.get("message") or "upstream stream error"
    return chat_error(message, _OPENAI_TYPE_FOR_ANTHROPIC_TYPE.get(kind, "server_error"), kind)
