"""The interaction log, /metrics and the logs CLI through a real two-worker Granian gateway,
driven by the openai SDK against the mock provider."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx2 as httpx
import openai
import pytest

from palisade._core import count_chat_tokens
from palisade.pricing import PriceTable, Usage
from tests.helpers.prometheus import Key, scrape, total, worker_counter, worker_pids
from tests.helpers.redis_server import redis_server
from tests.helpers.servers import RunningServer, free_port, start_process_server

MOCK_KEY = "mock-provider-key"
ADMIN = "obs-admin-token"
VIEWER = "obs-viewer-token"
# Built at run time so that no secret scanner flags this file.
AWS_KEY = "AKIA" + "Z3MHALSBQFH7XW2P"
EMAIL = "dana.whitfield@example.org"
T = TypeVar("T")


@dataclass
class Obs:
    url: str
    mock: str
    db: Path
    server: RunningServer

    def client(self, proxy: str | None = None, **headers: str) -> openai.OpenAI:
        base = f"{self.url}/v1/openai/{proxy}" if proxy else f"{self.url}/v1"
        return openai.OpenAI(
            base_url=base,
            api_key="client-key",
            max_retries=0,
            timeout=20,
            default_headers=headers,
        )

    def admin(self, path: str, token: str = VIEWER, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.url}/admin/v1/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def records(self, count: int, **filters: Any) -> list[dict[str, Any]]:
        """The records matching `filters`, once there are `count` of them (newest first)."""

        def ready() -> list[dict[str, Any]] | None:
            answer = self.admin("interactions", limit=100, **filters)
            assert answer.status_code == 200, answer.text
            data: list[dict[str, Any]] = answer.json()["data"]
            return data if len(data) >= count else None

        return wait_for(ready)

    def metrics(self) -> dict[Key, float]:
        return scrape(self.url)


def wait_for(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def gateway_config(path: Path, port: int, mock_port: int, redis_url: str, extra: str = "") -> None:
    # Two workers need Redis for stage 3's shared state.
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}, workers: 2}}
store: {{sqlite_path: {path.parent / "obs.db"}, redis_url: "{redis_url}"}}
admin: {{token: {ADMIN}, viewer_token: {VIEWER}}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["mock-*", "gpt-*"]
  mock-gemini: {{kind: gemini, base_url: "http://127.0.0.1:{mock_port}/v1beta",
                 api_key: {MOCK_KEY}, models: ["gemini-*"]}}
  mock-cohere: {{kind: cohere, base_url: "http://127.0.0.1:{mock_port}", api_key: {MOCK_KEY}}}
  mock-bedrock: {{kind: bedrock, base_url: "http://127.0.0.1:{mock_port}", region: us-east-1,
                  aws_access_key_id: AKIDPALISADETEST,
                  aws_secret_access_key: palisade-mock-aws-secret}}
guardrails:
  secrets-block: {{type: secrets, action: block}}
  email-redact: {{type: pii, entities: [email], direction: request, action: redact}}
proxies:
  - {{name: default}}
  - {{name: Guarded, guardrails: [secrets-block, email-redact]}}
  - {{name: Metered, guardrails: [secrets-block]}}
{extra}"""
    )


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Obs]:
    tmp = tmp_path_factory.mktemp("obs")
    mock_port, port = free_port(), free_port()
    config = tmp / "palisade.yaml"
    palisade = [sys.executable, "-m", "palisade.cli"]
    mock_argv = [*palisade, "mock-upstream", "--port", str(mock_port), "--api-key", MOCK_KEY]
    with (
        redis_server() as redis,
        _configured(config, port, mock_port, redis.url),
        start_process_server(mock_argv, mock_port),
        start_process_server(
            [*palisade, "serve", "--config", str(config)], port, workers=2
        ) as server,
    ):
        yield Obs(
            f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mock_port}", tmp / "obs.db", server
        )


@contextmanager
def _configured(config: Path, port: int, mock_port: int, redis_url: str) -> Iterator[None]:
    gateway_config(config, port, mock_port, redis_url)
    yield


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def one(obs: Obs, **filters: Any) -> dict[str, Any]:
    [item] = obs.records(1, **filters)
    full = obs.admin(f"interactions/{item['id']}")
    assert full.status_code == 200, full.text
    detail: dict[str, Any] = full.json()
    return detail


# --- records --------------------------------------------------------------------------------


def test_a_successful_call_is_recorded_with_tokens_cost_and_bodies(obs: Obs) -> None:
    session, run = new_id("s"), new_id("run")
    headers = {
        "X-Archestra-Agent-Id": "planner",
        "X-Archestra-User-Id": "u-42",
        "X-Archestra-Session-Id": session,
        "X-Archestra-Execution-Id": run,
    }
    with obs.client(**headers) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=user("Say hello.")
        )
    answer = raw.parse()
    assert answer.usage is not None
    item = one(obs, session_id=session)
    assert item["id"] == raw.headers["x-palisade-request-id"]
    assert (item["agent_id"], item["user_id"], item["execution_id"]) == ("planner", "u-42", run)
    assert (item["proxy"], item["auth_method"], item["key_id"]) == ("default", "none", None)
    assert (item["provider"], item["model"], item["served_model"]) == ("mock", "gpt-4o", "gpt-4o")
    assert (item["endpoint"], item["stream"], item["status"]) == ("chat/completions", False, 200)
    assert item["error_code"] is None
    assert item["upstream_status"] == 200
    assert item["input_tokens"] == answer.usage.prompt_tokens
    assert item["output_tokens"] == answer.usage.completion_tokens
    assert item["tokens_counted"] is False
    usage = Usage(answer.usage.prompt_tokens, answer.usage.completion_tokens)
    assert item["cost_usd"] == pytest.approx(PriceTable().cost("gpt-4o", usage))
    assert item["cost_usd"] > 0
    assert item["latency_ms"] > 0
    assert item["ttft_ms"] is None
    assert json.loads(item["request_body"])["messages"] == user("Say hello.")
    assert json.loads(item["response_body"]) == json.loads(raw.http_response.content)
    assert item["decisions"] == []
    assert item["limit_outcome"] is None


# The native routes of the other APIs: (route path, body, provider, model, endpoint, usage ->
# (input, output) as the API reports it).
NATIVE = (
    (
        "gemini/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "Say hello."}]}]},
        "mock-gemini",
        "gemini-2.5-flash",
        "generateContent",
        lambda a: (
            a["usageMetadata"]["promptTokenCount"],
            a["usageMetadata"]["candidatesTokenCount"]
            + a["usageMetadata"].get("thoughtsTokenCount", 0),
        ),
    ),
    (
        "bedrock/model/mock-bedrock%3Ahaiku/converse",
        {"messages": [{"role": "user", "content": [{"text": "Say hello."}]}]},
        "mock-bedrock",
        "haiku",
        "converse",
        lambda a: (a["usage"]["inputTokens"], a["usage"]["outputTokens"]),
    ),
    (
        "cohere/v2/chat",
        {"model": "mock-cohere:command-r", "messages": [{"role": "user", "content": "Say hello."}]},
        "mock-cohere",
        "command-r",
        "v2/chat",
        lambda a: (
            a["usage"]["billed_units"]["input_tokens"],
            a["usage"]["billed_units"]["output_tokens"],
        ),
    ),
)


@pytest.mark.parametrize(
    ("path", "body", "provider", "model", "endpoint", "usage"),
    NATIVE,
    ids=[n[2] for n in NATIVE],
)
def test_a_native_route_is_recorded_and_counted_like_any_other(
    obs: Obs,
    path: str,
    body: dict[str, Any],
    provider: str,
    model: str,
    endpoint: str,
    usage: Callable[[dict[str, Any]], tuple[int, int]],
) -> None:
    agent, session = new_id("native"), new_id("s")
    before = obs.metrics()
    headers = {"X-Archestra-Agent-Id": agent, "X-Archestra-Session-Id": session}
    answer = httpx.post(f"{obs.url}/v1/{path}", json=body, headers=headers, timeout=20)
    assert answer.status_code == 200, answer.text
    input_tokens, output_tokens = usage(answer.json())
    item = one(obs, session_id=session)
    assert item["id"] == answer.headers["x-palisade-request-id"]
    assert (item["agent_id"], item["provider"], item["served_model"]) == (agent, provider, model)
    assert (item["endpoint"], item["status"], item["tokens_counted"]) == (endpoint, 200, False)
    assert (item["input_tokens"], item["output_tokens"]) == (input_tokens, output_tokens)
    labels = {"external_agent_id": agent, "provider": provider}

    def settled() -> dict[Key, float] | None:
        after = obs.metrics()
        return after if delta(before, after, "llm_requests_total", **labels) >= 1 else None

    after = wait_for(settled)
    assert delta(before, after, "llm_requests_total", **labels, status_code="200") == 1
    assert delta(before, after, "llm_tokens_total", **labels, type="input") == input_tokens
    assert delta(before, after, "llm_tokens_total", **labels, type="output") == output_tokens


def test_a_stream_is_recorded_with_the_usage_the_gateway_asked_for(obs: Obs) -> None:
    session = new_id("s")
    with obs.client(**{"X-Palisade-Session-Id": session}) as client:
        with_usage = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=user("Count to five."),
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        # Without include_usage the client sees no usage; the gateway asks for it anyway.
        plain = list(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=user("Count to five."), stream=True
            )
        )
    usage = with_usage[-1].usage
    assert usage is not None
    assert all(chunk.usage is None for chunk in plain)
    items = obs.records(2, session_id=session)
    for item in items:
        assert item["stream"] is True
        assert item["status"] == 200
        assert (item["input_tokens"], item["output_tokens"]) == (
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        assert item["tokens_counted"] is False
        assert item["ttft_ms"] is not None
        assert 0 < item["ttft_ms"] <= item["latency_ms"]
    full = obs.admin(f"interactions/{items[0]['id']}").json()
    assert full["response_body"].startswith("data: ")
    assert full["response_body"].rstrip().endswith("data: [DONE]")


def test_an_upstream_failure_is_recorded(obs: Obs) -> None:
    session = new_id("s")
    with (
        obs.client(**{"X-Archestra-Session-Id": session}) as client,
        pytest.raises(openai.InternalServerError),
    ):
        client.chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_body={"mock": {"fail": "500"}}
        )
    item = one(obs, session_id=session)
    assert (item["status"], item["upstream_status"], item["error_code"]) == (500, 500, None)
    assert (item["input_tokens"], item["output_tokens"], item["cost_usd"]) == (0, 0, 0.0)
    assert item["request_body"] is not None  # the provider saw it


def test_a_blocked_request_is_recorded_without_its_secret(obs: Obs) -> None:
    session = new_id("s")
    with (
        obs.client("guarded", **{"X-Archestra-Session-Id": session}) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(model="gpt-4o", messages=user(f"my key is {AWS_KEY}"))
    assert info.value.code == "secret_detected"
    item = one(obs, session_id=session)
    assert (item["proxy"], item["status"], item["error_code"]) == (
        "guarded",
        400,
        "secret_detected",
    )
    assert item["upstream_status"] is None
    assert item["guardrail_actions"] == ["block"]
    [decision] = item["decisions"]
    assert decision["guardrail"] == "secrets-block"
    assert decision["counts"] == {"aws_access_key": 1}
    assert item["request_body"] is None  # never stored: it holds the secret
    assert "secret_detected" in item["response_body"]
    # Nowhere in the store, the WAL included.
    for path in obs.db.parent.glob("obs.db*"):
        assert AWS_KEY.encode() not in path.read_bytes()


def test_a_redacted_request_is_stored_as_the_provider_saw_it(obs: Obs) -> None:
    session = new_id("s")
    with obs.client("guarded", **{"X-Archestra-Session-Id": session}) as client:
        client.chat.completions.create(model="gpt-4o", messages=user(f"Write to {EMAIL}."))
    item = one(obs, session_id=session)
    assert item["status"] == 200
    assert item["guardrail_actions"] == ["redact"]
    assert json.loads(item["request_body"])["messages"] == user("Write to [EMAIL_1].")
    assert EMAIL not in json.dumps(item)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "nobody-serves-this", "messages": user("hi")}, 404, "model_not_found"),
        ({"messages": user("hi")}, 400, "missing_model"),
        ({"model": "gpt-4o", "messages": user("hi"), "stream": "yes"}, 400, "invalid_request"),
    ],
)
def test_gateway_errors_are_recorded(
    obs: Obs, body: dict[str, Any], status: int, code: str
) -> None:
    session = new_id("s")
    answer = httpx.post(
        f"{obs.url}/v1/chat/completions",
        json=body,
        headers={"X-Archestra-Session-Id": session},
        timeout=10,
    )
    assert answer.status_code == status
    item = one(obs, session_id=session)
    assert (item["status"], item["error_code"], item["request_body"]) == (status, code, None)
    assert item["served_model"] is None
    assert item["provider"] is None


def test_an_unknown_proxy_is_recorded(obs: Obs) -> None:
    session = new_id("s")
    with (
        obs.client("no-such-proxy", **{"X-Archestra-Session-Id": session}) as client,
        pytest.raises(openai.NotFoundError),
    ):
        client.chat.completions.create(model="gpt-4o", messages=user("hi"))
    # Attribution is read before the proxy is looked up: the refusal is found by its session.
    item = one(obs, session_id=session)
    assert (item["status"], item["error_code"]) == (404, "proxy_not_found")
    assert item["proxy"] == ""
    assert item["provider"] is None


def test_a_client_that_leaves_mid_stream_leaves_a_record_of_what_it_got(obs: Obs) -> None:
    session = new_id("s")
    reply = " ".join(f"Part {i} of the story goes on a little further." for i in range(40))
    knobs = {"reply": reply, "chunks": 40, "chunk_interval_ms": 40}
    messages = user("Tell me a long story.")
    with obs.client(**{"X-Archestra-Session-Id": session}) as client:
        full = list(
            client.chat.completions.create(
                model="gpt-4o",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                extra_body={"mock": {**knobs, "chunk_interval_ms": 0}},
            )
        )
        stream = client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True, extra_body={"mock": knobs}
        )
        got = [next(stream) for _ in range(4)]
        stream.close()
    assert got[1].choices[0].delta.content
    total = full[-1].usage
    assert total is not None

    def left() -> dict[str, Any] | None:
        items = obs.records(2, session_id=session)
        gone = [i for i in items if i["error_code"] == "client_disconnected"]
        return gone[0] if gone else None

    item = wait_for(left)
    assert item["status"] == 200
    assert item["stream"] is True
    assert item["tokens_counted"] is True
    # The prompt as the provider got it (the gateway added stream_options, not text).
    assert item["input_tokens"] == count_chat_tokens(json.dumps(messages).encode(), "gpt-4o")
    # Only what was sent before the client left: some of the answer, not all of it.
    assert 0 < item["output_tokens"] < total.completion_tokens
    assert item["cost_usd"] > 0


# --- the admin API --------------------------------------------------------------------------


def test_the_admin_api_filters_and_pages(obs: Obs) -> None:
    agent, session = new_id("agent"), new_id("s")
    with obs.client(**{"X-Archestra-Agent-Id": agent, "X-Archestra-Session-Id": session}) as c:
        for i in range(5):
            c.chat.completions.create(model="gpt-4o-mini", messages=user(f"question {i}"))
        c.chat.completions.create(model="gpt-4o", messages=user("one more"))
    everything = obs.records(6, agent_id=agent)
    assert len(everything) == 6
    times = [item["time"] for item in everything]
    assert times == sorted(times, reverse=True)

    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"agent_id": agent, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        answer = obs.admin("interactions", **params).json()
        pages += [item["id"] for item in answer["data"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert pages == [item["id"] for item in everything]

    assert len(obs.admin("interactions", agent_id=agent, model="gpt-4o").json()["data"]) == 1
    assert len(obs.admin("interactions", agent_id=agent, proxy="guarded").json()["data"]) == 0
    assert len(obs.admin("interactions", agent_id=agent, since="1h").json()["data"]) == 6
    assert obs.admin("interactions", agent_id=agent, until="1h").json()["data"] == []
    assert obs.admin("interactions", agent_id=agent, status=500).json()["data"] == []

    sessions = obs.admin("sessions", agent_id=agent).json()["data"]
    assert [(s["session_id"], s["requests"], s["agent_ids"]) for s in sessions] == [
        (session, 6, [agent])
    ]
    assert sessions[0]["cost_usd"] == pytest.approx(sum(i["cost_usd"] for i in everything))


def test_blocks_can_be_listed(obs: Obs) -> None:
    session = new_id("s")
    with obs.client("guarded", **{"X-Archestra-Session-Id": session}) as client:
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o", messages=user(f"key {AWS_KEY}"))
        client.chat.completions.create(model="gpt-4o", messages=user("nothing to see"))
    obs.records(2, session_id=session)
    blocked = obs.admin("interactions", session_id=session, guardrail_action="block").json()
    assert [i["error_code"] for i in blocked["data"]] == ["secret_detected"]


@pytest.mark.parametrize(
    ("token", "params", "status", "code"),
    [
        (None, {}, 401, "invalid_admin_token"),
        ("wrong", {}, 401, "invalid_admin_token"),
        (VIEWER, {"limit": "0"}, 400, "invalid_request"),
        (VIEWER, {"status": "abc"}, 400, "invalid_request"),
        (VIEWER, {"since": "last tuesday"}, 400, "invalid_request"),
        (VIEWER, {"cursor": "garbage"}, 400, "invalid_cursor"),
        (VIEWER, {"guardrail_action": "explode"}, 400, "invalid_request"),
        (VIEWER, {"colour": "red"}, 400, "invalid_request"),
    ],
)
def test_the_admin_api_refuses_bad_calls(
    obs: Obs, token: str | None, params: dict[str, str], status: int, code: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(
        f"{obs.url}/admin/v1/interactions", params=params, headers=headers, timeout=10
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"].startswith("Palisade: ")


def test_one_unknown_interaction_is_404(obs: Obs) -> None:
    answer = obs.admin("interactions/req_does_not_exist", token=ADMIN)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "interaction_not_found"


# --- the logs CLI ---------------------------------------------------------------------------


def test_palisade_logs_prints_a_table_and_one_interaction(obs: Obs) -> None:
    session = new_id("cli")
    with obs.client(**{"X-Archestra-Session-Id": session, "X-Archestra-Agent-Id": "cli-bot"}) as c:
        c.chat.completions.create(model="gpt-4o", messages=user("for the CLI"))
    [item] = obs.records(1, session_id=session)
    config = obs.db.parent / "palisade.yaml"
    cli = [sys.executable, "-m", "palisade.cli", "logs", "--config", str(config)]
    env = {**os.environ, "COLUMNS": "200"}
    table = subprocess.run(
        [*cli, "--session-id", session, "--since", "1h"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    header, row = table.splitlines()
    assert header.split()[:3] == ["TIME", "(UTC)", "ID"]
    assert item["id"] in row
    assert "cli-bot" in row
    assert "gpt-4o" in row
    assert " 200 " in row
    shown = subprocess.run(
        [*cli, "show", item["id"]], capture_output=True, text=True, check=True
    ).stdout
    detail = json.loads(shown)
    assert detail["id"] == item["id"]
    assert detail["session_id"] == session
    assert detail["request_body"]["messages"] == user("for the CLI")
    missing = subprocess.run([*cli, "show", "req_nope"], capture_output=True, text=True)
    assert missing.returncode == 1
    assert "req_nope" in missing.stderr


# --- /metrics with two workers --------------------------------------------------------------


def delta(before: dict[Key, float], after: dict[Key, float], name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_metrics_add_up_across_two_workers(obs: Obs) -> None:
    agent = new_id("metrics")
    before = obs.metrics()
    runs = [new_id("run") for _ in range(3)]

    def call(i: int) -> int:
        # A connection per call, in parallel, so that both workers take calls. The proxy is
        # this test's own: the other tests' calls (their metrics land up to a second late)
        # cannot move its labels.
        headers = {"X-Archestra-Agent-Id": agent, "X-Archestra-Execution-Id": runs[i % 3]}
        with obs.client("metered", **headers) as client:
            if i % 4 == 0:
                with pytest.raises(openai.InternalServerError):
                    client.chat.completions.create(
                        model="gpt-4o", messages=user("x"), extra_body={"mock": {"fail": "500"}}
                    )
                return 0
            if i % 4 == 1:
                chunks = list(
                    client.chat.completions.create(
                        model="gpt-4o",
                        messages=user(f"stream {i}"),
                        stream=True,
                        stream_options={"include_usage": True},
                    )
                )
                usage = chunks[-1].usage
            else:
                usage = client.chat.completions.create(
                    model="gpt-4o", messages=user(f"call {i}")
                ).usage
            assert usage is not None
            return usage.total_tokens

    with ThreadPoolExecutor(8) as pool:
        tokens = sum(pool.map(call, range(24)))
    with obs.client("metered", **{"X-Archestra-Agent-Id": agent}) as client:
        for _ in range(3):
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(model="gpt-4o", messages=user(f"k {AWS_KEY}"))

    labels = {"external_agent_id": agent}

    def settled() -> dict[Key, float] | None:
        after = obs.metrics()
        done = delta(before, after, "llm_requests_total", **labels) >= 27
        ran = delta(before, after, "agent_executions_total", **labels) >= 3
        stored = delta(before, after, "palisade_interactions_written_total") >= 27
        return after if done and ran and stored else None

    after = wait_for(settled)
    ok = {**labels, "proxy": "metered", "provider": "mock", "model": "gpt-4o"}
    assert delta(before, after, "llm_requests_total", **labels) == 27
    assert delta(before, after, "llm_requests_total", **ok, status_code="200") == 18
    assert delta(before, after, "llm_requests_total", **ok, status_code="500") == 6
    assert (
        delta(before, after, "llm_requests_total", **labels, proxy="metered", status_code="400")
        == 3
    )
    assert delta(before, after, "llm_request_duration_seconds_count", **labels) == 27
    assert delta(before, after, "llm_time_to_first_token_seconds_count", **labels) == 6
    assert (
        delta(before, after, "llm_tokens_total", **labels, type="input")
        + delta(before, after, "llm_tokens_total", **labels, type="output")
        == tokens
    )
    assert delta(before, after, "llm_cost_usd_total", **labels) > 0
    assert delta(before, after, "agent_executions_total", **labels) == 3
    assert (
        delta(before, after, "llm_upstream_errors_total", proxy="metered", status_code="500") == 6
    )
    assert (
        delta(
            before,
            after,
            "llm_guardrail_actions_total",
            proxy="metered",
            guardrail="secrets-block",
            action="block",
            direction="request",
        )
        == 3
    )
    written = delta(before, after, "palisade_interactions_written_total")
    assert written >= 27
    assert delta(before, after, "palisade_interactions_dropped_total") == 0
    # Both workers took calls, and /metrics added up both workers' files.
    per_worker = [
        worker_counter(pid, "llm_requests_total", external_agent_id=agent)
        for pid in worker_pids(obs.server.process.pid)
    ]
    assert len(per_worker) == 2
    assert all(n > 0 for n in per_worker)
    assert sum(per_worker) == 27


def test_palisade_logs_follow_prints_new_interactions(obs: Obs) -> None:
    session = new_id("follow")
    config = obs.db.parent / "palisade.yaml"
    argv = [sys.executable, "-m", "palisade.cli", "logs", "--config", str(config)]
    follow = subprocess.Popen(
        [*argv, "--session-id", session, "--follow"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert follow.stdout is not None
        assert read_line(follow.stdout).startswith("TIME (UTC)")
        with obs.client(**{"X-Archestra-Session-Id": session}) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=user("follow me")
            )
        request_id = raw.headers["x-palisade-request-id"]
        line = read_line(follow.stdout)
        assert request_id in line
        assert " 200 " in line
    finally:
        follow.terminate()
        follow.wait(10)


def read_line(stream: IO[str], timeout: float = 20.0) -> str:
    """The next line, failing (not hanging) when none comes."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no line in time"
    return stream.readline()
