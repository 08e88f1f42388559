"""The gateway's own log lines: both formats, the request id from the context, Granian's dict."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import logging.config
import re
import sys
from collections.abc import Iterator

import orjson
import pytest

from palisade.exchange import Body, Deadlines
from palisade.telemetry.logs import (
    REQUEST_ID,
    JsonFormatter,
    TextFormatter,
    dict_config,
)

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) [\w.]+ (req_\w+|-) .*$"
)


def record(
    msg: str, *args: object, level: int = logging.INFO, exc: bool = False
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("palisade.test", level, __file__, 1, msg, args, exc_info)


def in_request(request_id: str, fn: object) -> str:
    """`fn()` in a context whose request id is `request_id`, as a request's task has it."""

    def run() -> str:
        REQUEST_ID.set(request_id)
        assert callable(fn)
        out: str = fn()
        return out

    return contextvars.copy_context().run(run)


def test_text_line_has_time_level_logger_request_id_and_message() -> None:
    formatter = TextFormatter()
    line = in_request("req_abc", lambda: formatter.format(record("hello %s", "there")))
    assert TEXT_LINE.match(line), line
    assert line.endswith(" INFO palisade.test req_abc hello there")
    # Outside a request: a dash.
    assert formatter.format(record("idle")).endswith(" INFO palisade.test - idle")


def test_text_line_carries_the_traceback_below() -> None:
    out = TextFormatter().format(record("failed", level=logging.ERROR, exc=True))
    first, *rest = out.splitlines()
    assert TEXT_LINE.match(first)
    assert rest[-1] == "ValueError: boom"


def test_json_line_is_one_object_with_its_fields() -> None:
    formatter = JsonFormatter()
    line = in_request(
        "req_1", lambda: formatter.format(record("multi\nline", level=logging.WARNING))
    )
    assert "\n" not in line
    data = orjson.loads(line)
    assert set(data) == {"ts", "level", "logger", "msg", "request_id"}
    assert data["level"] == "warning"
    assert data["logger"] == "palisade.test"
    assert data["msg"] == "multi\nline"
    assert data["request_id"] == "req_1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["ts"])
    assert orjson.loads(formatter.format(record("idle")))["request_id"] is None


def test_json_line_has_the_exception_text_still_on_one_line() -> None:
    line = JsonFormatter().format(record("failed", level=logging.ERROR, exc=True))
    assert "\n" not in line
    data = orjson.loads(line)
    assert data["exc"].startswith("Traceback")
    assert data["exc"].endswith("ValueError: boom")


def test_a_line_may_name_its_request() -> None:
    rec = record("written for a request")
    rec.request_id = "req_given"
    assert orjson.loads(JsonFormatter().format(rec))["request_id"] == "req_given"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate)
        for name, lg in [("", root)]
        + [(n, logging.getLogger(n)) for n in ("_granian", "granian.access")]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name) if name else root
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_dict_config_formats_the_gateways_and_granians_loggers_alike(
    restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    config = dict_config("warning", "json")
    # As Granian applies it: its defaults, updated with ours.
    from granian.log import LogLevels, configure_logging

    configure_logging(LogLevels.warning, config)
    logging.getLogger("palisade.upstream").info("below the level")
    logging.getLogger("palisade.upstream").warning("upstream %s", "slow")
    logging.getLogger("_granian").warning("granian says")
    logging.getLogger("granian.access").info(
        '%(addr)s "%(method)s"', {"addr": "1.2.3.4", "method": "GET"}
    )
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["logger"], x["level"], x["msg"]) for x in lines] == [
        ("palisade.upstream", "warning", "upstream slow"),
        ("_granian", "warning", "granian says"),
        ("granian.access", "info", '1.2.3.4 "GET"'),
    ]


async def test_body_sets_the_request_id_of_its_task() -> None:
    deadlines = Deadlines(15.0, 32768)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def request() -> tuple[str, str | None]:
        body = Body(deadlines, receive, {"type": "http", "headers": []})
        return body.request_id, REQUEST_ID.get()

    # Two requests, each in its own task (as Granian runs them): each sees its own id.
    (a, seen_a), (b, seen_b) = await asyncio.gather(
        asyncio.create_task(request()), asyncio.create_task(request())
    )
    assert (seen_a, seen_b) == (a, b)
    assert a != b
    assert REQUEST_ID.get() is None
