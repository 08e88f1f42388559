from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import aiohttp
import anthropic
import openai
import pytest

from tests.helpers.servers import RunningServer, free_port, start_process_server

# Runs the mock the way `palisade mock-upstream` does, without depending on the CLI module.
LAUNCH = (
    "import argparse, sys\n"
    "from palisade.mock.server import add_arguments, main\n"
    "parser = argparse.ArgumentParser()\n"
    "add_arguments(parser)\n"
    "main(parser.parse_args(sys.argv[1:]))\n"
)


def mock_argv(port: int, *flags: str) -> list[str]:
    return [sys.executable, "-c", LAUNCH, "--port", str(port), *flags]


@pytest.fixture(scope="session")
def mock_server() -> Iterator[RunningServer]:
    port = free_port()
    with start_process_server(mock_argv(port), port) as server:
        yield server


@pytest.fixture(scope="session")
def keyed_mock() -> Iterator[RunningServer]:
    """A mock that wants the key `sk-right` (OpenAI: Bearer; Anthropic: x-api-key or Bearer)."""
    port = free_port()
    with start_process_server(mock_argv(port, "--api-key", "sk-right"), port) as server:
        yield server


@pytest.fixture(scope="session")
def client(mock_server: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=mock_server.url + "/v1", api_key="sk-test", max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture(scope="session")
async def async_client(mock_server: RunningServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=mock_server.url + "/v1", api_key="sk-test", max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture(scope="session")
async def http(mock_server: RunningServer) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"authorization": "Bearer sk-test"}
    async with aiohttp.ClientSession(mock_server.url, headers=headers) as session:
        yield session


@pytest.fixture(scope="session")
def mock_server_url(mock_server: RunningServer) -> str:
    return mock_server.url


@pytest.fixture(scope="session")
def claude(mock_server: RunningServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=mock_server.url, api_key="sk-ant-test", max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture(scope="session")
async def async_claude(mock_server: RunningServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=mock_server.url, api_key="sk-ant-test", max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture(scope="session")
async def claude_http(mock_server: RunningServer) -> AsyncIterator[aiohttp.ClientSession]:
    """Raw HTTP as Claude Code sends it: the key in `x-api-key`."""
    headers = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession(mock_server.url, headers=headers) as session:
        yield session
