"""A raw TCP 'provider' that answers only as far as a test wants and records when the gateway
closes the connection: the socket-level proof that a client disconnect reaches the provider."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


@dataclass
class RawUpstream:
    port: int
    # path -> number of connections the peer closed while we were still holding them open
    closed_by_peer: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, table: dict[str, int], path: str) -> None:
        with self.lock:
            table[path] = table.get(path, 0) + 1


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@contextmanager
def raw_upstream() -> Iterator[RawUpstream]:
    state = RawUpstream(port=0)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            data = b""
            while b"\r\n\r\n" not in data:
                part = sock.recv(65536)
                if not part:
                    return
                data += part
            path = data.split(b" ", 2)[1].decode()
            state.count(state.received, path)
            if "stream" in path:
                sock.sendall(STREAM_HEAD + _chunk(b'data: {"choices":[]}\n\n'))
            sock.settimeout(30)
            try:
                while sock.recv(65536):
                    pass  # drain the body; we never answer (further)
            except TimeoutError:
                return
            state.count(state.closed_by_peer, path)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as server:
        state.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield state
        finally:
            server.shutdown()
