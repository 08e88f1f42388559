"""The gateway's own log lines (not the interaction log): one format for the gateway's loggers,
Granian's (`_granian`, `granian.access`) and every worker's, each line with its time (UTC),
level, logger and the id of the request it belongs to.

The id comes from `REQUEST_ID`, a context variable set where the id is made (`exchange.Body`).
Granian runs every request in a task of its own, whose context is a copy, so the value is the
request's for everything that runs on its behalf (tasks it starts included) and for Granian's
access line, which is written in the same task once the app returns. Setting it costs one
`ContextVar.set` per request (measured in process: see `Body.__init__`).

Granian configures logging itself, in its main process and again in each worker it starts
(`log_dictconfig`): `dict_config` is what `palisade serve` hands it, so no process logs in
another format. Messages never carry secrets (no logger is given a key, token or body).
"""

from __future__ import annotations

import logging
import logging.config
import time
from contextvars import ContextVar
from typing import Any, Final, Literal

import orjson

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]

REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("palisade_request_id", default=None)
# Granian's own access line, without its time: the formatter writes one for every line.
ACCESS_FORMAT: Final = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f ms'


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + (
        f".{int(record.msecs):03d}Z"
    )


def _request_id(record: logging.LogRecord) -> str | None:
    """A line may name its request (`extra={"request_id": ...}`, from a thread that writes for
    it); else the context's."""
    given: str | None = getattr(record, "request_id", None)
    return given or REQUEST_ID.get()


class TextFormatter(logging.Formatter):
    """`2026-01-31T12:00:00.123Z INFO palisade.upstream req_… message`, `-` without a request."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_timestamp(record)} {record.levelname} {record.name} "
            f"{_request_id(record) or '-'} {record.getMessage()}"
        )
        details = _details(self, record)
        return f"{line}\n{details}" if details else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts`, `level`, `logger`, `msg`, `request_id` (null without a
    request) and `exc` when an exception or stack is attached (newlines escaped, so still one
    line)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": _request_id(record),
        }
        details = _details(self, record)
        if details:
            line["exc"] = details
        return orjson.dumps(line, default=str).decode()


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    parts = []
    # Cached on the record like `logging.Formatter.format` does, for other handlers.
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)


def dict_config(level: LogLevel, format: LogFormat) -> dict[str, Any]:
    """The `logging.config.dictConfig` of every process: Granian applies it (`log_dictconfig`)
    in its main process and in each worker; its keys replace Granian's defaults whole."""
    formatter = JsonFormatter if format == "json" else TextFormatter
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "palisade",
        "stream": "ext://sys.stderr",
    }
    own = {"handlers": ["palisade"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"palisade": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"palisade": handler},
        "root": {"handlers": ["palisade"], "level": level.upper()},
        "loggers": {
            # Granian sets `_granian`'s level from its `log_level` after applying this.
            "_granian": {**own, "level": level.upper()},
            "granian.access": {**own, "level": "INFO"},
        },
    }


def configure(level: LogLevel, format: LogFormat) -> None:
    """For a process Granian does not configure (tests, the CLI's own commands)."""
    logging.config.dictConfig(dict_config(level, format))
