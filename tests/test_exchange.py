"""The exchange layer on its own, with small ASGI apps and hand-fed ASGI messages."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from palisade.disconnect import ClientDisconnected
from palisade.exchange import (
    REQUEST_ID_KEY,
    SWEEP_S,
    Body,
    BodyTimeout,
    BodyTooLarge,
    Deadlines,
    Exchange,
    next_request_id,
    stamp,
)


def scope(*headers: tuple[bytes, bytes], http_version: str = "1.1") -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/",
        "http_version": http_version,
        "headers": list(headers),
    }


def feeder(*messages: Message) -> Receive:
    """Gives `messages` in order, then waits forever (a client that sends no more)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


class Sink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def headers(self) -> dict[bytes, list[bytes]]:
        out: dict[bytes, list[bytes]] = {}
        for name, value in self.messages[0]["headers"]:
            out.setdefault(name, []).append(value)
        return out


def answering(status: int, *, read: bool, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["id"] = scope[REQUEST_ID_KEY]
        if read:
            while (await receive()).get("more_body"):
                pass
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app, seen


def exchange(app: Any, timeout_s: float = 5.0, min_rate: int = 1000) -> Exchange:
    return Exchange(app, Deadlines(timeout_s, min_rate))


BODY = (b"content-length", b"2")


async def test_every_answer_gets_the_request_id_the_app_saw() -> None:
    app, seen = answering(200, read=True)
    sink = Sink()
    await exchange(app)(scope(BODY), feeder({"type": "http.request", "body": b"{}"}), sink)
    rid = seen["id"].encode()
    assert rid.startswith(b"req_")
    assert sink.headers[b"x-palisade-request-id"] == [rid]
    assert sink.headers[b"x-request-id"] == [rid]
    assert b"connection" not in sink.headers


async def test_a_providers_request_id_is_kept_not_doubled() -> None:
    app, _ = answering(200, read=True, headers=[(b"X-Request-Id", b"req_provider")])
    sink = Sink()
    await exchange(app)(scope(BODY), feeder({"type": "http.request", "body": b"{}"}), sink)
    assert sink.headers[b"X-Request-Id"] == [b"req_provider"]
    assert b"x-request-id" not in sink.headers


@pytest.mark.parametrize(
    ("headers", "http_version", "closes"),
    [
        ((BODY,), "1.1", True),
        (((b"transfer-encoding", b"chunked"),), "1.1", True),
        (((b"content-length", b"0"),), "1.1", False),
        ((), "1.1", False),
        ((BODY,), "2", False),
    ],
)
async def test_an_answer_before_the_body_closes_the_connection(
    headers: tuple[tuple[bytes, bytes], ...], http_version: str, closes: bool
) -> None:
    app, _ = answering(404, read=False)
    sink = Sink()
    await exchange(app)(scope(*headers, http_version=http_version), feeder(), sink)
    assert (sink.headers.get(b"connection") == [b"close"]) is closes


async def test_a_body_that_stops_arriving_raises_body_timeout() -> None:
    failures: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except BodyTimeout as exc:
            failures.append(exc)
            await exc.to_response()(scope, receive, send)

    sink = Sink()
    chunk = {"type": "http.request", "body": b"x" * 10, "more_body": True}
    await asyncio.wait_for(
        exchange(app, timeout_s=0.1)(scope(BODY), feeder(chunk), sink),
        timeout=SWEEP_S * 40,  # a guard against hanging, not a timing
    )
    [failure] = failures
    assert isinstance(failure, BodyTimeout)
    assert failure.status == 408
    assert sink.messages[0]["status"] == 408
    assert sink.headers[b"connection"] == [b"close"]
    # The request's own task was not left cancelled.
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_bytes_received_extend_the_deadline() -> None:
    # 0.5 s to start, then each 100-byte chunk buys a second (100 bytes/s): a body that keeps
    # coming at that rate is read whole though it takes longer (0.8 s) than the first 0.5 s.
    chunks = [{"type": "http.request", "body": b"x" * 100, "more_body": True}] * 3
    last = {"type": "http.request", "body": b"", "more_body": False}
    queue = [*chunks, last]

    async def slow_receive() -> Message:
        await asyncio.sleep(0.2)
        return queue.pop(0)

    app, _ = answering(200, read=True)
    sink = Sink()
    await exchange(app, timeout_s=0.5, min_rate=100)(scope(BODY), slow_receive, sink)
    assert sink.messages[0]["status"] == 200
    assert b"connection" not in sink.headers


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await exchange(app)({"type": "lifespan"}, feeder(), Sink())
    assert seen == ["lifespan"]


async def test_a_head_stamped_by_the_route_is_not_stamped_again() -> None:
    stamped: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    stamp(stamped, "req_route", has_x_request_id=False)
    app, _ = answering(200, read=True, headers=stamped)
    sink = Sink()
    await exchange(app)(scope(BODY), feeder({"type": "http.request", "body": b"{}"}), sink)
    assert sink.headers[b"x-palisade-request-id"] == [b"req_route"]
    assert sink.headers[b"x-request-id"] == [b"req_route"]


def test_stamp_keeps_the_providers_request_id() -> None:
    headers: list[tuple[bytes, bytes]] = [(b"X-Request-Id", b"req_provider")]
    stamp(headers, "req_ours", has_x_request_id=True)
    assert headers == [(b"X-Request-Id", b"req_provider"), (b"x-palisade-request-id", b"req_ours")]


def chunk(data: bytes, *, more: bool) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


def body_of(*messages: Message, timeout_s: float = 5.0, min_rate: int = 1000) -> Body:
    return Body(Deadlines(timeout_s, min_rate), feeder(*messages), scope(BODY))


async def test_read_joins_the_chunks_and_completes_the_body() -> None:
    body = body_of(chunk(b"ab", more=True), chunk(b"", more=True), chunk(b"c", more=False))
    assert await body.read(3) == b"abc"
    assert body.complete
    assert not body._deadlines.waiting


async def test_read_past_the_limit_is_413_and_leaves_the_body_unread() -> None:
    body = body_of(chunk(b"ab", more=True), chunk(b"cd", more=True))
    with pytest.raises(BodyTooLarge) as caught:
        await body.read(3)
    assert caught.value.status == 413
    assert not body.complete
    assert body.head([])[-1] == (b"connection", b"close")


async def test_read_of_a_client_that_leaves_raises_client_disconnected() -> None:
    body = body_of(chunk(b"ab", more=True), {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnected):
        await body.read(100)
    assert not body._deadlines.waiting


async def test_read_of_a_body_that_stops_arriving_raises_body_timeout() -> None:
    body = body_of(chunk(b"x" * 10, more=True), timeout_s=0.1)
    with pytest.raises(BodyTimeout):
        await asyncio.wait_for(body.read(100), timeout=SWEEP_S * 40)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_read_extends_the_deadline_per_chunk() -> None:
    queue = [chunk(b"x" * 100, more=True)] * 3 + [chunk(b"", more=False)]

    async def slow_receive() -> Message:
        await asyncio.sleep(0.2)
        return queue.pop(0)

    body = Body(Deadlines(0.5, 100), slow_receive, scope(BODY))
    assert await body.read(1000) == b"x" * 300


def test_a_forked_child_gets_ids_of_its_own() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, next_request_id().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 100).decode()
    os.close(read_end)
    ours = next_request_id()
    assert child.startswith("req_")
    # The random part (after `req_`, 12 hex digits) differs; the counters may well coincide.
    assert child[:16] != ours[:16]
