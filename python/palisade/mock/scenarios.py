"""Scenarios: behaviours bound to a path prefix, so that one mock process can play a failing
deployment and a healthy one at once, and switch them at run time.

Every route also answers under `/_s/{name}/...` (`http://mock/_s/a/v1` is an OpenAI base URL,
`.../_s/a/v1beta` Gemini's, `.../_s/a` Cohere's or Bedrock's root); `ScenarioPrefix` mounts the
prefix as the ASGI `root_path`, so the routes match as without it and the raw path (which a SigV4
signature covers) is untouched. A path without the prefix behaves exactly as before.

`PUT /_mock/scenarios/{name}` sets a scenario's behaviour (a JSON object, every key optional):
every per-request knob except `fail` (`latency_ms`, `ttft_ms`, `chunks`, `chunk_interval_ms`,
`reply`, `reply_chunks`, `tool_calls`, `tool_rounds`, `retry_after`, `fail_after_chunks`), and
  `fail`        the failure to inject, as the knob: 429, 500, 503, 529, drop, hang,
                stream_error (both after `fail_after_chunks` stream events), context_length,
                content_filter; a dialect without 529 answers 503, one without a mid-stream
                error event drops the stream, one without the refusal answers its 400;
  `fail_times`  inject it on the next N requests only, then behave (absent or null: always;
                with `fail_rate`, at most N failures);
  `fail_rate`   inject it on this share (0..1) of requests, drawn per request from a generator
                seeded by `seed` (absent: a random seed), so a run's count is reproducible;
  `status_body` `{"status", "body", "headers"?}`: the injected failure is this answer, verbatim
                (a dialect's context-window or content-filter error), instead of `fail`.
`GET` shows it and its counters (requests, injected failures, outcomes); `PUT` again replaces the
behaviour and restarts `fail_times` and the seeded draw but keeps the counters; `DELETE` forgets
one scenario, `DELETE /_mock/scenarios` all, `GET /_mock/scenarios` lists them. A prefix never
PUT is an empty scenario that only counts.

Merging: the scenario's knobs replace the server defaults and the request's own knobs (body
`mock`, `x-mock-knobs`) override those, field by field; but a failure the scenario injects wins
over the request's `fail` (the gateway sends every deployment the same request, the scenario is
what tells deployments apart). State is per worker and in memory; a decision is taken without an
await, so concurrent requests of one worker never double-count.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from palisade.mock.errors import InvalidRequest, error_response, invalid_request
from palisade.mock.knobs import EVERY_FAILURE, Failure, Knobs
from palisade.mock.params import json_response
from palisade.mock.sse import pause

PREFIX = "/_s/"
SCOPE_KEY = "palisade.mock.scenario"
"""The ASGI scope key under which a prefixed request carries its `Scenario`."""

ALL_FAILURES = EVERY_FAILURE
# What a dialect that lacks a failure performs instead.
_NEAREST = {"529": "503", "stream_error": "drop"}
_OWN_KEYS = frozenset({"fail", "fail_times", "fail_rate", "seed", "status_body"})
_MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class StatusBody:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def response(self) -> Response:
        return Response(
            self.body,
            status_code=self.status,
            headers=dict(self.headers),
            media_type="application/json",
        )


Injection = str | StatusBody
"""A failure to perform: a `fail` value, or a verbatim answer."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    raw: dict[str, Any]
    knobs: Knobs
    fail: str | None = None
    fail_times: int | None = None
    fail_rate: float | None = None
    seed: int | None = None
    status_body: StatusBody | None = None

    @classmethod
    def parse(cls, raw: Any, defaults: Knobs) -> Behaviour:
        if not isinstance(raw, dict):
            raise InvalidRequest("a scenario must be a JSON object")
        knobs = defaults.override({k: v for k, v in raw.items() if k not in _OWN_KEYS})
        fail = raw.get("fail")
        if fail is not None:
            fail = str(fail) if isinstance(fail, int) and not isinstance(fail, bool) else fail
            if fail not in ALL_FAILURES:
                allowed = ", ".join(sorted(ALL_FAILURES))
                raise InvalidRequest(f"fail must be one of {allowed}", param="fail")
        return cls(
            raw=raw,
            knobs=knobs,
            fail=fail,
            fail_times=_optional_int(raw, "fail_times"),
            fail_rate=_rate(raw.get("fail_rate")),
            seed=_optional_int(raw, "seed"),
            status_body=_status_body(raw.get("status_body")),
        )


class Scenario:
    """One scenario's behaviour and counters."""

    def __init__(self, name: str, behaviour: Behaviour) -> None:
        self.name = name
        self.requests = 0
        self.outcomes: Counter[str] = Counter()
        self.set(behaviour)

    def set(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.knobs = behaviour.knobs
        self.left = behaviour.fail_times
        self.draws = None if behaviour.fail_rate is None else random.Random(behaviour.seed)

    def inject(self, failures: frozenset[str]) -> Injection | None:
        """Counts a request and decides whether it fails (`failures`: what its dialect can
        perform). No await in here: concurrent requests see a consistent countdown."""
        self.requests += 1
        behaviour = self.behaviour
        fail = behaviour.fail
        if fail is None and behaviour.status_body is None:
            self.outcomes["ok"] += 1
            return None
        # One draw per request, so a seeded run's failures do not depend on `fail_times`.
        hit = self.draws is None or self.draws.random() < (behaviour.fail_rate or 0.0)
        if self.left is not None:
            if self.left <= 0:
                hit = False
            elif hit:
                self.left -= 1
        if not hit:
            self.outcomes["ok"] += 1
            return None
        if behaviour.status_body is not None:
            self.outcomes[str(behaviour.status_body.status)] += 1
            return behaviour.status_body
        assert fail is not None
        if fail not in failures:
            nearest = _NEAREST.get(fail)
            if nearest is None:
                # No such error in this API (a content filter on Cohere's): the dialect's 400.
                self.outcomes["refused"] += 1
                raise InvalidRequest(f"the mock cannot fail with '{fail}' in this API")
            fail = nearest
        self.outcomes[fail] += 1
        return fail

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "behaviour": self.behaviour.raw,
            "requests": self.requests,
            "injected": sum(n for outcome, n in self.outcomes.items() if outcome != "ok"),
            "outcomes": dict(self.outcomes),
            "fail_times_left": self.left,
        }


class Scenarios:
    """Every scenario of one worker, and the control endpoints."""

    def __init__(self, defaults: Knobs, preloaded: dict[str, Behaviour] | None = None) -> None:
        self.defaults = defaults
        self.by_name: dict[str, Scenario] = {}
        for name, behaviour in (preloaded or {}).items():
            self.named(name).set(behaviour)

    def named(self, name: str) -> Scenario:
        scenario = self.by_name.get(name)
        if scenario is None:
            scenario = Scenario(name, Behaviour(raw={}, knobs=self.defaults))
            self.by_name[name] = scenario
        return scenario

    async def one(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        if request.method == "GET":
            scenario = self.by_name.get(name)
            if scenario is None:
                return error_response(404, f"no scenario '{name}'", type="invalid_request_error")
            return json_response(scenario.view())
        if request.method == "DELETE":
            return json_response({"deleted": self.by_name.pop(name, None) is not None})
        try:
            raw: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return invalid_request(InvalidRequest("the scenario must be JSON"))
        try:
            behaviour = Behaviour.parse(raw, self.defaults)
        except InvalidRequest as error:
            return invalid_request(error)
        if not _valid_name(name):
            return invalid_request(InvalidRequest(f"invalid scenario name '{name}'"))
        self.named(name).set(behaviour)
        return json_response(self.by_name[name].view())

    async def every(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.by_name.clear()
            return json_response({"deleted": True})
        return json_response({name: s.view() for name, s in self.by_name.items()})


def preload(path: str, defaults: Knobs) -> dict[str, Behaviour]:
    """The scenarios of a `--scenarios` file, or ValueError naming the file and the fault."""
    try:
        with open(path, "rb") as file:
            raw: Any = orjson.loads(file.read())
    except (OSError, orjson.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: must be a JSON object of scenarios (name -> behaviour)")
    out: dict[str, Behaviour] = {}
    for name, behaviour in raw.items():
        if not _valid_name(name):
            raise ValueError(f"{path}: invalid scenario name {name!r}")
        try:
            out[name] = Behaviour.parse(behaviour, defaults)
        except InvalidRequest as error:
            raise ValueError(f"{path}: scenario {name!r}: {error.message}") from None
    return out


async def answer_status(injected: StatusBody, knobs: Knobs) -> Response:
    await pause(knobs.latency_ms)
    return injected.response()


class ScenarioPrefix:
    """Mounts `/_s/{name}` over the app: the rest of the path is routed as usual and the
    request's scope carries its `Scenario`. Other paths pay one `startswith`."""

    def __init__(self, app: ASGIApp, scenarios: Scenarios) -> None:
        self.app = app
        self.scenarios = scenarios

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(PREFIX):
                name, slash, _ = path[len(PREFIX) :].partition("/")
                if slash and _valid_name(name):
                    scope["root_path"] = scope.get("root_path", "") + PREFIX + name
                    scope[SCOPE_KEY] = self.scenarios.named(name)
        await self.app(scope, receive, send)


def scenario_of(scope: Scope) -> Scenario | None:
    scenario: Scenario | None = scope.get(SCOPE_KEY)
    return scenario


def with_failure(knobs: Knobs, fail: str) -> Knobs:
    return dataclasses.replace(knobs, fail=cast(Failure, fail))


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= _MAX_NAME and name.isprintable() and "/" not in name


def _optional_int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"{key} must be an integer >= 0 or null", param=key)
    return value


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidRequest("fail_rate must be a number from 0 to 1", param="fail_rate")
    return float(value)


def _status_body(value: Any) -> StatusBody | None:
    if value is None:
        return None
    status = value.get("status") if isinstance(value, dict) else None
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidRequest(
            "status_body must be an object with an HTTP 'status' and a JSON 'body'",
            param="status_body",
        )
    headers = value.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise InvalidRequest(
            "status_body.headers must map names to strings", param="status_body.headers"
        )
    return StatusBody(status, orjson.dumps(value.get("body")), tuple(headers.items()))
