"""In-process cost of OpenAI <-> Anthropic translation: per non-stream request (the request
translated one way plus its answer translated back) and per stream event, both directions, and
for an OpenAI Responses API client (through chat both ways).

Usage: python benches/translate_bench.py [--seconds S] [--out bench-results/translate.json]

Bodies are realistic: a ~1.5 KB agent turn with a system prompt, two tools, a tool call and its
result (OpenAI side, in chat and in Responses form), a Claude-Code-shaped request of the same
size (Anthropic side), and a
stream of ~60 events with thinking, text and a tool call whose input arrives in pieces. Each row
is timed twice: the translation alone (dicts in, dicts out: the relay has the parsed body
already) and with the orjson parse and dump a relay would add around it. Reported: the mean
over the whole run, and the best of many short batches (the machine is shared; the best batch
is the closest to the uncontended cost). Targets (the issue): <= 30 µs per non-stream request,
<= 3 µs per stream event.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import orjson

from palisade.providers.anthropic.translate import (
    chat_answer_to_messages,
    chat_request_to_messages,
    messages_answer_to_chat,
    messages_request_to_chat,
)
from palisade.providers.anthropic.translate_stream import ChatStreamToMessages, MessagesStreamToChat
from palisade.providers.catalog import Translations
from palisade.providers.openai import RESPONSES
from palisade.providers.translation import Notes

REQUEST_TARGET_US = 30.0
EVENT_TARGET_US = 3.0

SYSTEM = (
    "You are a support agent for Acme Cloud. Answer briefly and precisely. Use the tools to look "
    "up orders and shipping status; never guess an order number. If the customer asks for a "
    "refund, check the order state first and explain the policy: refunds within 30 days of "
    "delivery, store credit after. Reply in the customer's language."
)
ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "description": "The order number, e.g. A-10293"},
        "include_items": {"type": "boolean", "description": "Whether to list the items"},
    },
    "required": ["order_id"],
}
SHIPPING_SCHEMA = {
    "type": "object",
    "properties": {
        "tracking_id": {"type": "string"},
        "carrier": {"type": "string", "enum": ["ups", "dhl", "fedex"]},
    },
    "required": ["tracking_id"],
}
ORDER_RESULT = (
    '{"order_id":"A-10293","state":"shipped","placed":"2024-05-02","tracking_id":"1Z999AA10123456784",'
    '"carrier":"ups","items":[{"sku":"KB-88","name":"Mechanical keyboard","qty":1}]}'
)

CHAT_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet",
    "max_completion_tokens": 1024,
    "temperature": 0.3,
    "user": "customer-8812",
    "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Hi, where is my order A-10293? It was due on Monday."},
        {
            "role": "assistant",
            "content": "Let me look that up.",
            "tool_calls": [
                {
                    "id": "call_8Hq2kLm3",
                    "type": "function",
                    "function": {
                        "name": "get_order",
                        "arguments": '{"order_id":"A-10293","include_items":true}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_8Hq2kLm3", "content": ORDER_RESULT},
        {"role": "user", "content": "Can you also tell me when it will arrive?"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_order",
                "description": "Look up an order",
                "parameters": ORDER_SCHEMA,
            },
        },
        {
            "type": "function",
            "function": {
                "name": "track_shipment",
                "description": "Shipping status of a parcel",
                "parameters": SHIPPING_SCHEMA,
            },
        },
    ],
    "tool_choice": "auto",
}
# The same turn as the Responses API writes it: instructions, flat tools, call and output items.
RESPONSES_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet",
    "max_output_tokens": 1024,
    "temperature": 0.3,
    "user": "customer-8812",
    "instructions": SYSTEM,
    "input": [
        {"role": "user", "content": "Hi, where is my order A-10293? It was due on Monday."},
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_01",
            "status": "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": "Let me look that up.",
                    "annotations": [],
                    "logprobs": [],
                }
            ],
        },
        {
            "type": "function_call",
            "id": "fc_01",
            "call_id": "call_8Hq2kLm3",
            "name": "get_order",
            "arguments": '{"order_id":"A-10293","include_items":true}',
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": "call_8Hq2kLm3", "output": ORDER_RESULT},
        {"role": "user", "content": "Can you also tell me when it will arrive?"},
    ],
    "tools": [
        {
            "type": "function",
            "name": "get_order",
            "description": "Look up an order",
            "parameters": ORDER_SCHEMA,
            "strict": False,
        },
        {
            "type": "function",
            "name": "track_shipment",
            "description": "Shipping status of a parcel",
            "parameters": SHIPPING_SCHEMA,
            "strict": False,
        },
    ],
    "tool_choice": "auto",
}
ANTHROPIC_ANSWER: dict[str, Any] = {
    "id": "msg_01H8rT4nGvX2Qp9s",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet",
    "content": [
        {"type": "text", "text": "It shipped with UPS; let me check the tracking."},
        {
            "type": "tool_use",
            "id": "toolu_01Abc",
            "name": "track_shipment",
            "input": {"tracking_id": "1Z999AA10123456784", "carrier": "ups"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 412,
        "output_tokens": 61,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    },
}
# A Claude Code-shaped request: system blocks with cache_control, block content, metadata.
ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": "gpt-4.1",
    "max_tokens": 1024,
    "stream": False,
    "metadata": {"user_id": "user_3f9a"},
    "system": [
        {"type": "text", "text": SYSTEM[:120]},
        {"type": "text", "text": SYSTEM[120:], "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<context>The customer is on the Pro plan.</context>"},
                {"type": "text", "text": "Hi, where is my order A-10293? It was due on Monday."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look that up."},
                {
                    "type": "tool_use",
                    "id": "toolu_01Xyz",
                    "name": "get_order",
                    "input": {"order_id": "A-10293", "include_items": True},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01Xyz", "content": ORDER_RESULT},
                {"type": "text", "text": "Can you also tell me when it will arrive?"},
            ],
        },
    ],
    "tools": [
        {"name": "get_order", "description": "Look up an order", "input_schema": ORDER_SCHEMA},
        {
            "name": "track_shipment",
            "description": "Shipping status of a parcel",
            "input_schema": SHIPPING_SCHEMA,
        },
    ],
    "tool_choice": {"type": "auto"},
}
CHAT_ANSWER: dict[str, Any] = {
    "id": "chatcmpl-9xQ2aBcD",
    "object": "chat.completion",
    "created": 1_717_000_000,
    "model": "gpt-4.1",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "It shipped with UPS; let me check the tracking.",
                "tool_calls": [
                    {
                        "id": "call_Zt81",
                        "type": "function",
                        "function": {
                            "name": "track_shipment",
                            "arguments": '{"tracking_id":"1Z999AA10123456784","carrier":"ups"}',
                        },
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": 412,
        "completion_tokens": 61,
        "total_tokens": 473,
        "prompt_tokens_details": {"cached_tokens": 0},
    },
}

SENTENCE = "Your parcel left the UPS hub in Louisville this morning and is due on Thursday."
WORDS = SENTENCE.split(" ")


def anthropic_events() -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {**ANTHROPIC_ANSWER, "content": [], "stop_reason": None},
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
    ]
    delta = "content_block_delta"
    for word in WORDS[:8]:
        events.append(
            (
                delta,
                {"type": delta, "index": 0, "delta": {"type": "thinking_delta", "thinking": word}},
            )
        )
    events.append(
        (
            delta,
            {"type": delta, "index": 0, "delta": {"type": "signature_delta", "signature": "Eq0="}},
        )
    )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
        )
    )
    for word in WORDS * 2:
        text = word + " "
        events.append(
            (delta, {"type": delta, "index": 1, "delta": {"type": "text_delta", "text": text}})
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "track_shipment",
                    "input": {},
                },
            },
        )
    )
    for piece in ('{"tracking', '_id": "1Z999A', "A10123456784", '", "carrier', '": "ups"}'):
        events.append(
            (
                delta,
                {
                    "type": delta,
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 2}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 88},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def chat_chunks() -> list[dict[str, Any] | str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-9xQ2aBcD",
            "object": "chat.completion.chunk",
            "created": 1_717_000_000,
            "model": "gpt-4.1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"reasoning_content": w}) for w in WORDS[:8]]
    chunks += [chunk({"content": w + " "}) for w in WORDS * 2]
    chunks.append(
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "track_shipment", "arguments": ""},
                    }
                ]
            }
        )
    )
    for piece in ('{"tracking', '_id":"1Z999A', "A10123456784", '","carrier', '":"ups"}'):
        chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, "tool_calls"))
    chunks.append(
        {
            "id": "chatcmpl-9xQ2aBcD",
            "object": "chat.completion.chunk",
            "created": 1_717_000_000,
            "model": "gpt-4.1",
            "choices": [],
            "usage": {"prompt_tokens": 412, "completion_tokens": 88, "total_tokens": 500},
        }
    )
    chunks.append("[DONE]")
    return chunks


class Row(TypedDict):
    case: str
    unit: str
    units_per_call: int
    calls: int
    mean_us: float
    best_us: float
    target_us: float


def measure(
    case: str, unit: str, per_call: int, fn: Callable[[], object], seconds: float, target: float
) -> Row:
    for _ in range(200):
        fn()
    batch = 200
    calls = 0
    best = float("inf")
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        now = time.perf_counter()
        best = min(best, (now - t0) / batch)
        calls += batch
    return Row(
        case=case,
        unit=unit,
        units_per_call=per_call,
        calls=calls,
        mean_us=(now - start) / calls / per_call * 1e6,
        best_us=best / per_call * 1e6,
        target_us=target,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("bench-results/translate.json"))
    args = parser.parse_args()
    s = args.seconds

    chat_request_bytes = orjson.dumps(CHAT_REQUEST)
    responses_request_bytes = orjson.dumps(RESPONSES_REQUEST)
    anthropic_answer_bytes = orjson.dumps(ANTHROPIC_ANSWER)
    anthropic_request_bytes = orjson.dumps(ANTHROPIC_REQUEST)
    chat_answer_bytes = orjson.dumps(CHAT_ANSWER)
    events = anthropic_events()
    event_bytes = [(kind, orjson.dumps(data)) for kind, data in events]
    chunks = chat_chunks()
    chunk_bytes = [c if isinstance(c, str) else orjson.dumps(c) for c in chunks]

    def openai_client_request() -> object:
        notes: Notes = []
        chat_request_to_messages(CHAT_REQUEST, notes)
        return messages_answer_to_chat(ANTHROPIC_ANSWER)

    def openai_client_request_json() -> object:
        notes: Notes = []
        orjson.dumps(chat_request_to_messages(orjson.loads(chat_request_bytes), notes))
        return orjson.dumps(messages_answer_to_chat(orjson.loads(anthropic_answer_bytes)))

    def responses_client_request() -> object:
        t = Translations().between(RESPONSES, "anthropic")
        t.request(RESPONSES_REQUEST)
        return t.answer(ANTHROPIC_ANSWER)

    def responses_client_request_json() -> object:
        t = Translations().between(RESPONSES, "anthropic")
        orjson.dumps(t.request(orjson.loads(responses_request_bytes)))
        return orjson.dumps(t.answer(orjson.loads(anthropic_answer_bytes)))

    def anthropic_client_request() -> object:
        notes: Notes = []
        messages_request_to_chat(ANTHROPIC_REQUEST, notes)
        return chat_answer_to_messages(CHAT_ANSWER)

    def anthropic_client_request_json() -> object:
        notes: Notes = []
        orjson.dumps(messages_request_to_chat(orjson.loads(anthropic_request_bytes), notes))
        return orjson.dumps(chat_answer_to_messages(orjson.loads(chat_answer_bytes)))

    def anthropic_stream() -> object:
        t = MessagesStreamToChat(include_usage=True)
        for kind, data in events:
            t.feed(kind, data)
        return t

    def anthropic_stream_json() -> object:
        t = MessagesStreamToChat(include_usage=True)
        dumps, loads = orjson.dumps, orjson.loads
        for kind, raw in event_bytes:
            for item in t.feed(kind, loads(raw)):
                if not isinstance(item, str):
                    dumps(item)
        return t

    def responses_stream() -> object:
        t = Translations().between(RESPONSES, "anthropic")
        for event in events:
            t.stream(event)
        return t

    def responses_stream_json() -> object:
        t = Translations().between(RESPONSES, "anthropic")
        dumps, loads = orjson.dumps, orjson.loads
        for kind, raw in event_bytes:
            for _, data in t.stream((kind, loads(raw))):
                dumps(data)
        return t

    def chat_stream() -> object:
        t = ChatStreamToMessages(model="claude-sonnet")
        for c in chunks:
            t.feed(c)
        return t

    def chat_stream_json() -> object:
        t = ChatStreamToMessages(model="claude-sonnet")
        dumps, loads = orjson.dumps, orjson.loads
        for raw in chunk_bytes:
            for _, data in t.feed(raw if isinstance(raw, str) else loads(raw)):
                dumps(data)
        return t

    rows = [
        measure(
            "openai client -> anthropic", "request", 1, openai_client_request, s, REQUEST_TARGET_US
        ),
        measure(
            "  + json parse/dump", "request", 1, openai_client_request_json, s, REQUEST_TARGET_US
        ),
        measure(
            "responses client -> anthropic",
            "request",
            1,
            responses_client_request,
            s,
            REQUEST_TARGET_US,
        ),
        measure(
            "  + json parse/dump",
            "request",
            1,
            responses_client_request_json,
            s,
            REQUEST_TARGET_US,
        ),
        measure(
            "anthropic client -> openai",
            "request",
            1,
            anthropic_client_request,
            s,
            REQUEST_TARGET_US,
        ),
        measure(
            "  + json parse/dump", "request", 1, anthropic_client_request_json, s, REQUEST_TARGET_US
        ),
        measure(
            "anthropic stream -> chunks", "event", len(events), anthropic_stream, s, EVENT_TARGET_US
        ),
        measure(
            "  + json parse/dump", "event", len(events), anthropic_stream_json, s, EVENT_TARGET_US
        ),
        measure(
            "anthropic stream -> responses",
            "event",
            len(events),
            responses_stream,
            s,
            EVENT_TARGET_US,
        ),
        measure(
            "  + json parse/dump", "event", len(events), responses_stream_json, s, EVENT_TARGET_US
        ),
        measure("openai stream -> events", "event", len(chunks), chat_stream, s, EVENT_TARGET_US),
        measure("  + json parse/dump", "event", len(chunks), chat_stream_json, s, EVENT_TARGET_US),
    ]
    sizes = {
        "chat_request_bytes": len(chat_request_bytes),
        "responses_request_bytes": len(responses_request_bytes),
        "anthropic_request_bytes": len(anthropic_request_bytes),
        "anthropic_stream_events": len(events),
        "chat_stream_chunks": len(chunks),
    }
    print(
        f"request bodies: OpenAI {sizes['chat_request_bytes']} B (Responses "
        f"{sizes['responses_request_bytes']} B), Anthropic "
        f"{sizes['anthropic_request_bytes']} B; streams: {len(events)} events, {len(chunks)} chunks"
    )
    print(f"{'case':<30}{'per':>9}{'mean µs':>10}{'best µs':>10}{'target':>8}")
    for r in rows:
        flag = "" if r["best_us"] <= r["target_us"] else "  OVER"
        print(
            f"{r['case']:<30}{r['unit']:>9}{r['mean_us']:>10.2f}{r['best_us']:>10.2f}"
            f"{r['target_us']:>8.1f}{flag}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "bench": "translate",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average": os.getloadavg(),
        "sizes": sizes,
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
