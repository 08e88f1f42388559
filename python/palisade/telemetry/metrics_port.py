"""`/metrics` on a port of its own (`metrics.port`), served by the main process.

Every worker keeps its values in files of the multiprocess directory, so whichever process reads
them sees all workers. The main process is the one that is there once, for the gateway's whole
life (a worker is replaced when it dies, and each has its own `SO_REUSEPORT` socket, so a
server in the workers would bind the port once per worker or race for it). The server is the
standard library's threaded WSGI server in a daemon thread: a scrape every few seconds needs
nothing more, and it never touches the workers' event loops. Values are those the workers
wrote: each flushes its own once a second, so a scrape here may be up to a second behind the
public `/metrics`, which flushes the answering worker first.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from palisade.exchange import next_request_id

StartResponse = Callable[..., Any]


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def metrics_app(token: str | None) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = next_request_id()
        ids = [("x-request-id", request_id), ("x-palisade-request-id", request_id)]
        if environ.get("PATH_INFO") != "/metrics":
            return _error(start_response, "404 Not Found", "not_found", ids)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _error(start_response, "405 Method Not Allowed", "method_not_allowed", ids)
        if token is not None and not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            ids.append(("www-authenticate", 'Bearer realm="metrics"'))
            return _error(start_response, "401 Unauthorized", "metrics_unauthorized", ids)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
        start_response(
            "200 OK",
            [("content-type", CONTENT_TYPE_LATEST), ("content-length", str(len(body))), *ids],
        )
        return [body]

    return app


def _error(
    start_response: StartResponse, status: str, code: str, headers: list[tuple[str, str]]
) -> list[bytes]:
    body = orjson.dumps(
        {"error": {"message": f"Palisade: {status[4:]}.", "type": "invalid_request_error",
                   "param": None, "code": code}}
    )  # fmt: skip
    start_response(
        status,
        [("content-type", "application/json"), ("content-length", str(len(body))), *headers],
    )
    return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged: one every few seconds would drown the gateway's lines."""


def start(host: str, port: int, token: str | None) -> Callable[[], None]:
    """Serves until the returned function is called (or the process ends)."""
    server = make_server(host, port, metrics_app(token), _Server, _Handler)
    thread = threading.Thread(
        target=server.serve_forever, name="palisade-metrics-port", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
