"""The pooled aiohttp session (one per worker) and the request that leaves for a provider."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from yarl import URL

from palisade.config import ProviderConfig, UpstreamConfig
from palisade.errors import UpstreamTimeout, UpstreamUnreachable
from palisade.providers.base import Dialect

# Never forwarded in either direction: hop-by-hop (RFC 9110 7.6.1) or owned by the gateway.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_DROP = HOP_BY_HOP | {
    "host",
    "content-length",
    "content-type",
    "accept-encoding",  # aiohttp negotiates compression with the provider and decodes it
    "authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-real-ip",
}
_RESPONSE_DROP_RAW = frozenset(
    h.encode() for h in HOP_BY_HOP | {"content-length", "content-encoding", "date", "server"}
)
# They name the operator's account at the provider, which is none of the client's business.
_ACCOUNT_HEADERS = frozenset(
    {b"openai-organization", b"openai-project", b"anthropic-organization-id"}
)
_RESPONSE_DROP_ACCOUNT_RAW = _RESPONSE_DROP_RAW | _ACCOUNT_HEADERS
_OWN_HEADER_PREFIXES = ("x-palisade-", "x-archestra-")


def create_session(config: UpstreamConfig) -> aiohttp.ClientSession:
    # aiohttp turns on TCP_NODELAY for every connection it opens (base_protocol.connection_made).
    connector = aiohttp.TCPConnector(
        limit=config.max_connections,
        limit_per_host=0,
        keepalive_timeout=config.keepalive_s,
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(
        total=None,  # a long generation is legitimate; idle reads are what we bound
        connect=config.connect_timeout_s,
        sock_read=config.read_timeout_s,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        skip_auto_headers=("User-Agent",),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def upstream_headers(client_headers: Mapping[str, str], dialect: Dialect) -> dict[str, str]:
    """The client's headers as the provider, which speaks `dialect`, gets them before the
    connection adds its credentials (`Connection.authorize`)."""
    drop = _REQUEST_DROP
    connection = client_headers.get("connection")
    if connection:
        drop = drop | {h.strip().lower() for h in connection.split(",")}
    headers = {
        k: v
        for k, v in client_headers.items()
        if k not in drop and not k.startswith(_OWN_HEADER_PREFIXES)
    }
    headers["content-type"] = "application/json"
    extra = dialect.upstream_headers()
    if extra:
        for name, value in extra.items():
            headers.setdefault(name, value)
    return headers


RawHeaders = list[tuple[bytes, bytes]]


def client_headers(
    upstream: tuple[tuple[bytes, bytes], ...], provider: ProviderConfig
) -> RawHeaders:
    """The provider's response headers for the client, as raw pairs: no decode/re-encode, and
    repeated headers stay repeated."""
    drop = _RESPONSE_DROP_RAW if provider.expose_account_headers else _RESPONSE_DROP_ACCOUNT_RAW
    return [(k, v) for k, v in upstream if k.lower() not in drop]


_timeouts: dict[ProviderConfig, aiohttp.ClientTimeout] = {}


def _provider_timeouts(
    session: aiohttp.ClientSession, provider: ProviderConfig
) -> aiohttp.ClientTimeout | None:
    if provider.read_timeout_s is None:
        return None
    timeout = _timeouts.get(provider)
    if timeout is None:
        timeout = _timeouts[provider] = aiohttp.ClientTimeout(
            total=None, connect=session.timeout.connect, sock_read=provider.read_timeout_s
        )
    return timeout


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    provider: ProviderConfig,
    timeouts: aiohttp.ClientTimeout | None = None,
) -> aiohttp.ClientResponse:
    """Sends the request and returns once the response head has arrived. Failures before that
    become gateway errors; the message names the provider, never its key. `timeouts`: a
    deployment's own, else the provider's, else the session's."""
    timeout = timeouts if timeouts is not None else _provider_timeouts(session, provider)
    try:
        if timeout is None:
            return await session.request(method, url, data=body, headers=headers)
        return await session.request(method, url, data=body, headers=headers, timeout=timeout)
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise UpstreamTimeout(
            f"Palisade: provider `{provider.name}` did not answer in time."
        ) from None
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        raise UpstreamUnreachable(
            f"Palisade: cannot connect to provider `{provider.name}` ({reason})."
        ) from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(
            f"Palisade: provider `{provider.name}` failed before answering ({type(exc).__name__})."
        ) from None
