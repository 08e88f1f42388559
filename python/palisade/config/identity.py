"""`identity`: how credentials are checked and how quickly changes reach every worker."""

from __future__ import annotations

from pydantic.dataclasses import dataclass

from palisade.config.fields import SECTION, PositiveFloat, PositiveInt, key


@dataclass(frozen=True, config=SECTION)
class IdentityConfig:
    failed_auth_limit: PositiveInt = key(
        10,
        "failed authentications allowed per client address and credential prefix within the "
        "window; more → 429",
    )
    failed_auth_window_s: PositiveFloat = key(60.0, "that window")
    oauth_token_ttl_s: PositiveFloat = key(
        900.0, "lifetime of the access tokens `POST /oauth/token` issues"
    )
    sync_interval_s: PositiveFloat = key(
        1.0,
        "how often each worker polls the store for changes made elsewhere (revocations, proxies)",
    )
    # A stream of made-up kids must not become a stream of fetches: at most one per
    # jwks_refresh_min_s.
    jwks_cache_s: PositiveFloat = key(
        3600.0, "how long a fetched JWKS is used before it is fetched again"
    )
    jwks_refresh_min_s: PositiveFloat = key(
        10.0, "least time between two fetches of one JWKS (an unknown `kid` triggers a fetch)"
    )
