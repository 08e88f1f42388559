// One interaction: what the provider saw, what the client got, every guardrail decision, the
// limits/budget/dedup outcome, the attempts (when the record has them) and the trace id.

import { get } from "./api.js";
import { append, h, link, message, ms, num, pretty, table, time, usd } from "./dom.js";

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([label, value]) => [
    h("dt", {}, label),
    h("dd", { "data-field": label }, value === null || value === undefined || value === "" ? "—" : value),
  ]));
}

function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function objects(items, id) {
  const keys = [...new Set(items.flatMap((item) => Object.keys(item)))];
  return table(keys, items.map((item) => h("tr", {}, keys.map((k) => h("td", {}, cell(item[k]))))), { id });
}

export async function renderDetail(main, ctx) {
  const item = await get(`/admin/v1/interactions/${encodeURIComponent(ctx.arg)}`);
  const attempts = Array.isArray(item.attempts) ? item.attempts : null;
  append(main, 
    h("p", {}, link("#/logs", "← Logs")),
    h("h1", {}, "Interaction ", h("code", {}, item.id)),
    h("section", { class: "card" }, h("h2", {}, "Summary"), facts([
      ["Time", time(item.time)],
      ["Proxy", item.proxy],
      ["Auth", item.auth_method + (item.key_id ? ` (key ${item.key_id})` : "")],
      ["Agent", item.agent_id],
      ["User", item.user_id],
      ["Session", item.session_id ? link(`#/session/${encodeURIComponent(item.session_id)}`, item.session_id) : null],
      ["Execution", item.execution_id],
      ["Provider", item.provider],
      ["Model", item.model + (item.served_model && item.served_model !== item.model ? ` → ${item.served_model}` : "")],
      ["Downgraded from", item.downgraded_from ? `${item.downgraded_from} (${item.downgrade_reason || "no reason recorded"})` : null],
      ["Endpoint", item.endpoint + (item.stream ? " (stream)" : "")],
      ["Status", `${item.status}` + (item.upstream_status ? ` (provider ${item.upstream_status})` : "") + (item.error_code ? ` ${item.error_code}` : "")],
      ["Latency", ms(item.latency_ms)],
      ["Time to first token", ms(item.ttft_ms)],
      ["Tokens", `${num(item.input_tokens)} in / ${num(item.output_tokens)} out` +
        (item.cached_tokens ? `, ${num(item.cached_tokens)} cached` : "") +
        (item.reasoning_tokens ? `, ${num(item.reasoning_tokens)} reasoning` : "") +
        (item.tokens_counted ? " (counted by the gateway)" : "")],
      ["Cost", usd(item.cost_usd)],
      ["Trace id", item.trace_id ? h("code", { id: "trace-id" }, item.trace_id) : null],
      ["Translation", item.translation ? JSON.stringify(item.translation) : null],
    ])),
    h("section", { class: "card" }, h("h2", {}, "Limits, budget and dedup"), facts([
      ["Limit outcome", item.limit_outcome],
      ["Dedup", item.dedup],
    ])),
    h("section", { class: "card" }, h("h2", {}, "Guardrail decisions"),
      item.decisions.length ? objects(item.decisions, "decisions") : message("No guardrail decided anything.", "muted")),
    attempts ? h("section", { class: "card" }, h("h2", {}, "Attempts"),
      attempts.length ? objects(attempts, "attempts") : message("No attempt recorded.", "muted")) : null,
    h("section", { class: "card" }, h("h2", {}, "Request as the provider saw it"),
      item.request_body == null ? message("Not recorded (bodies off, or the request never reached a provider).", "muted")
        : h("pre", { id: "request-body" }, pretty(item.request_body))),
    h("section", { class: "card" }, h("h2", {}, "Response as the client got it"),
      item.response_body == null ? message("Not recorded.", "muted")
        : h("pre", { id: "response-body" }, pretty(item.response_body))),
  );
}
