import orjson

from palisade._core import SseParser
from palisade.config import ProxyConfig
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.context import RequestContext
from palisade.pricing import Usage
from palisade.providers.openai import CHAT
from palisade.providers.openai.stream import hide_usage


def reframe(stream: bytes) -> tuple[bytes, RequestContext]:
    ctx = RequestContext(
        surface=CHAT,
        guards=ProxyGuards.build(ProxyConfig(id="default", name="default")),
        injected_stream_usage=True,
    )
    return hide_usage(ctx, SseParser().feed(stream)), ctx


def test_compact_usage_null_is_removed_without_touching_the_rest() -> None:
    out, ctx = reframe(
        b'data: {"id":"c","choices":[{"delta":{"content":"a,\\"usage\\":null"}}],"usage":null}\n\n'
    )
    assert out == b'data: {"id":"c","choices":[{"delta":{"content":"a,\\"usage\\":null"}}]}\n\n'
    assert ctx.usage is None


def test_spaced_usage_null_is_removed_through_json() -> None:
    out, _ = reframe(b'data: {"id": "c", "choices": [{"index": 0}], "usage": null}\n\n')
    assert orjson.loads(out.removeprefix(b"data: ")) == {"id": "c", "choices": [{"index": 0}]}


def test_usage_only_chunk_is_dropped_and_recorded() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    chunk = orjson.dumps({"id": "c", "choices": [], "usage": usage})
    out, ctx = reframe(b"data: " + chunk + b"\n\ndata: [DONE]\n\n")
    assert out == b"data: [DONE]\n\n"
    assert ctx.usage == Usage.from_provider(usage)


def test_usage_riding_on_a_content_chunk_is_recorded_and_removed() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    chunk = orjson.dumps({"id": "c", "choices": [{"index": 0}], "usage": usage})
    out, ctx = reframe(b"data: " + chunk + b"\n\n")
    assert orjson.loads(out.removeprefix(b"data: ")) == {"id": "c", "choices": [{"index": 0}]}
    assert ctx.usage == Usage.from_provider(usage)


def test_named_events_and_multi_line_data_keep_their_framing() -> None:
    out, _ = reframe(b"event: note\ndata: line one\ndata: line two\n\n")
    assert out == b"event: note\ndata: line one\ndata: line two\n\n"
