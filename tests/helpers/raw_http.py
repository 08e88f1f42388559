"""HTTP/1.1 by hand on a socket, for tests about what happens on the connection itself."""

from __future__ import annotations

import socket


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer: its status, headers (names lowercased) and whole body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the gateway closed the connection without an answer")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split(" ")[1]), headers, body


def closed(sock: socket.socket) -> bool:
    """True once the server has closed the connection."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
