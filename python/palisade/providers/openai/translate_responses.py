"""OpenAI Responses API -> OpenAI Chat Completions: requests, whole answers and streams.

A Responses client served by a provider that speaks another dialect goes through chat: this
module maps Responses to chat and back, and a chat translation (`anthropic/translate.py`) takes
it the rest of the way, adding its own notes. Pure functions on parsed JSON; outputs may share
sub-objects with their inputs, and nothing here mutates either. A request field with no chat
equivalent is mapped by a rule below or named in `notes`; a field that needs state the gateway
does not keep is refused (400, `translation_unavailable`) rather than dropped.

Request (`responses_request_to_chat`)
- `instructions` -> a leading system message. `input` as a string -> one user message.
- `input` items: messages (role user/system/developer/assistant; `type: "message"` or none) ->
  chat messages. `input_text`/`output_text` -> text parts (a lone text part -> a string);
  `input_image` with `image_url` -> an `image_url` part (`detail` kept); `input_file` with
  `file_data` or `file_id` -> a `file` part; an image `file_id`, a `file_url`, audio and other
  parts are noted and dropped, as are non-text parts of system messages. A text part's
  `prompt_cache_breakpoint` -> `cache_control: {"type": "ephemeral"}` (the convention the chat
  -> Anthropic translation reads; a `ttl` is noted). `refusal` parts -> the assistant's
  `refusal`. Input items' `id`/`status` and output texts' `logprobs` (metadata of an earlier
  answer) are dropped; `annotations`, `phase` and any other item key are noted.
- `function_call` -> a tool call (`call_id` -> `id`) on the assistant message before it, or on a
  new one; `function_call_output` -> a tool message (text parts only; images and files noted).
- `reasoning` -> the next assistant message's reasoning. An `encrypted_content` this module wrote
  (`SIGNED` / `REDACTED` prefix: an Anthropic thinking block's signature, or a redacted block's
  data) -> `thinking_blocks` (the chat convention `anthropic/translate.py` reads), so signed
  thinking survives a tool round trip; unsigned text -> `reasoning_content` (and an unsigned
  entry in `thinking_blocks` when the message has signed ones, so the next step notes its loss);
  any other `encrypted_content` (an OpenAI model's) is noted and dropped.
- `item_reference` items, `previous_response_id`, `conversation`, `prompt` (a stored template) and
  `background: true` are refused: the gateway keeps no responses or conversations to resolve them.
- `tools`: function tools (flat) -> chat function tools (`strict` copied when given: Responses
  defaults it to true, which a provider's strict mode would enforce on schemas not written for
  it); other tool types and function-tool extras (`defer_loading`, ...) are noted and dropped.
  `tool_choice`: auto/none/required copied, `{"type": "function", "name"}` -> chat's named form,
  others noted; with no tool left, `tool_choice` and `parallel_tool_calls` are dropped, noted.
- `max_output_tokens` -> `max_completion_tokens`; `temperature`, `top_p`, `parallel_tool_calls`,
  `user`, `safety_identifier`, `service_tier`, `metadata`, `prompt_cache_*`, `moderation` copied
  (the next translation notes what its provider lacks); `top_logprobs` -> `top_logprobs` and
  `logprobs: true`; `reasoning.effort` -> `reasoning_effort` (other reasoning keys noted: the
  reasoning comes back whole, not summarised); `text.format` json_schema -> `response_format`
  json_schema (name, schema, strict, description), json_object -> json_object;
  `text.verbosity` -> `verbosity`; `stream` copied, and a stream asks for its usage
  (`response.completed` always carries it).
- `store: true` (the gateway stores no response), `include` other than
  `reasoning.encrypted_content` (always given), `truncation: "auto"`, `max_tool_calls`,
  `stream_options.include_obfuscation: true` and unknown fields: noted, dropped.

Answer (`chat_answer_to_responses`; `response_echo` is what the response repeats of the
request: instructions, tools, tool_choice, sampling, text, reasoning, metadata...)
- ids: `chatcmpl-X` -> `resp_X`; items `rs_X`, `msg_X`, `fc_X_<i>` (`_<n>` for later ones), the
  same in the whole answer and the stream. Output order: reasoning, message, function calls.
- `thinking_blocks` -> one `reasoning` item each (text as `reasoning_text` content, the signature
  as `encrypted_content` with the `SIGNED` prefix; a redacted block -> `REDACTED` + data and no
  content); else `reasoning_content` -> one reasoning item. Content -> a message with an
  `output_text` part, `refusal` -> a `refusal` part; tool calls -> `function_call` items
  (`id` -> `call_id`).
- finish_reason: length -> status `incomplete`, `incomplete_details.reason`
  `max_output_tokens`; content_filter -> `incomplete` with reason `content_filter`; else
  `completed`. Usage: input_tokens = prompt_tokens (cached included, as OpenAI counts),
  cached/cache-write tokens -> `input_tokens_details`, reasoning tokens ->
  `output_tokens_details`.
- Error bodies are the same in both APIs: the chat ones are used as they are.

Stream (`ChatStreamToResponses`): the first chunk -> `response.created`, `response.in_progress`;
each run of content -> a message item (`output_item.added`, `content_part.added`,
`output_text.delta`..., then `output_text.done`, `content_part.done`, `output_item.done` when
another item opens or the choice finishes; a refusal is a second part); reasoning -> a reasoning
item the same way (`reasoning_text.delta`/`.done`); each tool call index -> a function_call item
(`function_call_arguments.delta`..., `.done`). One item is open at a time, as in OpenAI's own
streams: an argument piece for a call already closed (an upstream that interleaves calls) is
too late for events and goes into the final response. The usage chunk follows the finish chunk,
so `response.completed` (`response.incomplete` for the reasons above), with the whole response and
its usage, goes out at "[DONE]". An error object -> an `error` event (Responses' fields, plus the
`error` object the openai SDK raises on, as it does for the gateway's own stream errors), the
stream's last. `finish()` closes a stream that ended without "[DONE]": completed if the choice
finished, else `response.failed`. `sequence_number` counts from 0.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Final

from palisade.errors import BadRequest
from palisade.providers.base import Event
from palisade.providers.translation import Notes, note

DONE: Final = "[DONE]"
# `encrypted_content` of a reasoning item made from a chat `thinking_blocks` entry: the prefix
# tells it from an OpenAI model's encrypted reasoning, which means nothing to another provider.
SIGNED: Final = "palisade.thinking:"
REDACTED: Final = "palisade.redacted_thinking:"


_RESEND: Final = "Send the whole conversation in `input` instead."


def _refuse(field: str, what: str, hint: str = _RESEND) -> BadRequest:
    return BadRequest(
        f"Palisade: `{field}` cannot be translated: {what}, and this model's provider speaks "
        f"another API, for which the gateway keeps no state. {hint}",
        param=field,
        code="translation_unavailable",
    )


# --- request ----------------------------------------------------------------------------------

# Copied as they are: chat has the same field (the next translation notes what it lacks).
_COPIED: Final = (
    "temperature",
    "top_p",
    "user",
    "safety_identifier",
    "service_tier",
    "metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "prompt_cache_options",
    "moderation",
)
_HANDLED: Final = frozenset(
    {
        *_COPIED,
        "model",
        "instructions",
        "input",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "top_logprobs",
        "reasoning",
        "text",
        "stream",
        "stream_options",
        "include",
        "previous_response_id",
        "conversation",
        "prompt",
        "background",
    }
)
# Fields with no chat equivalent, and the value that makes dropping them harmless.
_NO_DEFAULT: Final = object()
_WITHOUT_EQUIVALENT: Final[dict[str, object]] = {
    "store": False,
    "truncation": "disabled",
    "max_tool_calls": _NO_DEFAULT,
    "context_management": _NO_DEFAULT,
    "image": _NO_DEFAULT,
    "access_programs": _NO_DEFAULT,
}
_WHY: Final[dict[str, str]] = {
    "store": "store: the gateway stores no response, not stored",
    "truncation": "truncation: the provider refuses a prompt too long instead of truncating it",
}
_FUNCTION_TOOL_KEYS: Final = frozenset({"type", "name", "description", "parameters", "strict"})
# The keys each input item kind may carry; `id` and `status` are dropped by rule.
_ITEM_KEYS: Final[dict[object, frozenset[str]]] = {
    "message": frozenset({"type", "role", "content", "id", "status", "phase"}),
    None: frozenset({"type", "role", "content", "id", "status", "phase"}),
    "function_call": frozenset({"type", "id", "call_id", "name", "arguments", "status"}),
    "function_call_output": frozenset({"type", "id", "call_id", "output", "status"}),
    "reasoning": frozenset({"type", "id", "summary", "content", "encrypted_content", "status"}),
}


def responses_request_to_chat(body: dict[str, Any], notes: Notes) -> dict[str, Any]:
    if body.get("previous_response_id") is not None:
        raise _refuse("previous_response_id", "it names a response stored by OpenAI")
    if body.get("conversation") is not None:
        raise _refuse("conversation", "it names a conversation stored by OpenAI")
    if body.get("prompt") is not None:
        hint = "Send the prompt's text as `instructions` instead."
        raise _refuse("prompt", "it names a prompt template stored by OpenAI", hint)
    if body.get("background"):
        hint = "Send the request without it, and stream it if it is long."
        raise _refuse("background", "a background response is stored to be polled", hint)

    out: dict[str, Any] = {"model": body.get("model")}
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            messages.append({"role": "system", "content": instructions})
    elif instructions is not None:
        raise BadRequest("Palisade: `instructions` must be a string.", param="instructions")
    _input(body.get("input"), messages, notes)
    out["messages"] = messages

    if body.get("max_output_tokens") is not None:
        out["max_completion_tokens"] = body["max_output_tokens"]
    for key in _COPIED:
        value = body.get(key)
        if value is not None:
            out[key] = value
    top_logprobs = body.get("top_logprobs")
    if top_logprobs:
        out["logprobs"] = True
        out["top_logprobs"] = top_logprobs

    tools = _tools(body.get("tools"), notes)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), notes)
        if choice is not None:
            out["tool_choice"] = choice
        if body.get("parallel_tool_calls") is not None:
            out["parallel_tool_calls"] = body["parallel_tool_calls"]
    elif body.get("tool_choice") not in (None, "auto", "none"):
        note(notes, "tool_choice: no function tool to choose from, dropped")

    _reasoning_options(body.get("reasoning"), out, notes)
    _text_options(body.get("text"), out, notes)

    stream = body.get("stream")
    if stream is not None:
        out["stream"] = stream
        if stream:
            out["stream_options"] = {"include_usage": True}
    options = body.get("stream_options")
    if isinstance(options, dict):
        for key, value in options.items():
            if value:  # include_obfuscation: the gateway adds no padding
                note(notes, f"stream_options.{key}: no equivalent, dropped")
    for item in body.get("include") or ():
        if item != "reasoning.encrypted_content":
            note(notes, f"include: {item!r} has no equivalent, dropped")

    for key, value in body.items():
        if key in _HANDLED or value is None:
            continue
        default = _WITHOUT_EQUIVALENT.get(key)
        if default is None:
            note(notes, f"{key}: unknown field, dropped")
        elif value != default:
            note(notes, _WHY.get(key) or f"{key}: no equivalent, dropped")
    return out


def _input(value: Any, messages: list[dict[str, Any]], notes: Notes) -> None:
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
        return
    if value is None:
        return
    if not isinstance(value, list):
        raise BadRequest("Palisade: `input` must be a string or a list of items.", param="input")
    reasoned = False
    for item in value:
        if not isinstance(item, dict):
            raise BadRequest("Palisade: every `input` item must be an object.", param="input")
        kind = item.get("type")
        if kind == "message" or (kind is None and "role" in item):
            _message(item, messages, notes)
        elif kind == "function_call":
            _assistant(messages, joins=True).setdefault("tool_calls", []).append(
                {
                    "id": item.get("call_id"),
                    "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")},
                }
            )
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id"),
                    "content": _tool_output(item.get("output"), notes),
                }
            )
        elif kind == "reasoning":
            _reasoning_item(item, messages, notes)
            reasoned = True
        elif kind == "item_reference":
            raise _refuse("input", "an `item_reference` names an item stored by OpenAI")
        else:
            note(notes, f"input item {kind!r}: no equivalent, dropped")
            continue
        known = _ITEM_KEYS.get(kind)
        if known is not None and not known.issuperset(item):
            for key, field in item.items():
                if key not in known and field is not None:
                    note(notes, f"{kind or 'message'}.{key}: no equivalent, dropped")
    if reasoned:
        _unsigned_reasoning(messages)


def _assistant(messages: list[dict[str, Any]], *, joins: bool) -> dict[str, Any]:
    """The assistant message the next part of a turn goes on: the last message if it is one
    and `joins` (a tool call joins its turn's text), or if it holds only reasoning so far (the
    reasoning item precedes its turn); else a new one."""
    if messages:
        last = messages[-1]
        if last.get("role") == "assistant" and (
            joins or (last.get("content") is None and "tool_calls" not in last)
        ):
            return last
    message: dict[str, Any] = {"role": "assistant", "content": None}
    messages.append(message)
    return message


def _message(item: dict[str, Any], messages: list[dict[str, Any]], notes: Notes) -> None:
    role = item.get("role")
    content = item.get("content")
    if item.get("phase") is not None:
        note(notes, "message.phase: no equivalent, dropped")
    if role == "assistant":
        message = _assistant(messages, joins=False)
        if isinstance(content, str):
            message["content"] = content
            return
        texts: list[dict[str, Any]] = []
        refusals: list[str] = []
        for part in content or ():
            kind = part.get("type")
            if kind in ("output_text", "input_text"):
                if part.get("annotations"):
                    note(notes, "output_text.annotations: no equivalent, dropped")
                texts.append({"type": "text", "text": part.get("text", "")})
            elif kind == "refusal":
                refusals.append(part.get("refusal", ""))
            else:
                note(notes, f"assistant content part {kind!r}: no equivalent, dropped")
        if len(texts) == 1:
            message["content"] = texts[0]["text"]
        elif texts:
            message["content"] = texts
        elif refusals:
            message["content"] = None
        if refusals:
            message["refusal"] = "".join(refusals)
        return
    if role not in ("user", "system", "developer"):
        note(notes, f"input: role {role!r} has no equivalent, dropped")
        return
    if isinstance(content, str):
        messages.append({"role": role, "content": content})
        return
    parts = _parts(content or (), role != "user", notes)
    if len(parts) == 1 and parts[0]["type"] == "text" and len(parts[0]) == 2:
        messages.append({"role": role, "content": parts[0]["text"]})
    else:
        messages.append({"role": role, "content": parts})


def _parts(content: Any, text_only: bool, notes: Notes) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            text: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
            cache = part.get("prompt_cache_breakpoint")
            if cache:
                text["cache_control"] = {"type": "ephemeral"}
                if cache.get("ttl") is not None:
                    note(notes, "prompt_cache_breakpoint.ttl: the provider's default applies")
            parts.append(text)
        elif text_only:
            note(notes, f"system content part {kind!r}: text only, dropped")
        elif kind == "input_image":
            url = part.get("image_url")
            if not url:
                note(notes, "input_image.file_id: no equivalent, dropped")
                continue
            image: dict[str, Any] = {"url": url}
            if part.get("detail") is not None:
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k)}
            if "file_data" in file or "file_id" in file:
                parts.append({"type": "file", "file": file})
            else:
                note(notes, "input_file.file_url: no equivalent, dropped")
        else:
            note(notes, f"content part {kind!r}: no equivalent, dropped")
    return parts


def _tool_output(output: Any, notes: Notes) -> str | list[dict[str, Any]]:
    if isinstance(output, str):
        return output
    texts: list[dict[str, Any]] = []
    for part in output or ():
        if part.get("type") in ("input_text", "output_text"):
            texts.append({"type": "text", "text": part.get("text", "")})
        else:
            note(notes, f"function_call_output {part.get('type')!r} parts: text only, dropped")
    return texts


def _reasoning_item(item: dict[str, Any], messages: list[dict[str, Any]], notes: Notes) -> None:
    content = item.get("content")
    pieces = content if content else item.get("summary") or ()
    text = "".join(p.get("text", "") for p in pieces)
    encrypted = item.get("encrypted_content")
    block: dict[str, Any]
    if isinstance(encrypted, str) and encrypted.startswith(SIGNED):
        block = {"type": "thinking", "thinking": text, "signature": encrypted[len(SIGNED) :]}
    elif isinstance(encrypted, str) and encrypted.startswith(REDACTED):
        block = {"type": "redacted_thinking", "data": encrypted[len(REDACTED) :]}
    else:
        if encrypted:
            note(notes, "reasoning.encrypted_content: another provider's, dropped")
        if not text:
            return
        block = {"type": "thinking", "thinking": text, "signature": ""}
    message = _assistant(messages, joins=False)
    message.setdefault("thinking_blocks", []).append(block)
    if block["type"] == "thinking":
        message["reasoning_content"] = message.get("reasoning_content", "") + text


def _unsigned_reasoning(messages: list[dict[str, Any]]) -> None:
    """A message whose reasoning has no signed block keeps only `reasoning_content`, the common
    chat convention; one with signed blocks keeps its unsigned ones too, for the next
    translation to note."""
    for message in messages:
        blocks = message.get("thinking_blocks")
        if blocks is not None and not any(
            b.get("signature") or b["type"] == "redacted_thinking" for b in blocks
        ):
            del message["thinking_blocks"]


def _tools(tools: Any, notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools or ():
        kind = tool.get("type")
        if kind != "function":
            note(notes, f"tools: {kind!r} tools have no equivalent, dropped")
            continue
        function: dict[str, Any] = {"name": tool.get("name")}
        if tool.get("description") is not None:
            function["description"] = tool["description"]
        if tool.get("parameters") is not None:
            function["parameters"] = tool["parameters"]
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
        if not _FUNCTION_TOOL_KEYS.issuperset(tool):
            for key, value in tool.items():
                if key not in _FUNCTION_TOOL_KEYS and value is not None:
                    note(notes, f"tools[].{key}: no equivalent, dropped")
    return out


def _tool_choice(choice: Any, notes: Notes) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    kind = choice.get("type") if isinstance(choice, dict) else choice
    note(notes, f"tool_choice: {kind!r} has no equivalent, dropped")
    return None


def _reasoning_options(reasoning: Any, out: dict[str, Any], notes: Notes) -> None:
    if not reasoning:
        return
    for key, value in reasoning.items():
        if key == "effort":
            if value is not None:
                out["reasoning_effort"] = value
        elif value is not None:
            note(notes, f"reasoning.{key}: no equivalent (reasoning comes back whole), dropped")


def _text_options(text: Any, out: dict[str, Any], notes: Notes) -> None:
    if not text:
        return
    for key, value in text.items():
        if key == "format":
            kind = value.get("type") if value else None
            if kind == "json_schema":
                schema: dict[str, Any] = {"name": value.get("name") or "response"}
                for field in ("schema", "strict", "description"):
                    if value.get(field) is not None:
                        schema[field] = value[field]
                out["response_format"] = {"type": "json_schema", "json_schema": schema}
            elif kind == "json_object":
                out["response_format"] = {"type": "json_object"}
            elif kind not in (None, "text"):
                note(notes, f"text.format: {kind!r} has no equivalent, dropped")
        elif key == "verbosity":
            if value is not None:
                out["verbosity"] = value
        elif value is not None:
            note(notes, f"text.{key}: no equivalent, dropped")


# --- answers ----------------------------------------------------------------------------------


def response_echo(body: dict[str, Any]) -> dict[str, Any]:
    """What a response object repeats of its request, as the client sent it."""
    reasoning = body.get("reasoning") or {}
    return {
        "background": False,
        "error": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": body.get("service_tier"),
        "temperature": body.get("temperature"),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": body.get("top_p"),
        "truncation": body.get("truncation") or "disabled",
        "user": body.get("user"),
    }


def response_id(chat_completion_id: str | None) -> str:
    if not chat_completion_id:
        return "resp_" + secrets.token_hex(12)
    tail = chat_completion_id
    return "resp_" + (tail[9:] if tail.startswith("chatcmpl-") else tail)


def responses_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Chat usage -> Responses usage: the same counts under other names."""
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": details.get("cached_tokens") or 0,
            "cache_write_tokens": details.get("cache_write_tokens") or 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": completion_details.get("reasoning_tokens") or 0
        },
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


_INCOMPLETE: Final[dict[str, str]] = {
    "length": "max_output_tokens",
    "content_filter": "content_filter",
}


def _response(
    rid: str,
    created: Any,
    model: Any,
    echo: dict[str, Any],
    output: list[dict[str, Any]],
    status: str,
    finish: str | None,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    reason = _INCOMPLETE.get(finish or "")
    if reason is not None and status == "completed":
        status = "incomplete"
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        **echo,
        "completed_at": int(time.time()) if status == "completed" else None,
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "model": model,
        "output": output,
        "usage": None if usage is None else responses_usage(usage),
    }


def _reasoning(rid_tail: str, k: int, block: dict[str, Any] | None, text: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"rs_{rid_tail}" if k == 0 else f"rs_{rid_tail}_{k}",
        "type": "reasoning",
        "summary": [],
    }
    if block is not None and block.get("type") == "redacted_thinking":
        item["encrypted_content"] = REDACTED + block.get("data", "")
        return item
    item["content"] = [{"type": "reasoning_text", "text": text}]
    if block is not None and block.get("signature"):
        item["encrypted_content"] = SIGNED + block["signature"]
    return item


def _message_item(item_id: str, parts: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": parts,
    }


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _call_item(tail: str, index: int, call_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    return {
        "id": f"fc_{tail}_{index}",
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def chat_answer_to_responses(obj: dict[str, Any], echo: dict[str, Any]) -> dict[str, Any]:
    rid = response_id(obj.get("id"))
    tail = rid[5:]
    choices = obj.get("choices") or ()
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    finish = choice.get("finish_reason")
    output: list[dict[str, Any]] = []

    blocks = message.get("thinking_blocks")
    if blocks:
        for k, block in enumerate(blocks):
            output.append(_reasoning(tail, k, block, block.get("thinking") or ""))
    else:
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            output.append(_reasoning(tail, 0, None, reasoning))

    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    calls = message.get("tool_calls") or ()
    parts: list[dict[str, Any]] = []
    if content or (content is not None and not calls):
        parts.append(_output_text(content))
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    if parts:
        status = "incomplete" if finish in _INCOMPLETE else "completed"
        output.append(_message_item(f"msg_{tail}", parts, status))
    for i, call in enumerate(calls):
        function = call.get("function") or {}
        output.append(
            _call_item(tail, i, call.get("id"), function.get("name"), function.get("arguments", ""))
        )
    usage = obj.get("usage")
    return _response(
        rid, obj.get("created"), obj.get("model"), echo, output, "completed", finish, usage or {}
    )


# --- streams ----------------------------------------------------------------------------------


class _Open:
    """The text or reasoning item being streamed: its events' addresses and text so far."""

    __slots__ = ("at", "block", "id", "index", "kind", "n", "part", "parts", "text")

    def __init__(self, kind: str, n: int, item_id: str, index: int, part: str) -> None:
        self.kind = kind  # "message" or "reasoning"
        self.n = n  # the item's ordinal among its kind, in its id
        self.id = item_id
        self.index = index
        self.part = part  # "output_text", "refusal" or "reasoning_text"
        self.parts: list[dict[str, Any]] = []  # finished parts (text before a refusal)
        self.text: list[str] = []
        self.block: dict[str, Any] | None = None  # a thinking block's signature
        self.at: dict[str, Any] = {"item_id": item_id, "output_index": index, "content_index": 0}


class _Call:
    """A function call being streamed."""

    __slots__ = ("arguments", "call_id", "id", "index", "name")

    def __init__(self, item_id: str, index: int, call_id: Any, name: Any) -> None:
        self.id = item_id
        self.index = index
        self.call_id = call_id
        self.name = name
        self.arguments: list[str] = []

    def item(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": "".join(self.arguments) if status == "completed" else "",
        }


_DELTA: Final = {
    "output_text": "response.output_text.delta",
    "refusal": "response.refusal.delta",
    "reasoning_text": "response.reasoning_text.delta",
}
_TEXT_DONE: Final = {
    "output_text": "response.output_text.done",
    "refusal": "response.refusal.done",
    "reasoning_text": "response.reasoning_text.done",
}
_TEXT_FIELD: Final = {"output_text": "text", "refusal": "refusal", "reasoning_text": "text"}


class ChatStreamToResponses:
    """OpenAI chat.completion.chunk objects -> Responses API stream events."""

    __slots__ = (
        "_calls",
        "_closed",
        "_created",
        "_echo",
        "_finish",
        "_id",
        "_messages",
        "_model",
        "_open",
        "_output",
        "_reasonings",
        "_seq",
        "_tail",
        "_usage",
    )

    def __init__(self, echo: dict[str, Any]) -> None:
        self._echo = echo
        self._seq = 0
        self._id = ""
        self._tail = ""
        self._model: Any = None
        self._created = int(time.time())
        self._closed = False
        # Finished items by output index (None while one is still streaming).
        self._output: list[dict[str, Any] | None] = []
        self._open: _Open | _Call | None = None
        self._calls: dict[int, _Call] = {}  # chat tool index -> its item
        self._messages = 0
        self._reasonings = 0
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None

    def _event(self, kind: str, data: dict[str, Any]) -> Event:
        data["type"] = kind
        data["sequence_number"] = self._seq
        self._seq += 1
        return kind, data

    def feed(self, data: dict[str, Any] | str) -> list[Event]:
        if self._closed:
            return []
        if isinstance(data, str):
            return self._complete() if data.strip() == DONE else []
        out: list[Event] = []
        if not self._id:
            self._start(data, out)
        error = data.get("error")
        if error:
            self._closed = True
            out.append(self._error(error))
            return out
        choices = data.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                blocks = delta.get("thinking_blocks")
                if blocks:
                    for block in blocks:
                        self._thinking(block, out)
                else:
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    if reasoning:
                        self._text("reasoning", "reasoning_text", reasoning, out)
                content = delta.get("content")
                if content:
                    self._text("message", "output_text", content, out)
                refusal = delta.get("refusal")
                if refusal:
                    self._text("message", "refusal", refusal, out)
                calls = delta.get("tool_calls")
                if calls:
                    for call in calls:
                        self._call(call, out)
            finish = choice.get("finish_reason")
            if finish:
                self._finish = finish
                self._close_open(out)
        usage = data.get("usage")
        if usage:
            self._usage = usage
        return out

    def finish(self) -> list[Event]:
        """The upstream ended without "[DONE]": completed if the choice finished, else failed."""
        if self._closed:
            return []
        if self._finish is not None:
            return self._complete()
        self._closed = True
        out: list[Event] = []
        if not self._id:
            self._start({}, out)
        failed = self._snapshot("failed")
        failed["error"] = {
            "code": "server_error",
            "message": "Palisade: the provider's stream ended before the response was complete.",
        }
        out.append(self._event("response.failed", {"response": failed}))
        return out

    def _start(self, data: dict[str, Any], out: list[Event]) -> None:
        self._id = response_id(data.get("id"))
        self._tail = self._id[5:]
        self._model = data.get("model")
        if data.get("created"):
            self._created = data["created"]
        response = self._snapshot("in_progress")
        out.append(self._event("response.created", {"response": response}))
        out.append(self._event("response.in_progress", {"response": dict(response)}))

    def _snapshot(self, status: str) -> dict[str, Any]:
        output = [item for item in self._output if item is not None]
        usage = self._usage if status != "in_progress" else None
        return _response(
            self._id, self._created, self._model, self._echo, output, status, None, usage
        )

    def _text(self, kind: str, part: str, text: str, out: list[Event]) -> None:
        current = self._open
        if not isinstance(current, _Open) or current.kind != kind or current.part != part:
            if isinstance(current, _Open) and current.kind == kind == "message":
                self._close_part(current, out)  # a refusal after text: a new part, same item
                current.part = part
                current.at = {**current.at, "content_index": len(current.parts)}
            else:
                current = self._open_item(kind, part, out)
            self._add_part(current, out)
        current.text.append(text)
        data = {**current.at, "delta": text}
        if part == "output_text":
            data["logprobs"] = []
        out.append(self._event(_DELTA[part], data))

    def _thinking(self, block: dict[str, Any], out: list[Event]) -> None:
        k = block.get("index", 0)
        if block.get("type") == "redacted_thinking":
            self._close_open(out)
            index = len(self._output)
            item = _reasoning(self._tail, k, block, "")
            self._reasonings = max(self._reasonings, k + 1)
            self._output.append(item)
            out.append(
                self._event("response.output_item.added", {"output_index": index, "item": item})
            )
            out.append(
                self._event("response.output_item.done", {"output_index": index, "item": item})
            )
            return
        current = self._open
        if (
            not isinstance(current, _Open)
            or current.block is None
            or current.block.get("index") != k
        ):
            current = self._open_item("reasoning", "reasoning_text", out, k)
            current.block = {"index": k, "type": "thinking", "signature": ""}
            self._add_part(current, out)
        text = block.get("thinking")
        if text:
            current.text.append(text)
            out.append(self._event(_DELTA["reasoning_text"], {**current.at, "delta": text}))
        if block.get("signature"):
            current.block["signature"] += block["signature"]

    def _open_item(self, kind: str, part: str, out: list[Event], k: int | None = None) -> _Open:
        self._close_open(out)
        index = len(self._output)
        item: dict[str, Any]
        if kind == "message":
            n = self._messages
            self._messages += 1
            item_id = f"msg_{self._tail}" if n == 0 else f"msg_{self._tail}_{n}"
            item = _message_item(item_id, [], "in_progress")
        else:
            n = self._reasonings if k is None else k
            self._reasonings = max(self._reasonings, n) + 1
            item = {
                "id": f"rs_{self._tail}" if n == 0 else f"rs_{self._tail}_{n}",
                "type": "reasoning",
                "summary": [],
            }
        self._output.append(None)
        current = self._open = _Open(kind, n, item["id"], index, part)
        out.append(self._event("response.output_item.added", {"output_index": index, "item": item}))
        return current

    def _add_part(self, current: _Open, out: list[Event]) -> None:
        part = current.part
        data = {**current.at, "part": self._part(part, "")}
        out.append(self._event("response.content_part.added", data))

    @staticmethod
    def _part(kind: str, text: str) -> dict[str, Any]:
        if kind == "output_text":
            return _output_text(text)
        return {"type": kind, _TEXT_FIELD[kind]: text}

    def _close_part(self, current: _Open, out: list[Event]) -> None:
        text = "".join(current.text)
        current.text = []
        field = _TEXT_FIELD[current.part]
        done = {**current.at, field: text}
        if current.part == "output_text":
            done["logprobs"] = []
        out.append(self._event(_TEXT_DONE[current.part], done))
        part = self._part(current.part, text)
        current.parts.append(part)
        out.append(self._event("response.content_part.done", {**current.at, "part": part}))

    def _close_open(self, out: list[Event]) -> None:
        current = self._open
        if current is None:
            return
        self._open = None
        if isinstance(current, _Call):
            item = current.item("completed")
            at = {"item_id": current.id, "output_index": current.index}
            done = {**at, "arguments": item["arguments"]}
            out.append(self._event("response.function_call_arguments.done", done))
            self._output[current.index] = item
            out.append(
                self._event(
                    "response.output_item.done", {"output_index": current.index, "item": item}
                )
            )
            return
        self._close_part(current, out)
        if current.kind == "message":
            status = "incomplete" if self._finish in _INCOMPLETE else "completed"
            item = _message_item(current.id, current.parts, status)
        else:
            text = current.parts[0]["text"]
            item = _reasoning(self._tail, current.n, current.block, text)
        self._output[current.index] = item
        out.append(
            self._event("response.output_item.done", {"output_index": current.index, "item": item})
        )

    def _call(self, delta: dict[str, Any], out: list[Event]) -> None:
        function = delta.get("function") or {}
        position = delta.get("index")
        if position is None:
            # Some servers omit the index: the name comes only with a call's first piece.
            position = len(self._calls) if function.get("name") else len(self._calls) - 1
        call = self._calls.get(position)
        if call is None:
            self._close_open(out)
            index = len(self._output)
            item_id = f"fc_{self._tail}_{len(self._calls)}"
            call = _Call(item_id, index, delta.get("id"), function.get("name") or "")
            self._calls[position] = call
            self._output.append(None)
            self._open = call
            added = {"output_index": index, "item": call.item("in_progress")}
            out.append(self._event("response.output_item.added", added))
        arguments = function.get("arguments")
        if arguments:
            call.arguments.append(arguments)
            if call is self._open:
                data = {"item_id": call.id, "output_index": call.index, "delta": arguments}
                out.append(self._event("response.function_call_arguments.delta", data))
            else:
                # A piece for a call already closed (an upstream interleaving parallel calls,
                # which OpenAI does not do): too late for its events, kept for the final
                # response.
                self._output[call.index] = call.item("completed")

    def _complete(self) -> list[Event]:
        self._closed = True
        out: list[Event] = []
        if not self._id:
            self._start({}, out)
        self._close_open(out)
        response = _response(
            self._id,
            self._created,
            self._model,
            self._echo,
            [item for item in self._output if item is not None],
            "completed",
            self._finish,
            self._usage or {},
        )
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, {"response": response}))
        return out

    def _error(self, error: Any) -> Event:
        inner = error if isinstance(error, dict) else {"message": str(error)}
        message = inner.get("message")
        code = inner.get("code") or inner.get("type")
        return self._event(
            "error",
            {
                "code": code if isinstance(code, str) else None,
                "message": message if isinstance(message, str) else "upstream stream error",
                "param": None,
                "error": inner,
            },
        )
