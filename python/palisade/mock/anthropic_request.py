"""Reading a Messages request (`/v1/messages` and its `count_tokens`), refusing as Anthropic does.

Refusals use the API's `path: problem` wording. Only what a client can plausibly get wrong is
checked; fields the mock does not know pass, so that a newer client still gets an answer.

A `role: "system"` message (a mid-conversation system message, which Claude Code sends to
models it does not know) is accepted after a user turn, as the API does for the models that take
it; the mock serves every model name, so it takes them for all.

Tokens are counted as the OpenAI side counts them (`content.count_tokens`, a per-message
overhead, the reply priming), in the order the API caches a prompt: tools, system, messages.
All tokens up to the last `cache_control` breakpoint (all of them under a top-level
`cache_control`) count as read from the cache: the mock keeps no cache to miss, and the gateway's
cache accounting needs reads to account. The minimum cacheable length is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import orjson

from palisade.mock.content import MESSAGE_OVERHEAD, REPLY_PRIMING, content_text, count_tokens
from palisade.mock.errors import InvalidRequest

MAX_BREAKPOINTS = 4
ROLES = ("user", "assistant", "system")
TOOL_CHOICES = ("auto", "any", "tool", "none")
# The fields each block type needs and their JSON types; other block types pass unchecked.
_BLOCK_FIELDS: dict[str, tuple[tuple[str, type], ...]] = {
    "text": (("text", str),),
    "image": (("source", dict),),
    "document": (("source", dict),),
    "tool_use": (("id", str), ("name", str), ("input", dict)),
    "tool_result": (("tool_use_id", str),),
    "thinking": (("thinking", str), ("signature", str)),
    "redacted_thinking": (("data", str),),
}
_TYPE_NAMES = {
    str: "a valid string",
    int: "a valid integer",
    dict: "a valid dictionary",
    list: "a valid list",
}


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    """What the reply is seeded with: the system prompt and the messages' texts."""
    tokens: int
    """All input tokens, cached or not (what `count_tokens` answers)."""
    cached: int
    """Of those, the ones read from the cache."""
    answers_tool: bool
    """The last turn is a user turn that returns tool results."""
    tool_rounds: int
    """The assistant turns that called tools."""


@dataclass(frozen=True, slots=True)
class ToolChoice:
    type: str
    name: str | None = None

    @property
    def forces(self) -> bool:
        return self.type in ("any", "tool")


def model(body: dict[str, Any]) -> str:
    value = body.get("model")
    if value is None:
        raise InvalidRequest("model: Field required")
    if not isinstance(value, str) or not value:
        raise InvalidRequest("model: Input should be a valid string")
    return value


def max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_tokens")
    if value is None:
        raise InvalidRequest("max_tokens: Field required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest("max_tokens: Input should be a valid integer")
    # 0 is allowed: it warms the prompt cache without generating.
    if value < 0:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 0")
    return value


def stop_sequences(body: dict[str, Any]) -> list[str]:
    value = body.get("stop_sequences")
    if value is None:
        return []
    _expect(value, list, "stop_sequences")
    for index, item in enumerate(value):
        _expect(item, str, f"stop_sequences.{index}")
    return [s for s in value if s]


def tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    value = body.get("tools")
    if value is None:
        return []
    _expect(value, list, "tools")
    for index, tool in enumerate(value):
        _expect(tool, dict, f"tools.{index}")
        _field(tool, "name", str, f"tools.{index}")
        # Server tools (`web_search_...`, `bash_...`) have a versioned type and no schema.
        if tool.get("type") in (None, "custom"):
            _field(tool, "input_schema", dict, f"tools.{index}")
    return cast(list[dict[str, Any]], value)


def tool_choice(body: dict[str, Any], declared: list[dict[str, Any]]) -> ToolChoice:
    value = body.get("tool_choice")
    if value is None:
        return ToolChoice("auto")
    _expect(value, dict, "tool_choice")
    kind = value.get("type")
    if kind not in TOOL_CHOICES:
        raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if not declared:
        raise InvalidRequest("tool_choice may only be specified while providing tools.")
    if kind != "tool":
        return ToolChoice(kind)
    name = _field(value, "name", str, "tool_choice.tool")
    if all(tool["name"] != name for tool in declared):
        raise InvalidRequest(f"tool_choice.name: tool '{name}' is not among the provided tools")
    return ToolChoice(kind, name)


def thinking(body: dict[str, Any], limit: int, choice: ToolChoice) -> str | None:
    """How the answer shows its thinking (`"summarized"` or `"omitted"`), or None without."""
    value = body.get("thinking")
    if value is None:
        return None
    _expect(value, dict, "thinking")
    kind = value.get("type")
    # `between_tools` thinks only between tool calls: a single mock answer has none.
    if kind in ("disabled", "between_tools"):
        return None
    if kind not in ("enabled", "adaptive"):
        raise InvalidRequest("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    if kind == "enabled":
        budget = _field(value, "budget_tokens", int, "thinking.enabled")
        if budget < 1024:
            raise InvalidRequest(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if limit <= budget:
            raise InvalidRequest("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if choice.forces:
        raise InvalidRequest("Thinking may not be enabled when tool_choice forces tool use.")
    return "omitted" if value.get("display") == "omitted" else "summarized"


class _Tally:
    """Tokens in cache order, and how many of them precede the last breakpoint."""

    def __init__(self) -> None:
        self.tokens = 0
        self.cached = 0
        self.breakpoints = 0

    def add(self, text: str, overhead: int = 0) -> None:
        self.tokens += overhead + count_tokens(text)

    def mark(self, holder: dict[str, Any]) -> None:
        if isinstance(holder.get("cache_control"), dict):
            self.cached = self.tokens
            self.breakpoints += 1


def prompt(body: dict[str, Any]) -> Prompt:
    tally = _Tally()
    for tool in tools(body):
        # The breakpoint itself is no part of what the model reads.
        tally.add(orjson.dumps({k: v for k, v in tool.items() if k != "cache_control"}).decode())
        tally.mark(tool)
    texts = _system(body.get("system"), tally)
    messages = _messages(body)
    for index, message in enumerate(messages):
        texts.append(_message(message, index, index == len(messages) - 1, tally))
    _check_tool_pairs(messages)
    if isinstance(body.get("cache_control"), dict):
        tally.cached = tally.tokens
        tally.breakpoints += 1
    if tally.breakpoints > MAX_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {tally.breakpoints}."
        )
    turns = [m for m in messages if m["role"] != "system"]
    last = turns[-1] if turns else messages[-1]
    answers_tool = last["role"] == "user" and any(
        isinstance(block, dict) and block.get("type") == "tool_result"
        for block in _blocks(last["content"])
    )
    rounds = sum(
        1
        for m in turns
        if m["role"] == "assistant"
        and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in _blocks(m["content"]))
    )
    return Prompt(
        "\n".join(texts), tally.tokens + REPLY_PRIMING, tally.cached, answers_tool, rounds
    )


def _system(value: Any, tally: _Tally) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        tally.add(value)
        return [value]
    if not isinstance(value, list):
        raise InvalidRequest("system: Input should be a valid string or a list of text blocks")
    texts = []
    for index, block in enumerate(value):
        _expect(block, dict, f"system.{index}")
        if block.get("type") != "text":
            raise InvalidRequest(f"system.{index}.type: Input should be 'text'")
        text = _field(block, "text", str, f"system.{index}")
        if not text:
            raise InvalidRequest("system: text content blocks must be non-empty")
        tally.add(text)
        tally.mark(block)
        texts.append(text)
    return texts


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    value = body.get("messages")
    if value is None:
        raise InvalidRequest("messages: Field required")
    _expect(value, list, "messages")
    if not value:
        raise InvalidRequest("messages: at least one message is required")
    for index, message in enumerate(value):
        where = f"messages.{index}"
        _expect(message, dict, where)
        if message.get("role") not in ROLES:
            raise InvalidRequest(f"{where}.role: Input should be 'user', 'assistant' or 'system'")
        content = message.get("content")
        if content is None:
            raise InvalidRequest(f"{where}.content: Field required")
        if not isinstance(content, str | list):
            raise InvalidRequest(f"{where}.content: Input should be a valid string or list")
    _check_system_places(value)
    return cast(list[dict[str, Any]], value)


def _check_system_places(messages: list[dict[str, Any]]) -> None:
    """A system message goes after a user message (other system messages between), never
    straight before the next user message."""
    turn = None
    for index, message in enumerate(messages):
        role = message["role"]
        if role != "system":
            turn = role
            continue
        after = messages[index + 1]["role"] if index + 1 < len(messages) else None
        if turn != "user" or after == "user":
            raise InvalidRequest(
                f"messages.{index}: a system message must follow a user message and come before "
                "the next assistant turn"
            )


def _message(message: dict[str, Any], index: int, last: bool, tally: _Tally) -> str:
    where = f"messages.{index}"
    content = message["content"]
    if not content and not (last and message["role"] == "assistant"):
        # The one message that may be empty: a final assistant turn for the reply to continue.
        raise InvalidRequest(
            f"{where}: all messages must have non-empty content except for the optional final "
            "assistant message"
        )
    if isinstance(content, str):
        tally.add(content, MESSAGE_OVERHEAD)
        return content
    tally.add("", MESSAGE_OVERHEAD)
    texts = []
    for number, block in enumerate(content):
        text = _block(block, f"{where}.content.{number}")
        tally.add(text)
        tally.mark(block)
        texts.append(text)
    return "\n".join(texts)


def _block(block: Any, where: str) -> str:
    """Checks one content block; returns the text it puts before the model."""
    _expect(block, dict, where)
    kind = _field(block, "type", str, where)
    for name, expected in _BLOCK_FIELDS.get(kind, ()):
        _field(block, name, expected, where)
    if kind == "text" and not block["text"]:
        raise InvalidRequest("messages: text content blocks must be non-empty")
    if kind == "tool_use":
        return f"{block['name']}({orjson.dumps(block['input']).decode()})"
    if kind == "tool_result":
        return content_text(block.get("content"))
    if kind == "thinking":
        text: str = block["thinking"]
        return text
    if kind == "document":
        source = block["source"]
        data = source.get("data") if source.get("type") == "text" else None
        return data if isinstance(data, str) else content_text(source.get("content"))
    value = block.get("text")
    return value if isinstance(value, str) else ""


def _check_tool_pairs(messages: list[dict[str, Any]]) -> None:
    """Each `tool_use` is answered by a `tool_result` in the next turn, and only those are.

    Consecutive messages of one role are one turn to the API, so turns are compared.
    """
    turns: list[tuple[int, str, list[Any]]] = []
    for index, message in enumerate(messages):
        if message["role"] == "system":
            # Instructions between turns: they neither ask for nor answer a tool.
            continue
        blocks = _blocks(message["content"])
        if turns and turns[-1][1] == message["role"]:
            turns[-1][2].extend(blocks)
        else:
            turns.append((index, message["role"], list(blocks)))
    asked: list[str] = []
    asker = 0
    for index, role, blocks in turns:
        answered = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
        if role == "assistant":
            asked, asker = [b["id"] for b in blocks if b.get("type") == "tool_use"], index
            continue
        missing = [i for i in asked if i not in answered]
        if missing:
            raise InvalidRequest(
                f"messages.{asker}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        unexpected = [i for i in answered if i not in asked]
        if unexpected:
            raise InvalidRequest(
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {', '.join(unexpected)}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
        asked = []


def _blocks(content: str | list[Any]) -> list[Any]:
    return [] if isinstance(content, str) else content


def _expect(value: Any, expected: type, where: str) -> None:
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise InvalidRequest(f"{where}: Input should be {_TYPE_NAMES[expected]}")


def _field(holder: dict[str, Any], name: str, expected: type, where: str) -> Any:
    if name not in holder:
        raise InvalidRequest(f"{where}.{name}: Field required")
    _expect(holder[name], expected, f"{where}.{name}")
    return holder[name]
