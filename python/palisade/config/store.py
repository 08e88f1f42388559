"""`store` and `admin`: where state lives, and who may change it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator
from pydantic.dataclasses import dataclass

from palisade.config.fields import (
    SECTION,
    OptionalText,
    PositiveFloat,
    Text,
    empty_is_none,
    key,
    problem,
)


def _redis_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("redis://", "rediss://")):
        # Never echoed: the URL may carry a password.
        raise problem("must start with redis:// or rediss://")
    return value


RedisUrl = Annotated[str | None, BeforeValidator(empty_is_none), AfterValidator(_redis_url)]


@dataclass(frozen=True, config=SECTION)
class StoreConfig:
    sqlite_path: Text = key(
        "palisade.db",
        "the embedded SQLite store (keys, OAuth clients, proxy versions, the interaction log; "
        "without Redis, budget spend in table `limit_spend`, created on the first charge), "
        "relative to the working directory; WAL mode, shared by all workers and the CLI; "
        "`serve` opens it before starting the workers and stops with an error if it cannot",
    )
    # None: in process, which allows one worker only.
    redis_url: RedisUrl = key(
        None,
        "`redis://[user:password@]host:port/db` or `rediss://...`: limits, budgets and dedup "
        "shared by all workers and replicas. Unset: in process, and `palisade serve` refuses "
        "more than one worker",
    )
    redis_timeout_s: PositiveFloat = key(
        0.1, "longest wait for a Redis connect or reply; then `store.on_redis_failure` applies"
    )
    on_redis_failure: Literal["fail_open", "fail_closed"] = key(
        "fail_open",
        "Redis unreachable or slow: `fail_open` serves without limits, budgets and dedup "
        "(counted and logged); `fail_closed` refuses with 503 `limits_unavailable`",
    )


@dataclass(frozen=True, config=SECTION)
class AdminConfig:
    # Compared in constant time; None disables the role.
    token: OptionalText = key(
        None,
        "bearer token of the admin role (read and write `/admin/v1/`); with neither token set, "
        "the admin API answers 404. A `secrets` guardrail finds it in texts as "
        "`palisade_admin_token` when it has at least 16 characters",
    )
    viewer_token: OptionalText = key(
        None,
        "bearer token of the viewer role (read only); found by `secrets` guardrails like "
        "`admin.token`",
    )

    @property
    def tokens(self) -> tuple[str, ...]:
        """The tokens that are set, for the `secrets` guardrails to find in texts."""
        return tuple(t for t in (self.token, self.viewer_token) if t)
