"""Stage 7: the provider's answer against the proxy's guardrails, before the client sees it.

Texts are scanned (a block replaces the answer with a guardrail error), redacted, and un-masked
(placeholders the request stage put in become the client's own values again); tool calls are
checked against the tool policies, and a blocked call becomes an assistant message that says so.

Streams go through `StreamGuard`: each text delta passes a streaming redactor that holds back
only the tail that could still complete a match, so nothing a `block` rule would catch reaches
the client before the decision. Tool-call deltas are held until the call is complete, since a
policy can only judge whole arguments; text is never held longer than the redactor needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from palisade._core import StreamRedactor, Unmasker
from palisade.errors import GuardrailViolation
from palisade.guardrails.decisions import Decision, path_text
from palisade.guardrails.texts import ToolCallSlot, answer_texts, answer_tool_calls
from palisade.pipeline.context import RequestContext


def guard_answer(ctx: RequestContext, body: bytes, obj: dict[str, Any]) -> bytes:
    """A whole (non-stream) answer, `body` parsed as `obj` (changed in place); returns the
    bytes for the client."""
    plan, masker = ctx.guards.response_scan, ctx.masker
    changed = False
    for slot in answer_texts(obj, ctx.endpoint):
        text = original = slot.text
        if plan is not None:
            text, _ = plan.redact(text, slot.path, "response", ctx.decisions)
        if masker is not None:
            text = masker.unmask(text)
        if text != original:
            slot.container[slot.key] = text
            changed = True
    if ctx.guards.tool_policies:
        blocked = [
            (call, reason)
            for call in answer_tool_calls(obj, ctx.endpoint)
            if (reason := check_tool_call(ctx, call.name, call.arguments, path_text(call.path)))
        ]
        if blocked:
            _replace_blocked(obj, ctx.endpoint, blocked)
            changed = True
    return orjson.dumps(obj) if changed else body


def check_tool_call(ctx: RequestContext, name: str, arguments: str, where: str) -> str | None:
    """None when every tool policy allows the call, else the notice that replaces it."""
    notice = None
    for guardrail, policy in ctx.guards.tool_policies:
        verdict = policy.check(name, arguments, context_untrusted=ctx.context_untrusted)
        ctx.decisions.append(
            Decision(
                guardrail=guardrail,
                type="tool_policies",
                action=verdict.action if not verdict.allowed else "allow",
                direction="response",
                where=where,
                rule=verdict.rule,
            )
        )
        if not verdict.allowed and notice is None:
            notice = (
                f"Palisade blocked the tool call `{name}`: guardrail `{guardrail}`, "
                f"rule `{verdict.rule or 'default'}`: {verdict.reason}"
            )
    return notice


def _replace_blocked(
    obj: dict[str, Any], endpoint: str, blocked: list[tuple[ToolCallSlot, str]]
) -> None:
    if endpoint == "responses":
        for call, notice in blocked:
            call.holder[call.position] = _message_item(call.position, notice)
        return
    for call, notice in reversed(blocked):
        del call.holder[call.position]
        choice = obj["choices"][call.path[1]]
        message = choice["message"]
        content = message.get("content")
        message["content"] = (
            f"{content}\n\n{notice}" if isinstance(content, str) and content else notice
        )
        if not call.holder:
            message.pop("tool_calls", None)
            if choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"


# --- streams ---------------------------------------------------------------------------------


class _Text:
    """One streamed text (a choice's content): redactor, then un-masker."""

    __slots__ = ("redactor", "unmasker", "where")

    def __init__(self, redactor: StreamRedactor | None, unmasker: Unmasker | None, where: str):
        self.redactor = redactor
        self.unmasker = unmasker
        self.where = where


class _Call:
    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type = "function"
        self.name = ""
        self.arguments = ""


class StreamBlocked(Exception):
    """A response guardrail blocked the stream; `error` is the event that ends it."""

    def __init__(self, error: GuardrailViolation) -> None:
        super().__init__(error.message)
        self.error = error


class StreamGuard:
    """Guards one streamed answer (chat completions and completions: choices with text deltas
    and tool-call deltas; the Responses API: `response.output_text.delta` events, with the
    final texts in the `done` events redacted alike)."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.plan = ctx.guards.response_scan
        self.texts: dict[tuple[int, int], _Text] = {}
        self.calls: dict[int, dict[int, _Call]] = {}
        self.hold_calls = bool(ctx.guards.tool_policies or self.plan or ctx.masker)
        # Responses API: events of function calls not yet judged, and blocked calls' notices,
        # by output index.
        self.held: dict[int, list[dict[str, Any]]] = {}
        self.blocked: dict[int, str] = {}
        self.sequence: int | None = None

    def transform(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """One event's JSON, rewritten in place; returns the events to send in its stead."""
        if self.ctx.endpoint == "responses":
            return self._responses_event(obj)
        choices = obj.get("choices")
        if not isinstance(choices, list):
            return [obj]
        field = "text" if self.ctx.endpoint == "completions" else "content"
        kept = []
        for choice in choices:
            if not isinstance(choice, dict):
                kept.append(choice)
                continue
            index = choice.get("index", 0)
            index = index if isinstance(index, int) else 0
            holder = choice if field == "text" else choice.get("delta")
            if not isinstance(holder, dict):
                kept.append(choice)
                continue
            text = holder.get(field)
            if isinstance(text, str) and text:
                holder[field] = self._feed((index, 0), text, f"choices[{index}].delta.{field}")
            calls = holder.get("tool_calls")
            if self.hold_calls and isinstance(calls, list):
                self._hold(index, calls)
                del holder["tool_calls"]
            if choice.get("finish_reason") is not None:
                self._finish_choice(index, choice, holder, field)
            if (
                holder.get(field)
                or choice.get("finish_reason") is not None
                or len(holder) > 1
                or (field == "content" and "role" in holder)
            ):
                kept.append(choice)
        obj["choices"] = kept
        return [obj] if kept or obj.get("usage") is not None else []

    def finish(self) -> None:
        """End of stream: whatever text is still held. A stream that ends without a finish
        chunk has no place left for it, so it is dropped rather than sent unchecked."""
        for text in self.texts.values():
            if text.redactor is not None:
                text.redactor.finish()
                self._check(text)

    # chat / completions

    def _feed(self, key: tuple[int, int], chunk: str, where: str) -> str:
        text = self.texts.get(key)
        if text is None:
            redactor = self.plan.scanner.stream(kinds=self.plan.redact_kinds) if self.plan else None
            masker = self.ctx.masker
            text = _Text(redactor, masker.unmask_stream() if masker else None, where)
            self.texts[key] = text
        out = chunk
        if text.redactor is not None:
            out = text.redactor.feed(out)
            self._check(text)
        if text.unmasker is not None:
            out = text.unmasker.feed(out)
        return out

    def _flush(self, key: tuple[int, int]) -> str:
        text = self.texts.pop(key, None)
        if text is None:
            return ""
        out = ""
        if text.redactor is not None:
            out = text.redactor.finish()
            self._check(text)
        if text.unmasker is not None:
            out = text.unmasker.feed(out) + text.unmasker.finish()
        return out

    def _check(self, text: _Text) -> None:
        assert text.redactor is not None
        assert self.plan is not None
        matches = text.redactor.take_matches()
        if matches:
            try:
                self.plan.judge(matches, text.where, "response", self.ctx.decisions)
            except GuardrailViolation as exc:
                raise StreamBlocked(exc) from None

    def _hold(self, index: int, deltas: list[Any]) -> None:
        calls = self.calls.setdefault(index, {})
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            position = delta.get("index", 0)
            call = calls.setdefault(position if isinstance(position, int) else 0, _Call())
            if isinstance(delta.get("id"), str):
                call.id = delta["id"]
            if isinstance(delta.get("type"), str):
                call.type = delta["type"]
            fn = delta.get("function")
            if isinstance(fn, dict):
                call.name += fn.get("name") or ""
                call.arguments += fn.get("arguments") or ""

    def _finish_choice(
        self, index: int, choice: dict[str, Any], holder: dict[str, Any], field: str
    ) -> None:
        rest = self._flush((index, 0))
        notices = []
        released: list[dict[str, Any]] = []
        for position, call in sorted(self.calls.pop(index, {}).items()):
            path = ("choices", index, "delta", "tool_calls", position)
            arguments = call.arguments
            if self.plan is not None:
                arguments, _ = self.plan.redact(
                    arguments, (*path, "arguments"), "response", self.ctx.decisions
                )
            if self.ctx.masker is not None:
                arguments = self.ctx.masker.unmask(arguments)
            notice = check_tool_call(self.ctx, call.name, arguments, path_text(path))
            if notice:
                notices.append(notice)
                continue
            released.append(
                {
                    "index": len(released),
                    "id": call.id,
                    "type": call.type,
                    "function": {"name": call.name, "arguments": arguments},
                }
            )
        text = holder.get(field) or ""
        text += rest
        if notices:
            text += ("\n\n" if text else "") + "\n".join(notices)
            if not released and choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"
        if text:
            holder[field] = text
        if released:
            holder["tool_calls"] = released

    # Responses API

    def _responses_event(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._responses_events(obj)
        # Events were added or held back: renumber so that sequence numbers keep increasing
        # in the order the client receives them.
        for event in out:
            if isinstance(event.get("sequence_number"), int):
                if self.sequence is None:
                    self.sequence = event["sequence_number"]
                event["sequence_number"] = self.sequence
                self.sequence += 1
        return out

    def _responses_events(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        kind = obj.get("type")
        index = _int(obj.get("output_index"))
        out = self._responses_texts(obj, kind, index)
        if not self.ctx.guards.tool_policies:
            return out
        # A function call's events are held from its `added` to its `done`, then released or
        # replaced by a message that says why it was blocked.
        item = obj.get("item")
        if kind == "response.output_item.added" and _is_call(item):
            self.held[index] = out
            return []
        if kind == "response.output_item.done" and index in self.held:
            held = self.held.pop(index)
            assert isinstance(item, dict)
            notice = check_tool_call(
                self.ctx, _str(item.get("name")), _str(item.get("arguments")), f"output[{index}]"
            )
            if notice is None:
                return [*held, *out]
            self.blocked[index] = notice
            return _message_events(obj, index, notice)
        if index in self.held and kind != "response.completed":
            self.held[index].extend(out)
            return []
        if kind in ("response.completed", "response.incomplete") and self.blocked:
            output = obj.get("response", {}).get("output")
            if isinstance(output, list):
                for position, notice in self.blocked.items():
                    if position < len(output):
                        output[position] = _message_item(position, notice)
        return out

    def _responses_texts(
        self, obj: dict[str, Any], kind: object, index: int
    ) -> list[dict[str, Any]]:
        if kind in _RESPONSES_DELTAS and isinstance(obj.get("delta"), str):
            key = (index, _int(obj.get("content_index")) if kind == _TEXT_DELTA else -1)
            where = f"output[{index}]" + (f".content[{key[1]}]" if key[1] >= 0 else ".arguments")
            obj["delta"] = self._feed(key, obj["delta"], where)
            return [obj]
        out = []
        if kind in _RESPONSES_DONE:
            delta_kind = _TEXT_DELTA if kind == "response.output_text.done" else _ARGS_DELTA
            key = (index, _int(obj.get("content_index")) if delta_kind == _TEXT_DELTA else -1)
            rest = self._flush(key)
            if rest:  # the held tail, before the event that closes its text
                tail = {k: v for k, v in obj.items() if k not in ("text", "arguments")}
                out.append({**tail, "type": delta_kind, "delta": rest})
        if kind in _RESPONSES_WHOLE:
            self._whole_texts(obj)
        out.append(obj)
        return out

    def _whole_texts(self, obj: dict[str, Any]) -> None:
        """Final texts repeat what the deltas carried: redacted and un-masked alike (a stream
        redactor's output equals a whole-text redaction), without recording decisions twice."""

        def fix(text: str) -> str:
            if self.plan is not None and self.plan.redact_kinds:
                text = self.plan.scanner.redact(text, kinds=self.plan.redact_kinds).text
            if self.ctx.masker is not None:
                text = self.ctx.masker.unmask(text)
            return text

        _map_texts(obj, fix)


_TEXT_DELTA = "response.output_text.delta"
_ARGS_DELTA = "response.function_call_arguments.delta"
_RESPONSES_DELTAS = frozenset({_TEXT_DELTA, _ARGS_DELTA})
_RESPONSES_DONE = frozenset({"response.output_text.done", "response.function_call_arguments.done"})
# Events that repeat finished texts in full.
_RESPONSES_WHOLE = _RESPONSES_DONE | {
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
    "response.incomplete",
}


def _map_texts(node: Any, fix: Callable[[str], str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "arguments") and isinstance(value, str):
                node[key] = fix(value)
            elif isinstance(value, dict | list):
                _map_texts(value, fix)
    elif isinstance(node, list):
        for value in node:
            _map_texts(value, fix)


def _is_call(item: object) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call"


def _message_item(index: int, notice: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"msg_palisade_{index}",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": notice, "annotations": []}],
    }


def _message_events(done: dict[str, Any], index: int, notice: str) -> list[dict[str, Any]]:
    """The events of a whole assistant message, in place of a blocked function call."""
    item = _message_item(index, notice)
    seq = {"sequence_number": done["sequence_number"]} if "sequence_number" in done else {}
    at = {"item_id": item["id"], "output_index": index, "content_index": 0, **seq}
    part = item["content"][0]
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
            **seq,
        },
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        {"type": "response.output_text.delta", **at, "delta": notice, "logprobs": []},
        {"type": "response.output_text.done", **at, "text": notice, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item, **seq},
    ]


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
