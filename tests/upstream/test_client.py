from yarl import URL

from palisade.config import ProviderConfig
from palisade.providers.connection import KeyConnection
from palisade.providers.openai import OPENAI
from palisade.upstream.client import client_headers, upstream_headers


def _sent(
    incoming: dict[str, str], provider: ProviderConfig, client_key: str | None = None
) -> dict[str, str]:
    headers = upstream_headers(incoming, OPENAI)
    KeyConnection(provider).authorize(headers, URL("http://p/x"), b"", client_key)
    return headers


def test_upstream_headers_drop_hop_by_hop_auth_and_own_headers() -> None:
    provider = ProviderConfig(name="p", base_url="http://p", api_key="sk-provider")
    sent = _sent(
        {
            "authorization": "Bearer client-key",
            "x-api-key": "client-key",
            "connection": "keep-alive, x-drop-me",
            "x-drop-me": "1",
            "keep-alive": "timeout=5",
            "transfer-encoding": "chunked",
            "te": "trailers",
            "host": "gateway",
            "content-length": "10",
            "accept-encoding": "br",
            "cookie": "a=b",
            "x-palisade-agent-id": "agent",
            "x-archestra-session-id": "s",
            "openai-organization": "org-1",
            "x-stainless-lang": "python",
        },
        provider,
    )
    assert sent == {
        "openai-organization": "org-1",
        "x-stainless-lang": "python",
        "content-type": "application/json",
        "authorization": "Bearer sk-provider",
    }


def test_custom_auth_header_carries_the_bare_key() -> None:
    provider = ProviderConfig(name="p", base_url="http://p", api_key="k", auth_header="api-key")
    assert _sent({}, provider) == {
        "content-type": "application/json",
        "api-key": "k",
    }


def test_client_headers_drop_transport_headers_and_keep_provider_ones() -> None:
    kept = client_headers(
        (
            (b"Content-Length", b"5"),
            (b"Content-Encoding", b"gzip"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Connection", b"close"),
            (b"Retry-After", b"3"),
            (b"set-cookie", b"a=1"),
            (b"set-cookie", b"b=2"),
            (b"Content-Type", b"application/json"),
        ),
        ProviderConfig(name="p", base_url="http://p"),
    )
    assert kept == [
        (b"Retry-After", b"3"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"Content-Type", b"application/json"),
    ]


ACCOUNT = (
    (b"openai-organization", b"acme-corp"),
    (b"OpenAI-Project", b"proj_1"),
    (b"anthropic-organization-id", b"org-1"),
    (b"openai-processing-ms", b"12"),
)


def test_account_headers_are_not_passed_to_clients_by_default() -> None:
    kept = client_headers(ACCOUNT, ProviderConfig(name="p", base_url="http://p"))
    assert kept == [(b"openai-processing-ms", b"12")]


def test_account_headers_pass_when_the_provider_exposes_them() -> None:
    provider = ProviderConfig(name="p", base_url="http://p", expose_account_headers=True)
    assert client_headers(ACCOUNT, provider) == list(ACCOUNT)


async def test_pooled_session_uses_nodelay_keepalive_and_no_total_timeout() -> None:
    import asyncio
    import socket

    from aiohttp import web

    from palisade.config import UpstreamConfig
    from palisade.upstream.client import create_session

    async def ok(request: web.Request) -> web.StreamResponse:
        # A body that is still arriving keeps the connection attached to the response.
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"o")
        await asyncio.sleep(0.05)
        await resp.write(b"k")
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = create_session(UpstreamConfig(connect_timeout_s=3, read_timeout_s=7))
    try:
        assert session.timeout.total is None
        assert session.timeout.sock_read == 7
        assert session.timeout.connect == 3
        peers = set()
        for _ in range(3):
            async with session.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.connection is not None
                transport = resp.connection.transport
                assert transport is not None
                sock = transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                peers.add(sock.getsockname())
                assert await resp.text() == "ok"
        assert len(peers) == 1  # one kept-alive connection served all three requests
    finally:
        await session.close()
        await runner.cleanup()


def test_a_passed_through_client_key_replaces_the_configured_one() -> None:
    incoming = {"authorization": "Bearer sk-client", "x-trace": "1"}
    bearer = ProviderConfig(name="p", base_url="http://x", api_key="sk-gateway")
    headers = _sent(incoming, bearer, "sk-client")
    assert headers["authorization"] == "Bearer sk-client"
    assert headers["x-trace"] == "1"
    azure = ProviderConfig(name="a", base_url="http://x", auth_header="api-key")
    headers = _sent(incoming, azure, "sk-client")
    assert headers["api-key"] == "sk-client"
    assert "authorization" not in headers
