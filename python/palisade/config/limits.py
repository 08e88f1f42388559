"""`limits`, `budgets`, `dedup`, `pricing` and `tpm_default_max_tokens`: stage 3's config."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator
from pydantic.dataclasses import dataclass

from palisade.config.errors import Problem
from palisade.config.fields import (
    SECTION,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    RequiredText,
    Text,
    key,
    problem,
)
from palisade.config.proxies import ProxyConfig
from palisade.pricing import Price

LimitScope = Literal["key", "proxy", "agent", "user"]
LIMIT_SCOPES: tuple[LimitScope, ...] = ("key", "proxy", "agent", "user")
BudgetScope = Literal["key", "proxy", "user"]


@dataclasses.dataclass(frozen=True)
class RateLimitConfig:
    """Requests and/or tokens per minute for each distinct value of `scope` (all its ids must be
    known for the limit to apply; an empty scope is one gateway-wide limit)."""

    name: str
    scope: tuple[LimitScope, ...]
    rpm: int | None = None
    tpm: int | None = None
    # Only requests through these proxies; empty: every proxy.
    proxies: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class BudgetConfig:
    name: str
    scope: BudgetScope
    usd: float
    # `day` / `month` (calendar, UTC) or a rolling window in seconds.
    period: str = "month"
    rolling_s: int | None = None
    proxies: tuple[str, ...] = ()


@dataclass(frozen=True, config=SECTION)
class DedupConfig:
    ttl_s: PositiveFloat = key(
        3600.0, "how long an answer is replayed for the same idempotency key"
    )
    # How long a duplicate waits on an executor that stopped renewing its lock (it died).
    lock_ttl_s: PositiveFloat = key(
        30.0,
        "the first executor renews its lock every third of this; if it dies, a duplicate takes "
        "over after at most this long",
    )
    max_answer_bytes: PositiveInt = key(
        1024 * 1024, "larger answers are not stored (their duplicates run again)"
    )


_PERIOD_RE = re.compile(r"^([1-9][0-9]*)([hd])$")


def parse_period(period: str, error: Callable[[str], Exception]) -> int | None:
    """`day` / `month` -> None (calendar, UTC); `24h`, `7d`, ... -> seconds (rolling)."""
    if period in ("day", "month"):
        return None
    m = _PERIOD_RE.match(period)
    if m is None:
        raise error(f"must be day, month or a rolling window like 24h or 30d, not {period!r}")
    return int(m.group(1)) * (3600 if m.group(2) == "h" else 86400)


def _period(value: str) -> str:
    parse_period(value, lambda what: problem(what, what.rsplit(", not", 1)[0]))
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LimitSection(BaseModel):
    model_config = SECTION

    name: RequiredText
    scope: Annotated[list[LimitScope], BeforeValidator(_one_or_many)]
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    proxies: list[Text] = []

    @model_validator(mode="after")
    def _has_a_rate(self) -> LimitSection:
        if self.rpm is None and self.tpm is None:
            raise problem("a limit needs `rpm` or `tpm`")
        return self


class BudgetSection(BaseModel):
    model_config = SECTION

    name: RequiredText
    scope: BudgetScope
    usd: PositiveFloat
    period: Annotated[Text, AfterValidator(_period)] = "month"
    proxies: list[Text] = []


class PriceSection(BaseModel):
    model_config = SECTION

    input: NonNegativeFloat
    output: NonNegativeFloat
    cache_read: NonNegativeFloat | None = None
    cache_write: NonNegativeFloat | None = None
    # The old name of `cache_read`, still read.
    cached_input: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _one_cache_read(self) -> PriceSection:
        if self.cache_read is not None and self.cached_input is not None:
            raise problem("give `cache_read` or its old name `cached_input`, not both")
        return self

    def build(self) -> Price:
        return Price(
            input=self.input,
            output=self.output,
            cache_read=self.cached_input if self.cache_read is None else self.cache_read,
            cache_write=self.cache_write,
        )


def _names(
    items: Sequence[LimitSection | BudgetSection], where: str, problems: list[Problem]
) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            problems.append((f"{where}[{i}].name", f"{item.name!r} is empty or used twice"))
        seen.add(item.name)


def _proxy_filter(
    chosen: list[str], path: str, proxies: Sequence[ProxyConfig], problems: list[Problem]
) -> tuple[str, ...]:
    ids = {p.id for p in proxies}
    for j, pid in enumerate(chosen):
        if pid not in ids:
            problems.append((f"{path}.proxies[{j}]", f"no proxy has the id {pid!r}"))
    return tuple(chosen)


def build_limits(
    sections: Sequence[LimitSection], proxies: Sequence[ProxyConfig], problems: list[Problem]
) -> tuple[RateLimitConfig, ...]:
    _names(sections, "limits", problems)
    for i, s in enumerate(sections):
        for j, value in enumerate(s.scope):
            if value in s.scope[:j]:
                problems.append((f"limits[{i}].scope[{j}]", f"{value!r} is named twice"))
    return tuple(
        RateLimitConfig(
            name=s.name,
            # A canonical order, so that the same scope always makes the same store key.
            scope=tuple(x for x in LIMIT_SCOPES if x in s.scope),
            rpm=s.rpm,
            tpm=s.tpm,
            proxies=_proxy_filter(s.proxies, f"limits[{i}]", proxies, problems),
        )
        for i, s in enumerate(sections)
    )


def build_budgets(
    sections: Sequence[BudgetSection], proxies: Sequence[ProxyConfig], problems: list[Problem]
) -> tuple[BudgetConfig, ...]:
    _names(sections, "budgets", problems)
    return tuple(
        BudgetConfig(
            name=s.name,
            scope=s.scope,
            usd=s.usd,
            period=s.period,
            rolling_s=parse_period(s.period, ValueError),
            proxies=_proxy_filter(s.proxies, f"budgets[{i}]", proxies, problems),
        )
        for i, s in enumerate(sections)
    )
