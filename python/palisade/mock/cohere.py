"""`POST /v2/chat` and `POST /v2/embed` (Cohere's v2 API).

An answer is planned once from the request and then written whole or streamed
(`cohere_stream`): tool calls (with a `tool_plan`) or one text content, with citations of the
`documents` when the request gives some. As on the other sides, tools are called only when told
to (`tool_choice: REQUIRED`, or the `mock.tool_calls` knob), and a turn that returns tool results
is answered with text unless the knob says otherwise, so that a client's tool loop ends.

Usage: see `cohere_answer`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from palisade.mock import params
from palisade.mock.cohere_answer import Answer
from palisade.mock.cohere_errors import STREAM_ERROR, error_event
from palisade.mock.cohere_stream import events
from palisade.mock.content import count_tokens, reply_for, seed, truncate_tokens
from palisade.mock.embeddings import vector
from palisade.mock.errors import InvalidRequest
from palisade.mock.ids import new_id
from palisade.mock.knobs import Knobs
from palisade.mock.sse import EventStream, breaking_off, pause
from palisade.mock.tools import arguments_for

ROLES = frozenset({"system", "user", "assistant", "tool"})
EMBED_DIMENSIONS = 1024
EMBEDDING_TYPES = frozenset({"float", "int8", "uint8", "binary", "ubinary", "base64"})


async def chat(body: dict[str, Any], knobs: Knobs) -> Response:
    answer = plan(body, knobs)
    if body.get("stream") is True:
        stream = events(answer, knobs)
        if knobs.fail == "stream_error":
            stream = breaking_off(stream, knobs.fail_after_chunks, error_event(STREAM_ERROR))
        return EventStream(stream, abort_after=knobs.abort_after)
    await pause(knobs.latency_ms)
    return params.json_response(answer.whole())


def plan(body: dict[str, Any], knobs: Knobs) -> Answer:
    model = params.model(body)
    messages = params.required_list(body, "messages")
    texts: list[str] = []
    rounds = 0
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise InvalidRequest(f"messages[{i}].role must be one of system, user, assistant, tool")
        texts.append(_text(message.get("content")))
        if isinstance(message.get("tool_plan"), str):
            texts.append(message["tool_plan"])
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            rounds += 1
            texts.append(orjson.dumps(calls).decode())
    documents = _documents(body.get("documents"))
    texts.extend(orjson.dumps(d["data"]).decode() for d in documents)
    declared = _tools(body.get("tools"))
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("REQUIRED", "NONE"):
        raise InvalidRequest("tool_choice must be one of REQUIRED, NONE")
    if choice is not None and not declared:
        raise InvalidRequest("tool_choice requires tools")
    limit = body.get("max_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidRequest("max_tokens must be a positive integer")
    stops = body.get("stop_sequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise InvalidRequest("stop_sequences must be a list of strings")
    prompt = "\n".join(texts)
    input_tokens = count_tokens(prompt) + count_tokens(orjson.dumps(declared).decode())
    key = seed(model, prompt)
    answers_tool = (
        bool(messages) and isinstance(messages[-1], dict) and (messages[-1].get("role") == "tool")
    )
    calls = _calls(knobs, declared, choice, rounds, answers_tool, key)
    if calls:
        names = ", ".join(c["function"]["name"] for c in calls)
        tool_plan = f"I will call {names}."
        spent = count_tokens(tool_plan) + sum(
            count_tokens(c["function"]["arguments"]) for c in calls
        )
        return Answer(
            new_id(""), None, tool_plan, tuple(calls), (), "TOOL_CALL", input_tokens, spent
        )
    text = knobs.reply if knobs.reply is not None else reply_for(key)
    finish = "COMPLETE"
    hits = [text.index(s) for s in stops if s and s in text]
    if hits:
        text, finish = text[: min(hits)], "STOP_SEQUENCE"
    if limit is not None and count_tokens(text) > limit:
        text, finish = truncate_tokens(text, limit), "MAX_TOKENS"
    citations = _citations(text, documents)
    return Answer(new_id(""), text, None, (), citations, finish, input_tokens, count_tokens(text))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    out: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part.get("document"), dict):
                out.append(orjson.dumps(part["document"]).decode())
    return "\n".join(out)


def _documents(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest("documents must be a list")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append({"id": f"doc:{i}", "data": {"text": item}})
        elif isinstance(item, dict) and "data" in item:
            data = item["data"]
            doc_id = item.get("id") if isinstance(item.get("id"), str) else f"doc:{i}"
            out.append({"id": doc_id, "data": data if isinstance(data, dict) else {"text": data}})
        else:
            raise InvalidRequest(f"documents[{i}] must be a string or an object with data")
    return out


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest("tools must be a list")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(value):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            raise InvalidRequest(f"tools[{i}] must be a function tool")
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise InvalidRequest(f"tools[{i}].function.name is required")
        out.append(fn)
    return out


def _calls(
    knobs: Knobs,
    declared: list[dict[str, Any]],
    choice: Any,
    rounds: int,
    answers_tool: bool,
    key: bytes,
) -> list[dict[str, Any]]:
    forced = knobs.forced_calls(rounds)
    if forced is not None:
        specs = [(c.name, c.arguments) for c in forced]
    elif choice == "REQUIRED" and not answers_tool:
        tool = declared[0]
        arguments = arguments_for(tool.get("parameters"), tool["name"])
        specs = [(tool["name"], orjson.dumps(arguments).decode())]
    else:
        return []
    return [
        {
            "id": f"{name}_{seed(key.hex(), str(i)).hex()[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        for i, (name, arguments) in enumerate(specs)
    ]


def _citations(text: str, documents: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """One citation per document (at most three), each on one word of the text, in order."""
    words = [w for w in text.split(" ") if w]
    out: list[dict[str, Any]] = []
    at = 0
    for document, word in zip(documents[:3], words, strict=False):
        start = text.index(word, at)
        at = start + len(word)
        out.append(
            {
                "start": start,
                "end": at,
                "text": word,
                "sources": [
                    {
                        "type": "document",
                        "id": document["id"],
                        "document": {**document["data"], "id": document["id"]},
                    }
                ],
                "content_index": 0,
                "type": "TEXT_CONTENT",
            }
        )
    return tuple(out)


# --- embed -----------------------------------------------------------------------------------


async def embed(body: dict[str, Any], knobs: Knobs) -> Response:
    params.model(body)
    texts = body.get("texts")
    inputs = body.get("inputs")
    if texts is None and inputs is None:
        raise InvalidRequest("one of texts, images or inputs must be given")
    items: list[str] = []
    if texts is not None:
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest("texts must be a list of strings")
        items = list(texts)
    elif isinstance(inputs, list):
        items = [_text(i.get("content")) if isinstance(i, dict) else "" for i in inputs]
    if body.get("input_type") is None:
        raise InvalidRequest("input_type is required for embedding models v3 and higher")
    kinds = body.get("embedding_types") or ["float"]
    if not isinstance(kinds, list) or not set(kinds) <= EMBEDDING_TYPES:
        raise InvalidRequest("embedding_types must be a list of " + ", ".join(EMBEDDING_TYPES))
    dimensions = params.optional_int(body, "output_dimension", 1, 8192) or EMBED_DIMENSIONS
    vectors = [vector(text, dimensions).tolist() for text in items]
    embeddings: dict[str, Any] = {}
    for kind in kinds:
        if kind == "float":
            embeddings["float"] = vectors
        elif kind in ("int8", "binary"):
            embeddings[kind] = [
                [max(-128, min(127, round(v * 127))) for v in vec] for vec in vectors
            ]
        elif kind in ("uint8", "ubinary"):
            embeddings[kind] = [[round((v + 1) * 127.5) for v in vec] for vec in vectors]
        else:
            embeddings[kind] = [orjson.dumps(vec).decode() for vec in vectors]
    tokens = sum(count_tokens(t) for t in items)
    await pause(knobs.latency_ms)
    return params.json_response(
        {
            "id": new_id(""),
            "embeddings": embeddings,
            "texts": items,
            "meta": {
                "api_version": {"version": "2"},
                "billed_units": {"input_tokens": tokens},
            },
            "response_type": "embeddings_by_type",
        }
    )
