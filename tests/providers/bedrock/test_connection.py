"""The Bedrock connection: URLs, SigV4 headers that the mock's independent checker accepts,
credentials from the config or botocore's chain, and refreshable credentials renewed off the
request path."""

from __future__ import annotations

import asyncio
import datetime
import itertools
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials

from palisade.errors import UpstreamUnreachable
from palisade.mock import bedrock_signature
from palisade.providers.bedrock import CONVERSE
from palisade.providers.bedrock import connection as module
from palisade.providers.bedrock.connection import SigV4Connection
from palisade.providers.provider import ProviderConfig

KEYS = {"AKIDPALISADETEST": "test-secret"}


def provider(base_url: str = "", **options: object) -> ProviderConfig:
    return ProviderConfig(
        name="bedrock", kind="bedrock", dialects=("bedrock",), base_url=base_url, options=options
    )


def signed(connection: SigV4Connection, body: bytes) -> tuple[Any, dict[str, str]]:
    url = connection.url(CONVERSE, "anthropic.claude-3-haiku:0", stream=True)
    headers = {"content-type": "application/json", "x-amz-date": "client's", "accept": "*/*"}
    assert connection.authorize(headers, url, body, client_key="ignored") is None
    return url, headers


async def test_static_credentials_sign_what_the_mock_accepts() -> None:
    connection = SigV4Connection(
        provider(
            "http://127.0.0.1:9100/v1",
            region="eu-west-1",
            aws_access_key_id="AKIDPALISADETEST",
            aws_secret_access_key="test-secret",
        )
    )
    await connection.start()
    body = b'{"messages": []}'
    url, headers = signed(connection, body)
    assert str(url) == "http://127.0.0.1:9100/v1/model/anthropic.claude-3-haiku%3A0/converse-stream"
    assert headers["host"] == "127.0.0.1:9100"
    assert "/eu-west-1/bedrock/aws4_request" in headers["authorization"]
    check = bedrock_signature.check
    assert check("POST", url.raw_path, "", headers, body, KEYS) is None
    assert check("POST", url.raw_path, "", headers, body + b" ", KEYS) == (
        bedrock_signature.BAD_SIGNATURE
    )
    wrong = {"AKIDPALISADETEST": "other"}
    assert check("POST", url.raw_path, "", headers, body, wrong) == bedrock_signature.BAD_SIGNATURE
    assert check("POST", url.raw_path, "", {**headers, "authorization": ""}, body, KEYS) == (
        bedrock_signature.MISSING
    )
    await connection.close()


def test_the_default_url_is_the_regions_runtime_endpoint() -> None:
    connection = SigV4Connection(provider(region="ap-south-1"))
    url = connection.url(CONVERSE, "m", stream=False)
    assert str(url) == "https://bedrock-runtime.ap-south-1.amazonaws.com/model/m/converse"


async def test_credentials_from_the_environment_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    connection = SigV4Connection(provider("https://example.test"))
    await connection.start()
    _, headers = signed(connection, b"{}")
    assert "Credential=AKIDFROMENV/" in headers["authorization"]
    assert headers["x-amz-security-token"] == "env-token"
    assert "x-amz-security-token" in headers["authorization"]
    await connection.close()


async def test_no_credentials_is_an_upstream_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SigV4Connection, "_resolve", lambda self: None)
    connection = SigV4Connection(provider("https://example.test"))
    await connection.start()
    with pytest.raises(UpstreamUnreachable, match="no AWS credentials"):
        signed(connection, b"{}")


async def test_expiring_credentials_are_refreshed_off_the_request_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serial = itertools.count()

    def fetch() -> dict[str, str]:
        n = next(serial)
        # Always inside botocore's refresh window: every read renews them.
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
        return {
            "access_key": f"AKIDROLE{n}",
            "secret_key": f"secret-{n}",
            "token": f"token-{n}",
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(fetch(), fetch, "test")
    monkeypatch.setattr(SigV4Connection, "_resolve", lambda self: credentials)
    monkeypatch.setattr(module, "REFRESH_EVERY_S", 0.01)
    connection = SigV4Connection(provider("https://example.test"))
    await connection.start()
    _, first = signed(connection, b"{}")
    for _ in range(200):
        await asyncio.sleep(0.01)
        _, later = signed(connection, b"{}")
        if later["x-amz-security-token"] != first["x-amz-security-token"]:
            break
    assert later["x-amz-security-token"] != first["x-amz-security-token"]
    number = later["x-amz-security-token"].removeprefix("token-")
    assert f"Credential=AKIDROLE{number}/" in later["authorization"]
    await connection.close()


async def test_aws_headers_of_the_client_are_signed_and_its_signature_is_not_kept() -> None:
    connection = SigV4Connection(
        provider(
            "http://127.0.0.1:9100",
            aws_access_key_id="AKIDPALISADETEST",
            aws_secret_access_key="test-secret",
        )
    )
    await connection.start()
    url = connection.url(CONVERSE, "m", stream=False)
    headers = {
        "content-type": "application/json",
        "x-amzn-bedrock-trace": "ENABLED",
        "x-amz-security-token": "the client's",
    }
    connection.authorize(headers, url, b"{}", None)
    assert "x-amz-security-token" not in headers
    assert "x-amzn-bedrock-trace" in headers["authorization"].split("SignedHeaders=")[1]
    assert bedrock_signature.check("POST", url.raw_path, "", headers, b"{}", KEYS) is None
    await connection.close()


async def test_a_request_without_a_body_is_signed_as_a_get() -> None:
    connection = SigV4Connection(
        provider(
            "http://127.0.0.1:9100",
            aws_access_key_id="AKIDPALISADETEST",
            aws_secret_access_key="test-secret",
        )
    )
    await connection.start()
    url = connection.path_url("models")
    headers: dict[str, str] = {"content-type": "application/json"}
    connection.authorize(headers, url, b"", None)
    assert bedrock_signature.check("GET", url.raw_path, "", headers, b"", KEYS) is None
    await connection.close()
