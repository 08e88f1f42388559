"""The SSE parser binding: chunking never changes the events, and an independent parser agrees.

The oracle is httpx-sse's decoder (line splitting on CR, LF and CRLF only, with a CR held back
across chunk boundaries; `id` persisting across events; `retry` per event). Its known
deviations from the WHATWG rules, and how the oracle inputs avoid them:
- It dispatches on a blank line that ends a block without any `data` line once `event`, `id` or
  `retry` has been seen; the spec dispatches nothing. Oracle inputs end every block that a
  blank line closes with at least one `data` line.
- It parses `retry` with `int()`, which accepts spaces, signs, underscores and non-ASCII digits;
  the spec takes ASCII digits only. Oracle `retry` values are ASCII digits or contain an ASCII
  letter, so both sides accept or reject them alike; digit runs stay below 19 digits, where our
  parser saturates instead of growing without bound.
- It takes text, not bytes: the stream is decoded with the `utf-8-sig` codec (which, like the
  spec's decoder, drops one leading BOM). Oracle inputs are valid UTF-8; invalid bytes are
  covered by the chunking property instead.
"""

from __future__ import annotations

import codecs
import json

from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from palisade._core import SseEvent, SseParser

EventTuple = tuple[str, str, str, int | None]

BOM = "\ufeff"
EOLS = st.sampled_from(["\n", "\r", "\r\n"])
# Line separators that are not SSE line breaks must stay inside values.
VALUE_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_characters="\r\n"),
        st.sampled_from([":", " ", "\u0085", "\u2028", "\x0b", "\x0c", "\x00", "é", "日", "🙂"]),
    ),
    max_size=12,
)
RETRY_VALUE = st.one_of(
    st.from_regex(r"[0-9]{1,18}", fullmatch=True),
    st.from_regex(r"[0-9]*[a-z][0-9a-z.]*", fullmatch=True),
)


def tuples(events: list[SseEvent]) -> list[EventTuple]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def feed_in_chunks(stream: bytes, cuts: list[int]) -> tuple[list[EventTuple], bool]:
    parser = SseParser()
    events: list[SseEvent] = []
    start = 0
    for cut in [*sorted(c % (len(stream) + 1) for c in cuts), len(stream)]:
        events += parser.feed(stream[start:cut])
        start = cut
    return tuples(events), parser.finish()


@st.composite
def field_line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["data", "data", "event", "id", "retry", "comment", "other"]))
    if kind == "comment":
        return ":" + draw(VALUE_TEXT)
    if kind == "other":
        return draw(st.sampled_from(["Data", "data ", "ids", "x"])) + ":" + draw(VALUE_TEXT)
    if kind == "retry":
        # A second space would survive into the value, which int() accepts and the spec not.
        value, seps = draw(RETRY_VALUE), [": ", ":", None]
    else:
        value, seps = draw(VALUE_TEXT), [": ", ":", ":  ", None]
    sep = draw(st.sampled_from(seps))
    return kind if sep is None else kind + sep + value


@st.composite
def any_stream(draw: st.DrawFn) -> bytes:
    """Any sequence of lines, blank ones included, with mixed line endings and raw bytes."""
    lines = draw(st.lists(st.one_of(field_line(), st.just("")), max_size=25))
    out = bytearray(draw(st.sampled_from([b"", BOM.encode(), (BOM * 2).encode()])))
    for line in lines:
        out += line.encode() + draw(EOLS).encode()
        if draw(st.integers(0, 9)) == 0:
            out += draw(st.binary(max_size=3))
    return bytes(out)


@st.composite
def oracle_stream(draw: st.DrawFn) -> bytes:
    """Blocks that each carry a data line, closed by a blank line; maybe a cut-off last one."""
    text = draw(st.sampled_from(["", BOM]))
    for _ in range(draw(st.integers(0, 6))):
        lines = draw(st.lists(field_line(), max_size=5))
        lines.insert(draw(st.integers(0, len(lines))), "data" + draw(st.sampled_from([": ", ":"])))
        for line in [*lines, ""]:
            text += line + draw(EOLS)
    if draw(st.booleans()):
        text += "data: cut off" + draw(st.sampled_from(["", "\n", "\r"]))
    return text.encode()


def oracle_events(stream: bytes) -> list[EventTuple]:
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="strict").decode(stream, final=True)
    lines_decoder = SSELineDecoder()
    decoder = SSEDecoder()
    events = []
    for line in lines_decoder.decode(text) + lines_decoder.flush():
        event = decoder.decode(line)
        if event is not None:
            events.append((event.event, event.data, event.id, event.retry))
    return events


@settings(max_examples=400, deadline=None)
@given(stream=any_stream(), cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_any_split_yields_the_events_of_the_whole(stream: bytes, cuts: list[int]) -> None:
    assert feed_in_chunks(stream, cuts) == feed_in_chunks(stream, [])


@settings(max_examples=200, deadline=None)
@given(stream=any_stream())
def test_byte_by_byte_equals_whole(stream: bytes) -> None:
    assert feed_in_chunks(stream, list(range(len(stream)))) == feed_in_chunks(stream, [])


@settings(max_examples=400, deadline=None)
@given(stream=oracle_stream(), cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_agrees_with_httpx_sse(stream: bytes, cuts: list[int]) -> None:
    events, _ = feed_in_chunks(stream, cuts)
    assert events == oracle_events(stream)


def test_agreement_on_hand_picked_streams() -> None:
    streams = [
        b"data: a\r\n\r\ndata: b\r\rdata: c\n\n",
        BOM.encode() + b"data:x\n\n",
        b"event: add\ndata: 1\ndata:2\nid: 7\nretry: 15\n\ndata: next\n\n",
        b"id: a\x00b\ndata: nul id ignored\n\nretry: 1a\ndata: bad retry\n\n",
        b"data\n\ndata:\n\n: comment only inside\ndata:  two spaces\n\n",
        "data: caf\u00e9 \u2028 \u0085 日本\n\n".encode(),
        b"data: unfinished\n",
    ]
    for stream in streams:
        events, _ = feed_in_chunks(stream, [])
        assert events == oracle_events(stream), stream


def test_finish_reports_a_cut_off_event() -> None:
    parser = SseParser()
    assert [e.data for e in parser.feed(b"data: a\n\ndata: b\n")] == ["a"]
    assert parser.finish() is True
    assert parser.finish() is False


def test_large_chunks_parse_the_same_as_small_ones() -> None:
    # Chunks over the extension's GIL-release threshold take the detached path.
    body = b"".join(
        b"data: " + json.dumps({"i": i, "delta": {"content": "tok " * 5}}).encode() + b"\n\n"
        for i in range(2000)
    )
    whole, _ = feed_in_chunks(body, [])
    assert len(whole) == 2000
    assert feed_in_chunks(body, list(range(0, len(body), 65536))) == (whole, False)
    assert feed_in_chunks(body, list(range(0, len(body), 7))) == (whole, False)
