from palisade.config import ProviderConfig
from palisade.upstream.client import client_headers, upstream_headers


def test_upstream_headers_drop_hop_by_hop_auth_and_own_headers() -> None:
    provider = ProviderConfig(name="p", base_url="http://p", api_key="sk-provider")
    sent = upstream_headers(
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
    assert upstream_headers({}, provider) == {"content-type": "application/json", "api-key": "k"}


def test_client_headers_drop_transport_headers_and_keep_provider_ones() -> None:
    kept = client_headers(
        {
            "Content-Length": "5",
            "Content-Encoding": "gzip",
            "Transfer-Encoding": "chunked",
            "Connection": "close",
            "Retry-After": "3",
            "x-request-id": "r",
            "Content-Type": "application/json",
        }
    )
    assert kept == {"Retry-After": "3", "x-request-id": "r", "Content-Type": "application/json"}
