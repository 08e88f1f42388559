"""The proxies the dialects' guard tests share, and a request context on one of them."""

from __future__ import annotations

from typing import Any

import yaml

from palisade.config import parse_config
from palisade.guardrails.policy import ProxyGuards
from palisade.pipeline.context import RequestContext
from palisade.providers.base import Surface

CONFIG = r"""
guardrails:
  pii-mask: {type: pii, entities: [email], action: mask}
  secrets-block: {type: secrets, action: block}
  secrets-redact: {type: secrets, direction: response, action: redact}
  secrets-redact-both: {type: secrets, action: redact}
  tool-rules:
    type: tool_policies
    rules:
      - name: no-rm
        tool: run_shell
        when: [{argument: command, contains: "rm -rf"}]
        action: block
proxies:
  - {name: Masked, guardrails: [pii-mask]}
  - {name: Blocking, guardrails: [secrets-block]}
  - {name: Redacted, guardrails: [secrets-redact]}
  - {name: Redacting, guardrails: [secrets-redact-both]}
  - {name: Agents, guardrails: [tool-rules]}
"""
EMAIL = "jane.doe@example.com"
# Built at run time so that no secret scanner flags this file.
SECRET = "sk-proj-" + "Q7vX2mK9pL4wR8tY1nB5cJ3hF6dS0aZe" + "T3BlbkFJ" + "uV8kN2qW5xM1rP9s"


def guard_context(
    surface: Surface, proxy: str, body: dict[str, Any] | None = None
) -> RequestContext:
    config = parse_config(yaml.safe_load(CONFIG), source="t.yaml", env={})
    [found] = [p for p in config.proxies if p.id == proxy]
    ctx = RequestContext(surface=surface, guards=ProxyGuards.build(found))
    ctx.body = body or {}
    return ctx
