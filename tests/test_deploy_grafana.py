"""`deploy/grafana/palisade.json`: valid, and every query names metrics (and labels) the
gateway really exports, collected from the metric definitions of every palisade module."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

import palisade

DASHBOARD = Path(__file__).parents[1] / "deploy" / "grafana" / "palisade.json"
METRIC = re.compile(r"\b((?:llm|palisade|agent)_[a-z_]+)\b")
BY = re.compile(r"\bby\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> dict[str, set[str]]:
    """Sample name -> its label names, for every metric a palisade module defines."""
    names: dict[str, set[str]] = {}
    for module in pkgutil.walk_packages(palisade.__path__, "palisade."):
        if module.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if not isinstance(value, MetricWrapperBase):
                continue
            labels = set(value._labelnames)
            for family in value.describe():
                extra = {"le"} if family.type == "histogram" else set()
                for suffix in SUFFIXES[family.type]:
                    names[family.name + suffix] = labels | extra
    return names


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        out.extend((panel["title"], t["expr"]) for t in panel["targets"])
    return out


def test_the_exported_names_are_found() -> None:
    names = exported()
    # The collection itself: the request counter and a histogram's samples are there.
    assert names["llm_requests_total"] >= {"proxy", "model", "status_code"}
    assert "le" in names["llm_time_to_first_token_seconds_bucket"]
    assert "palisade_limit_store_failures_total" in names


def test_every_panel_queries_metrics_and_labels_the_gateway_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = exported()
    for title, expr in queries(dashboard):
        used = METRIC.findall(expr)
        assert used, f"{title}: {expr} names no gateway metric"
        labels: set[str] = set()
        for name in used:
            assert name in names, f"{title}: {name} is not exported"
            labels |= names[name]
        for group in BY.findall(expr):
            for label in filter(None, (x.strip() for x in group.split(","))):
                assert label in labels, f"{title}: no label {label!r} on {used}"
        for selector in SELECTOR.findall(expr):
            for label in MATCHER.findall(selector):
                assert label in labels, f"{title}: no label {label!r} on {used}"


def test_dashboard_shape() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "palisade-gateway"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    names = exported()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for name in ("proxy", "model"):
        metric, label = re.fullmatch(
            r"label_values\((\w+), (\w+)\)", variables[name]["query"]["query"]
        ).groups()  # type: ignore[union-attr]
        assert label in names[metric]
    covered = {n for _, expr in queries(dashboard) for n in METRIC.findall(expr)}
    # What the dashboard is for: requests, errors, latency, time to first token, tokens,
    # cost, guardrail actions, limits.
    assert covered >= {
        "llm_requests_total",
        "llm_upstream_errors_total",
        "llm_request_duration_seconds_bucket",
        "llm_time_to_first_token_seconds_bucket",
        "llm_tokens_total",
        "llm_cost_usd_total",
        "llm_guardrail_actions_total",
        "llm_rate_limited_total",
    }
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
