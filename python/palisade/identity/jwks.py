"""JSON Web Key Sets of external identity providers, fetched with the gateway's aiohttp session
(never a blocking fetch on the event loop), cached per URL, refetched when stale and when a
token names an unknown `kid` (at most once per `jwks_refresh_min_s`, so made-up kids cannot
turn into a stream of fetches). Concurrent requests share one fetch."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import jwt
import orjson

from palisade.errors import GatewayError

log = logging.getLogger("palisade.identity")

_MAX_JWKS_BYTES = 1 << 20


class JwksUnavailable(GatewayError):
    status = 503
    type = "server_error"
    code = "jwks_unavailable"


@dataclass(slots=True)
class _KeySet:
    fetched: float
    # The last fetch, successful or not: fetches are at most once per refresh_min_s.
    attempted: float
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)


class JwksCache:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        cache_s: float,
        refresh_min_s: float,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._cache_s = cache_s
        self._refresh_min_s = refresh_min_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._inflight: dict[str, asyncio.Future[_KeySet]] = {}
        # URLs whose first fetch failed, and when: not retried sooner than refresh_min_s.
        self._failed: dict[str, float] = {}
        self.fetches = 0

    async def key(self, url: str, kid: str) -> jwt.PyJWK | None:
        """The key `kid` of the set at `url`, or None when the provider does not publish it."""
        entry = self._sets.get(url)
        if entry is None:
            failed = self._failed.get(url)
            if failed is not None and self._clock() - failed < self._refresh_min_s:
                raise _unavailable()
            entry = await self._refresh(url, keep=None)
        elif self._clock() - entry.attempted >= self._refresh_min_s and (
            kid not in entry.keys or self._clock() - entry.fetched >= self._cache_s
        ):
            entry = await self._refresh(url, keep=entry)
        return entry.keys.get(kid)

    async def _refresh(self, url: str, keep: _KeySet | None) -> _KeySet:
        pending = self._inflight.get(url)
        if pending is None:
            pending = self._inflight[url] = asyncio.ensure_future(self._fetch(url, keep))
            pending.add_done_callback(lambda _: self._inflight.pop(url, None))
        return await asyncio.shield(pending)

    async def _fetch(self, url: str, keep: _KeySet | None) -> _KeySet:
        self.fetches += 1
        try:
            async with self._session.get(url, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise ValueError(f"status {resp.status}")
                body = await resp.content.read(_MAX_JWKS_BYTES + 1)
            if len(body) > _MAX_JWKS_BYTES:
                raise ValueError("larger than 1 MiB")
            now = self._clock()
            entry = _KeySet(fetched=now, attempted=now, keys=parse_jwks(body))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("cannot fetch the JWKS at %s: %s", url, exc)
            if keep is not None:
                # Keep serving the keys we have; try again after refresh_min_s, not sooner.
                keep.attempted = self._clock()
                return keep
            self._failed[url] = self._clock()
            raise _unavailable() from None
        self._sets[url] = entry
        self._failed.pop(url, None)
        return entry


def _unavailable() -> JwksUnavailable:
    return JwksUnavailable(
        "Palisade: cannot fetch the identity provider's signing keys (JWKS); try again later."
    )


def parse_jwks(body: bytes) -> dict[str, jwt.PyJWK]:
    """kid -> key for the usable signing keys of a JWKS document; keys without a kid, for
    encryption only, or of an unknown type are skipped. Raises ValueError if it is no JWKS."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("no `keys` list")
    out: dict[str, jwt.PyJWK] = {}
    for item in doc["keys"]:
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            continue
        if item.get("use", "sig") != "sig":
            continue
        try:
            out[item["kid"]] = jwt.PyJWK(item)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
    return out
