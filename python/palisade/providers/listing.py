"""What one provider says it serves: each kind's `Lister` (the catalog names it).

The OpenAI and Anthropic APIs both answer `GET {base}/models` with a `data` list (`json_listing`);
a dialect whose API lists its models elsewhere (Gemini's `models`, Bedrock's foundation models)
plugs its own lister into its kind. A kind with none (`None`, Azure, whose listing names base
models rather than deployments) is listed from the provider's configured model names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple

import aiohttp
import orjson

from palisade.errors import GatewayError
from palisade.providers.base import Dialect
from palisade.providers.connection import Connection


class ListingFailed(GatewayError):
    """The provider answered its listing with another status than 200 (`upstream_status`)."""

    def __init__(self, upstream_status: int) -> None:
        super().__init__(f"models listing failed with {upstream_status}")
        self.upstream_status = upstream_status


class Model(NamedTuple):
    id: str
    created: int  # Unix seconds
    owner: str
    name: str


# (the provider's connection, its dialect, the pool, the listing's timeout) -> its models.
Lister = Callable[
    [Connection, Dialect, aiohttp.ClientSession, aiohttp.ClientTimeout], Awaitable[list[Model]]
]


async def json_listing(
    connection: Connection,
    dialect: Dialect,
    session: aiohttp.ClientSession,
    limit: aiohttp.ClientTimeout,
) -> list[Model]:
    """`GET {base}/models` answered with `{"data": [{"id", ...}]}` (OpenAI's and Anthropic's)."""
    payload = await _get(connection, dialect, session, limit, "models")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return []
    name = connection.provider.name
    return [m for m in (model_of(item, name) for item in data) if m is not None]


def named_listing(path: str) -> Lister:
    """`GET {base}/{path}` answered with `{"models": [{"name", "displayName"?}]}` (Gemini's,
    whose names read `models/<id>`, and Cohere's)."""

    async def listing(
        connection: Connection,
        dialect: Dialect,
        session: aiohttp.ClientSession,
        limit: aiohttp.ClientTimeout,
    ) -> list[Model]:
        payload = await _get(connection, dialect, session, limit, path)
        items = payload.get("models") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            return []
        provider = connection.provider.name
        out: list[Model] = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                model = item["name"].removeprefix("models/")
                shown = item.get("displayName")
                out.append(Model(model, 0, provider, shown if isinstance(shown, str) else model))
        return out

    return listing


async def _get(
    connection: Connection,
    dialect: Dialect,
    session: aiohttp.ClientSession,
    limit: aiohttp.ClientTimeout,
    path: str,
) -> object:
    url = connection.path_url(path)
    headers = {"content-type": "application/json", **dialect.upstream_headers()}
    pending = connection.authorize(headers, url, b"", None)
    if pending is not None:
        await pending
    async with session.get(url, headers=headers, timeout=limit) as resp:
        if resp.status != 200:
            raise ListingFailed(resp.status)
        payload: object = orjson.loads(await resp.read())
    return payload


def configured_models(connection: Connection) -> list[Model]:
    """The provider's configured exact model names (patterns name no model)."""
    provider = connection.provider
    return [
        Model(name, 0, provider.name, name)
        for name in provider.models
        if not any(c in name for c in "*?[")
    ]


def model_of(item: object, provider: str) -> Model | None:
    """A listing item of either dialect (`created` seconds, or `created_at` RFC 3339)."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    created = item.get("created")
    if not isinstance(created, int):
        created = 0
        stamp = item.get("created_at")
        if isinstance(stamp, str):
            with contextlib.suppress(ValueError):
                created = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    owner = item.get("owned_by")
    name = item.get("display_name")
    return Model(
        item["id"],
        created,
        owner if isinstance(owner, str) else provider,
        name if isinstance(name, str) else item["id"],
    )
