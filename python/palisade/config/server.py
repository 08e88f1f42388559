"""`server`, `firewall` and `upstream`: how the gateway listens, what it accepts, how it calls
providers."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic.dataclasses import dataclass

from palisade.config.fields import (
    SECTION,
    NonNegativeFloat,
    Port,
    PositiveFloat,
    PositiveInt,
    Text,
    key,
    problem,
)

# A gateway's name (`server.gateway`, the admin API's deployments): safe in URLs and logs.
GATEWAY_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
GATEWAY_NAME_RULE = "1-64 lowercase letters, digits, '.', '_' or '-', starting and ending alnum"


def _gateway_name(value: str) -> str:
    if not GATEWAY_NAME.match(value):
        raise problem(f"{value!r} is not a gateway name ({GATEWAY_NAME_RULE})")
    return value


GatewayName = Annotated[str, AfterValidator(_gateway_name)]


@dataclass(frozen=True, config=SECTION)
class ServerConfig:
    host: Text = key("127.0.0.1", "bind address (`--host` overrides)")
    port: Port = key(8080, "port (`--port` overrides)")
    workers: PositiveInt = key(
        1,
        "Granian worker processes (`--workers` overrides); one that dies is replaced (see "
        "[Connections and shutdown](#connections-and-shutdown))",
    )
    # Granian's backpressure: past it, new connections wait in the listen backlog.
    max_connections: PositiveInt = key(
        1024,
        "open connections per worker, idle keep-alive ones included; past it new connections "
        "wait in the listen backlog",
    )
    # Under Kubernetes' default 30 s termination grace, so the records are written before a
    # SIGKILL could come.
    shutdown_grace_s: NonNegativeFloat = key(
        20.0,
        "at SIGTERM, how long requests in flight may still run; then open streams get an error "
        "event and waiting calls a 503 (keep it under your supervisor's kill timeout: Kubernetes "
        "waits 30 s)",
    )
    drain_delay_s: NonNegativeFloat = key(
        0.0,
        "at SIGTERM (to the main process), keep serving this long with `/ready` answering 503 "
        "before stopping, so a load balancer takes the replica out first; `0`: stop at once",
    )
    gateway: GatewayName = key(
        "default",
        "the gateway (a named group of replicas) this replica belongs to; it serves the LLM "
        "proxies deployed there (see [Deploy to gateways](#deploy-to-gateways)); e.g. "
        "`${PALISADE_GATEWAY:-default}`",
    )


@dataclass(frozen=True, config=SECTION)
class FirewallConfig:
    max_body_bytes: PositiveInt = key(4 * 1024 * 1024, "largest request body; larger → 413")
    # Real requests stay under 10, hostile ones go to thousands.
    max_json_depth: PositiveInt = key(
        64,
        "deepest nesting of objects and arrays, checked before parsing (in the same Rust scan "
        "that refuses duplicate keys and `\\u0000`); deeper → 400",
    )
    max_messages: PositiveInt = key(
        2048, "most `messages` (chat) or `input` items (Responses); more → 400"
    )
    # mod_reqtimeout's rule.
    body_timeout_s: PositiveFloat = key(
        15.0,
        "time for a request body to arrive, extended by one second per `body_min_rate` bytes "
        "received; past it → 408 and the connection is closed",
    )
    body_min_rate: PositiveInt = key(
        32 * 1024,
        "bytes per second that extend the body deadline (so a large upload at a fair rate gets "
        "its time, a client dribbling bytes does not)",
    )


@dataclass(frozen=True, config=SECTION)
class UpstreamConfig:
    connect_timeout_s: PositiveFloat = key(10.0, "TCP/TLS connect timeout to a provider")
    # An idle time, not a total: long generations must not be cut.
    read_timeout_s: PositiveFloat = key(
        300.0,
        "longest silence between two reads from a provider (no total timeout: long generations "
        "are not cut)",
    )
    max_connections: PositiveInt = key(1000, "pooled connections per worker, all providers")
    keepalive_s: PositiveFloat = key(60.0, "idle keep-alive of pooled connections")
