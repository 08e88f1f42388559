"""An Ollama-native client's request to any provider, through OpenAI chat completions: the
first step of the chain (`Chained`) every provider dialect continues from chat.

Request: `messages` (images become `image_url` parts; tool calls get ids, and tool results are
matched to the earliest unanswered call of the same name), `tools` (already OpenAI's shape),
`format` (`"json"` -> `json_object`, a schema -> `json_schema`), `options` (`temperature`,
`top_p`, `seed`, `stop`, `num_predict` -> `max_tokens`, `frequency_penalty`,
`presence_penalty`); `stream` defaults to true, as Ollama's does, and asks for the stream's
usage. Noted, not sent: `keep_alive`, `think`, the other `options` (`num_ctx`, `top_k`, ...).
Answer and stream: `message` (tool call arguments parsed to objects), `done`, `done_reason`,
`prompt_eval_count` and `eval_count` from the usage; durations are not known to the gateway
and are omitted. A stream that breaks off ends with an `{"error": ...}` line, never `done`.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import orjson

from palisade.providers.base import Event, Surface
from palisade.providers.openai import CHAT
from palisade.providers.translation import Forwarded

_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "num_predict": "max_tokens",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
_DROPPED = ("keep_alive", "think", "raw", "template", "context", "logprobs")
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "stop", "content_filter": "stop"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class OllamaToChat(Forwarded):
    upstream: Surface = CHAT

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.model = ""
        self._calls: dict[int, dict[str, Any]] = {}
        self._done_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._ended = False

    # --- request ---------------------------------------------------------------------------

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        self.model = str(body.get("model") or "")
        out: dict[str, Any] = {"model": body.get("model"), "messages": self._messages(body)}
        if isinstance(body.get("tools"), list) and body["tools"]:
            out["tools"] = body["tools"]
        fmt = body.get("format")
        if fmt == "json":
            out["response_format"] = {"type": "json_object"}
        elif isinstance(fmt, dict):
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": fmt},
            }
        options = body.get("options")
        if isinstance(options, dict):
            for name, value in options.items():
                target = _OPTIONS.get(name)
                if target is None:
                    self.notes.append(f"options.{name}: dropped (no equivalent)")
                else:
                    out[target] = value
        for name in _DROPPED:
            if name in body:
                self.notes.append(f"{name}: dropped (no equivalent)")
        if body.get("stream", True) is not False:
            out["stream"] = True
            out["stream_options"] = {"include_usage": True}
        return out

    def _messages(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        messages = body.get("messages")
        out: list[dict[str, Any]] = []
        if not isinstance(messages, list):
            return out
        pending: list[tuple[str, str]] = []  # (tool name, call id) not answered yet
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role") or "user"
            content = message.get("content")
            item: dict[str, Any] = {"role": role}
            images = message.get("images")
            if isinstance(images, list) and images:
                parts: list[dict[str, Any]] = []
                if isinstance(content, str) and content:
                    parts.append({"type": "text", "text": content})
                for image in images:
                    # Ollama takes raw base64 without a media type; PNG is a documented guess
                    # (the providers sniff the bytes).
                    url = f"data:image/png;base64,{image}"
                    parts.append({"type": "image_url", "image_url": {"url": url}})
                item["content"] = parts
            else:
                item["content"] = content if isinstance(content, str) else ""
            calls = message.get("tool_calls")
            if role == "assistant" and isinstance(calls, list) and calls:
                item["tool_calls"] = []
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict):
                        continue
                    call_id = f"call_{i}_{j}"
                    name = str(fn.get("name") or "")
                    arguments = fn.get("arguments")
                    text = (
                        arguments
                        if isinstance(arguments, str)
                        else orjson.dumps(arguments or {}).decode()
                    )
                    item["tool_calls"].append(
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": text},
                        }
                    )
                    pending.append((name, call_id))
            if role == "tool":
                tool_name = message.get("tool_name") or message.get("name")
                match = next(
                    (p for p in pending if p[0] == tool_name), pending[0] if pending else None
                )
                if match is not None:
                    pending.remove(match)
                    item["tool_call_id"] = match[1]
                else:
                    item["tool_call_id"] = f"call_unmatched_{i}"
            out.append(item)
        return out

    # --- answer ----------------------------------------------------------------------------

    def answer(self, obj: dict[str, Any]) -> dict[str, Any]:
        choices = obj.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else {}
        message = choice.get("message") if isinstance(choice, dict) else None
        message = message if isinstance(message, dict) else {}
        out_message: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
        calls = _tool_calls(message.get("tool_calls"))
        if calls:
            out_message["tool_calls"] = calls
        if len(choices or []) > 1:
            self.notes.append("choices[1:]: dropped (Ollama answers with one message)")
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        out: dict[str, Any] = {
            "model": self.model or obj.get("model"),
            "created_at": _now(),
            "message": out_message,
            "done": True,
            "done_reason": _FINISH.get(str(reason), "stop"),
        }
        _counts(out, obj.get("usage"))
        return out

    def error(self, status: int, body: bytes) -> bytes:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return orjson.dumps({"error": body.decode(errors="replace")[:2000]})
        error = obj.get("error") if isinstance(obj, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        return orjson.dumps({"error": message if isinstance(message, str) else f"error {status}"})

    # --- stream ----------------------------------------------------------------------------

    def stream(self, event: Event) -> list[Event]:
        data = event[1]
        if data == "[DONE]":
            return self._end()
        if not isinstance(data, dict):
            return []
        if "error" in data:
            self._ended = True
            error = data["error"]
            message = error.get("message") if isinstance(error, dict) else error
            return [("message", {"error": str(message)})]
        if isinstance(data.get("usage"), dict):
            self._usage = data["usage"]
        out: list[Event] = []
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                text = delta.get("content")
                if isinstance(text, str) and text:
                    out.append(("message", self._line({"role": "assistant", "content": text})))
                self._hold(delta.get("tool_calls"))
            if choice.get("finish_reason") is not None:
                self._done_reason = _FINISH.get(str(choice["finish_reason"]), "stop")
        return out

    def _hold(self, deltas: object) -> None:
        if not isinstance(deltas, list):
            return
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            position = delta.get("index", 0)
            call = self._calls.setdefault(position, {"name": "", "arguments": ""})
            fn = delta.get("function")
            if isinstance(fn, dict):
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""

    def _line(self, message: dict[str, Any], *, done: bool = False) -> dict[str, Any]:
        return {"model": self.model, "created_at": _now(), "message": message, "done": done}

    def _end(self) -> list[Event]:
        if self._ended:
            return []
        self._ended = True
        out: list[Event] = []
        if self._calls:
            calls = [
                {"name": c["name"], "arguments": c["arguments"]}
                for _, c in sorted(self._calls.items())
            ]
            message = {
                "role": "assistant",
                "content": "",
                "tool_calls": _tool_calls([{"function": c} for c in calls]),
            }
            out.append(("message", self._line(message)))
        last = self._line({"role": "assistant", "content": ""}, done=True)
        last["done_reason"] = self._done_reason or "stop"
        _counts(last, self._usage)
        out.append(("message", last))
        return out

    def finish(self) -> list[Event]:
        if self._ended:
            return []
        self._ended = True
        # The provider's stream ended without its end: an error, never a clean `done`.
        message = "Palisade: the provider's stream ended before it was complete."
        return [("message", {"error": message})]


def _tool_calls(calls: object) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(calls, list):
        return out
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            continue
        arguments = fn.get("arguments")
        if isinstance(arguments, str):
            # Text that is not JSON is kept as text: never silently replaced.
            with contextlib.suppress(orjson.JSONDecodeError):
                arguments = orjson.loads(arguments) if arguments else {}
        out.append({"function": {"name": fn.get("name") or "", "arguments": arguments}})
    return out


def _counts(out: dict[str, Any], usage: object) -> None:
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int):
            out["prompt_eval_count"] = prompt
        if isinstance(completion, int):
            out["eval_count"] = completion
