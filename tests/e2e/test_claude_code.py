"""Claude Code through a real gateway, against the mock provider: `claude -p` as it ships (the
npm package pinned in package.json, which `make test` installs with `npm ci`), changed only by
its documented environment: a temporary HOME, the gateway as `ANTHROPIC_BASE_URL`, the mock's
knobs and Palisade's attribution as `ANTHROPIC_CUSTOM_HEADERS`, and no traffic but the model's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, CLIENT_KEY, MOCK_KEY, Stack

REPO = Path(__file__).resolve().parents[2]
CLAUDE = REPO / "node_modules" / ".bin" / "claude"
VERSION = json.loads((REPO / "package.json").read_text())["devDependencies"][
    "@anthropic-ai/claude-code"
]
MODEL = "claude-sonnet-4-5"  # the mock's Anthropic side
GPT = "mock-gpt"  # an OpenAI-dialect model: Claude Code reaches it through the translation
TIMEOUT_S = 60
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
# Besides the model's own requests Claude Code sends telemetry, error reports, update checks and
# a preconnect; none of them may leave a test.
QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}


@pytest.fixture(scope="module")
def claude() -> Path:
    if not CLAUDE.exists():
        pytest.fail(f"{CLAUDE} is missing: `make test` installs it (node, npm, `npm ci`)")
    return CLAUDE


@dataclass(frozen=True)
class Run:
    code: int
    result: dict[str, Any]
    """What `--output-format json` prints: one `result` object."""
    seconds: float


@dataclass(frozen=True)
class Workspace:
    home: Path
    work: Path
    claude: Path

    def run(
        self,
        base_url: str,
        prompt: str,
        *,
        model: str = MODEL,
        knobs: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        credential: tuple[str, str] = ("ANTHROPIC_API_KEY", CLIENT_KEY),
    ) -> Run:
        custom = dict(headers or {})
        if knobs is not None:
            custom["x-mock-knobs"] = json.dumps(knobs)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "ANTHROPIC_BASE_URL": base_url,
            credential[0]: credential[1],
            "ANTHROPIC_MODEL": model,
            # The background model (ANTHROPIC_SMALL_FAST_MODEL before it was renamed).
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
            "ANTHROPIC_CUSTOM_HEADERS": "\n".join(f"{k}: {v}" for k, v in custom.items()),
            **QUIET,
        }
        argv = [str(self.claude), "-p", prompt, "--output-format", "json"]
        argv.append("--no-session-persistence")
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=self.work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"claude -p ran over {TIMEOUT_S} s\n{_tail(out, err)}")
        try:
            result = json.loads(out)
        except json.JSONDecodeError:
            pytest.fail(f"claude -p exited {process.returncode} with no result\n{_tail(out, err)}")
        return Run(process.returncode, result, time.monotonic() - started)


def _tail(out: bytes, err: bytes) -> str:
    text = [part[-3000:].decode(errors="replace") for part in (out, err)]
    return f"stdout: {text[0]}\nstderr: {text[1]}"


@pytest.fixture
def workspace(claude: Path, tmp_path: Path) -> Workspace:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    return Workspace(home, work, claude)


def completed(run: Run, reply: str) -> None:
    assert run.code == 0, run.result
    assert (run.result["type"], run.result["subtype"]) == ("result", "success"), run.result
    assert run.result["is_error"] is False, run.result
    assert run.result["result"] == reply


def interactions(stack: Stack, agent_id: str, count: int) -> list[dict[str, Any]]:
    """The gateway's records of one agent, once `count` of them are written (off the request
    path, in batches), oldest first."""
    deadline = time.monotonic() + 15
    while True:
        answer = httpx.get(
            f"{stack.gateway}/admin/v1/interactions", params={"agent_id": agent_id}, headers=ADMIN
        )
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            assert len(data) == count, data
            return sorted(data, key=lambda item: item["seq"])
        time.sleep(0.1)


def agent() -> str:
    return f"claude-code-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("path", ["", "/v1/anthropic/default"], ids=["root", "anthropic-route"])
def test_a_prompt_completes(stack: Stack, workspace: Workspace, path: str) -> None:
    stack.clear_mock()
    run = workspace.run(stack.gateway + path, "Say hello.", knobs={"reply": "Hello from the mock."})
    completed(run, "Hello from the mock.")
    # One request, and everything Claude Code sent reached the provider.
    [seen] = stack.mock_requests()
    assert (seen["method"], seen["path"]) == ("POST", "/v1/messages")
    headers, body = seen["headers"], seen["body"]
    assert headers["x-api-key"] == MOCK_KEY  # the gateway's key, not the client's
    assert headers["user-agent"].startswith(f"claude-cli/{VERSION} ")
    assert "claude-code-20250219" in headers["anthropic-beta"].split(",")
    assert headers["anthropic-version"] == "2023-06-01"
    assert (body["model"], body["stream"]) == (MODEL, True)
    names = {tool["name"] for tool in body["tools"]}
    assert {"Bash", "Read", "Edit", "Write"} <= names
    assert all("input_schema" in tool for tool in body["tools"])
    system = body["system"]
    assert all(block["type"] == "text" for block in system)
    assert any("cache_control" in block for block in system)
    assert "Claude" in "".join(block["text"] for block in system)
    assert "Say hello." in json.dumps(body["messages"][-1])
    # Fields the gateway has no rule for pass as they came.
    assert {"metadata", "thinking", "context_management"} <= set(body)


def test_a_model_it_does_not_know_gets_its_system_messages(
    stack: Stack, workspace: Workspace
) -> None:
    # To a model it does not know Claude Code sends its environment as a `role: "system"`
    # message after the user's turn; the mock used to refuse that, and Claude Code then sent
    # the request again without it.
    stack.clear_mock()
    run = workspace.run(stack.gateway, "Hi.", model="claude-palisade-e2e", knobs={"reply": "Ok."})
    completed(run, "Ok.")
    [seen] = stack.mock_requests()
    roles = [message["role"] for message in seen["body"]["messages"]]
    assert roles == ["user", "system"]


@pytest.mark.parametrize("model", [MODEL, GPT], ids=["anthropic", "translated"])
def test_a_tool_round_trip(stack: Stack, workspace: Workspace, model: str) -> None:
    notes = workspace.work / "notes.txt"
    notes.write_text("The launch code word is pelican.\n")
    knobs = {
        "tool_calls": [{"name": "Read", "arguments": {"file_path": str(notes)}}],
        "tool_rounds": 1,  # then text: the same knobs travel with every request of the loop
        "reply": "The file says pelican.",
    }
    stack.clear_mock()
    run = workspace.run(
        f"{stack.gateway}/v1/anthropic", "Read notes.txt.", model=model, knobs=knobs
    )
    completed(run, "The file says pelican.")
    assert run.result["num_turns"] == 2
    assert run.result["permission_denials"] == []
    first, second = stack.mock_requests()
    assert first["path"] == second["path"]
    if model == GPT:
        assert second["path"] == "/v1/chat/completions"
        [call] = [c for m in second["body"]["messages"] for c in m.get("tool_calls") or []]
        assert call["function"]["name"] == "Read"
        assert json.loads(call["function"]["arguments"]) == {"file_path": str(notes)}
        [result] = [m for m in second["body"]["messages"] if m["role"] == "tool"]
        assert result["tool_call_id"] == call["id"]
        assert "The launch code word is pelican." in json.dumps(result["content"])
    else:
        assert second["path"] == "/v1/messages"
        blocks = [b for m in second["body"]["messages"] for b in _blocks(m)]
        [use] = [b for b in blocks if b["type"] == "tool_use"]
        assert (use["name"], use["input"]) == ("Read", {"file_path": str(notes)})
        [result] = [b for b in blocks if b["type"] == "tool_result"]
        assert result["tool_use_id"] == use["id"]
        assert "The launch code word is pelican." in json.dumps(result["content"])


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [] if isinstance(content, str) else list(content)


def test_the_interaction_is_recorded_under_the_agent(stack: Stack, workspace: Workspace) -> None:
    agent_id, session_id = agent(), str(uuid.uuid4())
    headers = {"X-Palisade-Agent-Id": agent_id, "X-Palisade-Session-Id": session_id}
    run = workspace.run(stack.gateway, "Hi.", knobs={"reply": "Recorded."}, headers=headers)
    completed(run, "Recorded.")
    [record] = interactions(stack, agent_id, 1)
    assert record["session_id"] == session_id
    assert (record["endpoint"], record["status"], record["stream"]) == ("messages", 200, True)
    assert (record["provider"], record["model"]) == ("mock-anthropic", MODEL)
    assert record["input_tokens"] > 1000  # the system prompt and the tools
    assert record["output_tokens"] > 0


def test_a_large_tool_result_on_an_openai_model_is_counted_by_the_gateway(
    stack: Stack, workspace: Workspace
) -> None:
    # Claude Code counts a large tool result before it sends it back; OpenAI's API has no
    # count, so the gateway counts (it used to refuse, and Claude Code then guessed).
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    lines = (" ".join(words[(i + j) % len(words)] for j in range(12)) for i in range(1500))
    big = workspace.work / "big.txt"
    big.write_text("\n".join(lines))
    agent_id = agent()
    knobs = {
        "tool_calls": [{"name": "Read", "arguments": {"file_path": str(big)}}],
        "tool_rounds": 1,
        "reply": "Read it all.",
    }
    run = workspace.run(
        f"{stack.gateway}/v1/anthropic",
        "Read big.txt.",
        model=GPT,
        knobs=knobs,
        headers={"X-Palisade-Agent-Id": agent_id},
    )
    completed(run, "Read it all.")
    records = interactions(stack, agent_id, 3)
    assert [(r["endpoint"], r["status"]) for r in records] == [
        ("messages", 200),
        ("messages/count_tokens", 200),
        ("messages", 200),
    ]
    assert records[1]["provider"] == "mock"


@pytest.fixture(scope="module")
def keyed_proxy(stack: Stack) -> tuple[str, str]:
    """A proxy that takes only virtual keys, and one of its keys."""
    created = httpx.post(
        f"{stack.gateway}/admin/v1/proxies",
        json={"name": "Claude Code Keys", "auth": ["virtual_key"]},
        headers=ADMIN,
    )
    assert created.status_code in (200, 201), created.text
    proxy_id = created.json()["id"]
    key = httpx.post(
        f"{stack.gateway}/admin/v1/keys", json={"proxy": proxy_id, "name": "cc"}, headers=ADMIN
    )
    assert key.status_code in (200, 201), key.text
    return proxy_id, key.json()["key"]


@pytest.mark.parametrize(
    ("variable", "route"),
    [("ANTHROPIC_API_KEY", ""), ("ANTHROPIC_AUTH_TOKEN", "/v1/anthropic")],
    ids=["x-api-key", "bearer"],
)
def test_a_virtual_key(
    stack: Stack, workspace: Workspace, keyed_proxy: tuple[str, str], variable: str, route: str
) -> None:
    proxy_id, key = keyed_proxy
    agent_id = agent()
    run = workspace.run(
        f"{stack.gateway}{route}/{proxy_id}",
        "Hi.",
        knobs={"reply": "Keyed."},
        headers={"X-Palisade-Agent-Id": agent_id},
        credential=(variable, key),
    )
    completed(run, "Keyed.")
    [record] = interactions(stack, agent_id, 1)
    assert (record["proxy"], record["auth_method"]) == (proxy_id, "virtual_key")
    assert record["key_id"]


def test_a_wrong_key_fails_at_once_with_the_gateways_reason(
    stack: Stack, workspace: Workspace, keyed_proxy: tuple[str, str]
) -> None:
    proxy_id, _ = keyed_proxy
    agent_id = agent()
    run = workspace.run(
        f"{stack.gateway}/{proxy_id}",
        "Hi.",
        headers={"X-Palisade-Agent-Id": agent_id},
        credential=("ANTHROPIC_API_KEY", "pal-not-a-key"),
    )
    assert run.code != 0
    assert run.result["is_error"] is True
    assert run.result["api_error_status"] == 401
    assert "Palisade:" in run.result["result"]
    # Not retried: Claude Code retries a 401 for minutes unless told not to.
    assert run.seconds < 20
    [record] = interactions(stack, agent_id, 1)
    assert record["status"] == 401
