"""A mock provider and a one-worker gateway with the console on, and a headless Chromium
(Debian's, driven by Playwright) that records every request its pages make."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.helpers.servers import free_port, start_process_server

MOCK_KEY = "console-mock-key"
ADMIN = "console-admin-token-" + "Kq7" * 6
VIEWER = "console-viewer-token-" + "Wm3" * 6
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
CHROMIUM = os.environ.get("PALISADE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class ConsoleStack:
    gateway: str
    mock: str
    db: Path

    def client(self, proxy: str = "default", api_key: str = "any-key") -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.gateway}/{proxy}", api_key=api_key, max_retries=0, timeout=20
        )

    def admin(self, method: str, path: str, token: str = ADMIN, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.gateway}/admin/v1{path}",
            headers={"authorization": f"Bearer {token}"},
            timeout=20,
            **kw,
        )

    def chat(
        self,
        proxy: str = "default",
        text: str = "hello",
        model: str = "gpt-4o-mini",
        **headers: str,
    ) -> str:
        """One chat completion with attribution headers; the interaction's id."""
        answer = self.client(proxy).chat.completions.with_raw_response.create(
            model=model,
            messages=[{"role": "user", "content": text}],
            extra_headers=headers,
        )
        return answer.headers["x-palisade-request-id"]

    def wait_recorded(self, ids: list[str], timeout: float = 15.0) -> None:
        """Until the admin API lists every interaction in `ids` (the writer batches)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {i["id"] for i in self.admin("GET", "/interactions?limit=500").json()["data"]}
            if set(ids) <= found:
                return
            time.sleep(0.1)
        raise AssertionError(f"not recorded after {timeout}s: {set(ids) - found}")


def write_config(path: Path, port: int, mock_port: int, db: Path) -> None:
    path.write_text(
        f"""
server: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite_path: {db}}}
admin: {{token: {ADMIN}, viewer_token: {VIEWER}}}
identity: {{sync_interval_s: 0.5}}
auto_providers: false
providers:
  mock:
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: {MOCK_KEY}
    models: ["gpt-*"]
  dead:
    base_url: http://127.0.0.1:{free_port()}/v1
    api_key: {MOCK_KEY}
models:
  # Its first deployment refuses connections: every call takes two attempts.
  ha-model:
    deployments:
      - {{provider: dead, model: gpt-4o-mini, priority: 1}}
      - {{provider: mock, model: gpt-4o-mini}}
guardrails:
  pii-redact: {{type: pii, direction: request, action: redact}}
proxies:
  - {{name: default}}
  - {{name: Redacted, guardrails: [pii-redact]}}
  - {{name: Keys, auth: [virtual_key]}}
default_proxy: default
"""
    )


def start_stack(tmp: Path) -> Iterator[ConsoleStack]:
    mock_port, gateway_port = free_port(), free_port()
    config, db = tmp / "palisade.yaml", tmp / "console.db"
    write_config(config, gateway_port, mock_port, db)
    py = sys.executable
    mock_argv = [py, "-m", "palisade.cli", "mock-upstream", "--port", str(mock_port)]
    mock_argv += ["--api-key", MOCK_KEY]
    gateway_argv = [py, "-m", "palisade.cli", "serve", "--config", str(config)]
    with (
        start_process_server(mock_argv, mock_port) as mock,
        start_process_server(gateway_argv, gateway_port) as gateway,
    ):
        yield ConsoleStack(gateway=gateway.url, mock=mock.url, db=db)


def start_browser() -> Iterator[Browser]:
    """The system's Chromium (never a downloaded build), headless."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in its own browser context (own cookies), with every request it made."""

    page: Page
    context: BrowserContext
    origin: str
    requests: list[str] = field(default_factory=list)
    # Script errors and Content-Security-Policy violations the page reported.
    errors: list[str] = field(default_factory=list)

    def open(self, hash_: str = "") -> None:
        self.page.goto(f"{self.origin}/console/{hash_}")

    def sign_in(self, token: str) -> None:
        self.open()
        self.page.fill("#token", token)
        self.page.click("#sign-in button[type=submit]")
        self.page.wait_for_selector("#role")

    def go(self, hash_: str, ready: str) -> None:
        self.page.evaluate("h => { location.hash = h; }", hash_)
        self.page.wait_for_selector(ready)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def fetch(self, method: str, path: str, body: Any = None, csrf: bool = True) -> int:
        """A request from the page's own script context (the session cookie goes along)."""
        status: int = self.page.evaluate(
            """async ([method, path, body, csrf]) => {
                const me = await (await fetch("/console/session")).json();
                const headers = {"content-type": "application/json"};
                if (csrf) headers["x-palisade-csrf"] = me.csrf;
                const init = {method, headers};
                if (body !== null) init.body = JSON.stringify(body);
                const r = await fetch(path, init);
                return r.status;
            }""",
            [method, path, body, csrf],
        )
        return status


def open_tab(browser: Browser, origin: str) -> Tab:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    tab = Tab(page=page, context=context, origin=origin)
    record: Callable[[Any], None] = lambda request: tab.requests.append(request.url)  # noqa: E731
    context.on("request", record)
    page.on("dialog", lambda dialog: dialog.accept())
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on(
        "console",
        lambda msg: tab.errors.append(msg.text) if msg.type == "error" else None,
    )
    return tab


def offline_tab(browser: Browser, gateway: str) -> Iterator[Tab]:
    """A tab for one test, then the checks every console test makes of it: the console is
    offline (no request to any host but the gateway, whatever the page did), and no script
    error or policy violation (a refused 4xx the test provoked logs one line)."""
    tab = open_tab(browser, gateway)
    try:
        yield tab
    finally:
        tab.context.close()
    assert tab.requests, "the page made no request at all"
    strangers = [u for u in tab.requests if not u.startswith(gateway + "/")]
    assert not strangers, strangers
    unexpected = [e for e in tab.errors if "Failed to load resource" not in e]
    assert not unexpected, unexpected
