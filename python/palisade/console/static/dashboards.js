// Dashboards: requests, errors, latency and time-to-first-token percentiles, tokens and cost
// over time, the same by proxy, agent and model, the top agents by cost, guardrail actions.

import { get, query } from "./api.js";
import { append, h, ms, num, usd } from "./dom.js";
import { barChart, lineChart } from "./charts.js";

// Chart axes: two significant digits (costs per minute are fractions of a cent).
const money = (v) => (v === 0 ? "$0" : "$" + Number(v.toPrecision(2)));
const RANGES = ["1h", "6h", "24h", "7d", "30d"];
const DIMENSIONS = [["proxy", "proxy"], ["agent_id", "agent"], ["model", "model"]];

function byLines(breakdown, metric) {
  return breakdown.keys.map((key) => ({ name: key, values: breakdown[metric][key] }));
}

export async function renderDashboards(main, ctx) {
  const range = ctx.params.get("range") || "24h";
  const proxy = ctx.params.get("proxy") || "";
  const known = RANGES.includes(range) ? range : "24h";
  const [stats, proxies] = await Promise.all([
    // An age: the server's clock ends the range, so the latest records are in it.
    get(`/admin/v1/stats${query({ since: known, proxy })}`),
    get("/admin/v1/proxies"),
  ]);
  const rangeSelect = h("select", { name: "range", id: "range" },
    RANGES.map((name) => h("option", { value: name, selected: name === known }, `last ${name}`)));
  const proxySelect = h("select", { name: "proxy", id: "proxy" },
    h("option", { value: "" }, "all proxies"),
    proxies.data.map((p) => h("option", { value: p.id, selected: p.id === proxy }, p.id)));
  const change = () => {
    location.hash = `#/dashboards${query({ range: rangeSelect.value, proxy: proxySelect.value })}`;
  };
  rangeSelect.addEventListener("change", change);
  proxySelect.addEventListener("change", change);
  const s = stats.series;
  const common = { t: stats.t, step: stats.step };
  const total = s.requests.reduce((a, b) => a + b, 0);
  append(main, 
    h("h1", {}, "Dashboards"),
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "Range ", rangeSelect),
      h("label", { class: "inline" }, "Proxy ", proxySelect),
      h("span", { class: "muted", id: "totals" },
        `${num(total)} requests, ${usd(s.cost_usd.reduce((a, b) => a + b, 0))}, one point per ${stats.step / 60} min`)),
    h("div", { class: "grid" },
      lineChart({ ...common, id: "chart-requests", title: "Requests and errors",
        series: [{ name: "requests", values: s.requests }, { name: "errors", values: s.errors }], format: (v) => num(v) }),
      lineChart({ ...common, id: "chart-latency", title: "Latency p50 / p99",
        series: [{ name: "p50", values: s.latency_p50 }, { name: "p99", values: s.latency_p99 }], format: ms }),
      lineChart({ ...common, id: "chart-ttft", title: "Time to first token p50 / p99",
        series: [{ name: "p50", values: s.ttft_p50 }, { name: "p99", values: s.ttft_p99 }], format: ms }),
      lineChart({ ...common, id: "chart-tokens", title: "Tokens",
        series: [{ name: "input", values: s.input_tokens }, { name: "output", values: s.output_tokens }], format: (v) => num(v) }),
      lineChart({ ...common, id: "chart-cost", title: "Cost (USD)",
        series: [{ name: "cost", values: s.cost_usd }], format: money }),
      lineChart({ ...common, id: "chart-guardrails", title: "Guardrail actions",
        series: ["block", "redact", "mask", "flag"].map((a) => ({ name: a, values: s[`g_${a}`] })), format: (v) => num(v) }),
      barChart({ id: "chart-top-agents", title: "Top agents by cost",
        items: stats.top_agents.map((a) => ({ label: a.agent_id, value: a.cost_usd })), format: usd }),
      ...DIMENSIONS.flatMap(([dim, label]) => [
        lineChart({ ...common, id: `chart-requests-by-${label}`, title: `Requests by ${label}`,
          series: byLines(stats.by[dim], "requests"), format: (v) => num(v) }),
        lineChart({ ...common, id: `chart-tokens-by-${label}`, title: `Tokens by ${label}`,
          series: byLines(stats.by[dim], "tokens"), format: (v) => num(v) }),
        lineChart({ ...common, id: `chart-cost-by-${label}`, title: `Cost by ${label}`,
          series: byLines(stats.by[dim], "cost_usd"), format: money }),
      ]),
    ),
  );
}
