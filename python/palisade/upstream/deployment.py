"""One provider serving one model, and what this worker has learnt of it: calls in flight,
EMAs of latency, time to first token and success, the capacity used this minute, when a 429
said to come back, and its circuit breaker."""

from __future__ import annotations

import aiohttp

from palisade.config.routing import BreakerConfig, DeploymentConfig
from palisade.upstream.breaker import Breaker
from palisade.upstream.routing import Target


class Deployment:
    __slots__ = (
        "alpha",
        "blocked_until",
        "breaker",
        "config",
        "first_byte_timeout_s",
        "id",
        "inflight",
        "latency_ema",
        "minute",
        "minute_calls",
        "minute_tokens",
        "probe",
        "served",
        "success_ema",
        "target",
        "timeout",
        "tracked",
        "ttft_ema",
    )

    def __init__(
        self,
        target: Target,
        config: DeploymentConfig,
        breaker: BreakerConfig | None,
        *,
        alpha: float,
        first_byte_timeout_s: float | None,
        connect_timeout_s: float,
    ) -> None:
        self.id = config.id
        self.target = target
        self.config = config
        # None: a model reached directly, which has nowhere else to go (a breaker would only
        # turn the provider's own errors into the gateway's).
        self.breaker = Breaker(breaker) if breaker is not None else None
        # Listed under `models`: its calls are counted (in flight, EMAs, capacity, breaker).
        # A model reached directly has no choice to make with the figures: it keeps none.
        self.tracked = breaker is not None
        self.alpha = alpha
        self.first_byte_timeout_s = config.first_byte_timeout_s or first_byte_timeout_s
        self.timeout: aiohttp.ClientTimeout | None = None
        if config.timeout_s is not None:
            self.timeout = aiohttp.ClientTimeout(
                total=None, connect=connect_timeout_s, sock_read=config.timeout_s
            )
        self.probe = False
        # The answer's headers that name who served it, made once.
        self.served = (
            (b"x-palisade-served-model", _ascii(target.model)),
            (b"x-palisade-served-by", _ascii(target.provider.name)),
        )
        self.inflight = 0
        self.latency_ema: float | None = None
        self.ttft_ema: float | None = None
        self.success_ema = 1.0
        self.blocked_until = 0.0
        self.minute = 0
        self.minute_calls = 0
        self.minute_tokens = 0

    @property
    def name(self) -> str:
        return self.target.provider.name

    def usable(self, now: float) -> bool:
        """Not open, not told to wait by a 429, and under its capacity this minute."""
        breaker = self.breaker
        if breaker is not None and not breaker.usable(now):
            return False
        if now < self.blocked_until:
            return False
        config = self.config
        if config.rpm is None and config.tpm is None:
            return True
        if int(now // 60) != self.minute:
            return True
        if config.rpm is not None and self.minute_calls >= config.rpm:
            return False
        return config.tpm is None or self.minute_tokens < config.tpm

    def start(self, now: float) -> None:
        self.inflight += 1
        if self.breaker is not None:
            self.breaker.admit(now)
        if self.config.rpm is not None or self.config.tpm is not None:
            minute = int(now // 60)
            if minute != self.minute:
                self.minute, self.minute_calls, self.minute_tokens = minute, 0, 0
            self.minute_calls += 1

    def succeeded(self, now: float, latency: float, ttft: float | None) -> None:
        a = self.alpha
        ema = self.latency_ema
        self.latency_ema = latency if ema is None else ema + a * (latency - ema)
        if ttft is not None:
            ema = self.ttft_ema
            self.ttft_ema = ttft if ema is None else ema + a * (ttft - ema)
        self.success_ema += a * (1.0 - self.success_ema)
        if self.breaker is not None:
            self.breaker.success(now)

    def failed(self, now: float, *, counts: bool) -> None:
        """`counts`: the failure is the deployment's (not a 400 the request earned)."""
        if not counts:
            if self.breaker is not None:
                self.breaker.release()
            return
        self.success_ema -= self.alpha * self.success_ema
        if self.breaker is not None:
            self.breaker.failure(now)

    def ended(self, tokens: int) -> None:
        self.inflight -= 1
        if tokens and self.config.tpm is not None:
            self.minute_tokens += tokens

    def score(self, stream: bool) -> float:
        """Lower is better (`strategy: latency`): the EMA latency (time to first token for a
        stream) over the success EMA; an untried deployment scores 0 so it is tried."""
        ema = self.ttft_ema if stream and self.ttft_ema is not None else self.latency_ema
        if ema is None:
            return 0.0
        return ema / max(self.success_ema, 0.05)


def _ascii(text: str) -> bytes:
    return "".join(c if " " <= c <= "~" else "?" for c in text[:256]).encode()
