"""Start a real server process (Granian) for a test and stop it afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path


@dataclass(frozen=True)
class RunningServer:
    url: str
    """`http://host:port`, without a trailing slash."""
    process: subprocess.Popen[bytes]
    log: Path
    """The process's stdout and stderr, for a failing test to show."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def start_process_server(
    argv: Sequence[str],
    port: int,
    env: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    ready_path: str = "/health",
    timeout: float = 30.0,
    workers: int = 1,
) -> Iterator[RunningServer]:
    """Run `argv` (with `env` added to this process's environment) until `ready_path` answers
    200 and all its `workers` listen, yield it, then stop it with SIGTERM (SIGKILL if it
    lingers)."""
    url = f"http://{host}:{port}"
    with tempfile.NamedTemporaryFile(prefix="server-", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        _wait_ready(process, host, port, ready_path, workers, log, timeout)
        yield RunningServer(url=url, process=process, log=log)
    finally:
        _stop(process)
        log.unlink(missing_ok=True)


def _wait_ready(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    path: str,
    workers: int,
    log: Path,
    timeout: float,
) -> None:
    """Until `path` answers 200 and `workers` sockets listen: each Granian worker listens on
    its own SO_REUSEPORT socket, and one still starting gets no connection, so the answer of
    one worker says nothing of the others."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        connection = HTTPConnection(host, port, timeout=1)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200 and _listening(port) >= workers:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise RuntimeError(
        f"server not ready at {host}:{port}{path} with {workers} worker(s) listening after "
        f"{timeout}s:\n{log.read_text()}"
    )


def _listening(port: int) -> int:
    """Sockets in LISTEN state on `port`, from the kernel's tables."""
    local, listen = f":{port:04X}", "0A"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            count += sum(
                1
                for row in rows
                if (fields := row.split())[1].endswith(local) and fields[3] == listen
            )
    return count


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server's own session: its workers get the signal too, and nothing else does.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
