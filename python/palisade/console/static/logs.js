// Logs: the interaction log as a table, with filters (kept in the URL), cursor paging and a
// live tail (polls for records written after the newest one shown).

import { get, query } from "./api.js";
import { append, h, link, message, ms, num, time, usd } from "./dom.js";

const TEXT_FILTERS = [
  ["proxy", "Proxy"],
  ["agent_id", "Agent"],
  ["user_id", "User"],
  ["session_id", "Session"],
  ["model", "Model"],
  ["status", "Status", "200, 4xx, 5xx, error"],
  ["min_tokens", "Tokens ≥"],
  ["min_cost_usd", "Cost ≥ $"],
  ["min_latency_ms", "Latency ≥ ms"],
];
const ACTIONS = ["", "block", "redact", "mask", "flag", "allow", "trust", "untrust"];
const RANGES = [["", "any time"], ["15m", "last 15 min"], ["1h", "last hour"],
  ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]];
const COLUMNS = ["Time", "Proxy", "Agent", "User", "Session", "Model", "Status", "Tokens",
  "Cost", "Latency", "Guardrails"];
const FILTER_KEYS = [...TEXT_FILTERS.map(([k]) => k), "guardrail_action", "since", "until"];
const TAIL_MS = 2000;

function filterLink(key, value) {
  if (!value) return "";
  return link(`#/logs${query({ [key]: value })}`, value, { class: "filter-link", title: `Only ${key} = ${value}` });
}

export function row(item) {
  const failed = item.status >= 400 || item.error_code;
  return h("tr", { "data-id": item.id, "data-seq": item.seq, class: failed ? "failed" : null },
    h("td", {}, link(`#/interaction/${encodeURIComponent(item.id)}`, time(item.time), { class: "detail-link" })),
    h("td", {}, filterLink("proxy", item.proxy)),
    h("td", { class: "agent" }, filterLink("agent_id", item.agent_id)),
    h("td", { class: "user" }, filterLink("user_id", item.user_id)),
    h("td", { class: "session" }, item.session_id
      ? link(`#/session/${encodeURIComponent(item.session_id)}`, item.session_id) : ""),
    h("td", {}, filterLink("model", item.model)),
    h("td", { class: "status" }, String(item.status), item.error_code ? h("span", { class: "muted" }, " " + item.error_code) : null),
    h("td", { class: "num" }, `${num(item.input_tokens)} / ${num(item.output_tokens)}`),
    h("td", { class: "num" }, usd(item.cost_usd)),
    h("td", { class: "num" }, ms(item.latency_ms)),
    h("td", {}, item.guardrail_actions.map((a) => h("span", { class: `tag ${a}` }, a))),
  );
}

function filtersForm(params) {
  const fields = TEXT_FILTERS.map(([key, label, hint]) =>
    h("label", {}, label, h("input", { name: key, value: params.get(key) || "", placeholder: hint || "" })));
  const action = h("select", { name: "guardrail_action" },
    ACTIONS.map((a) => h("option", { value: a, selected: params.get("guardrail_action") === a }, a || "any")));
  const since = params.get("since") || "";
  const range = h("select", { name: "range" },
    RANGES.map(([value, label]) => h("option", { value, selected: since === value }, label)));
  const custom = RANGES.some(([value]) => value === since) ? "" : since;
  const form = h("form", { id: "filters", class: "filters" },
    ...fields,
    h("label", {}, "Guardrail action", action),
    h("label", {}, "Time range", range),
    h("label", {}, "Since", h("input", { name: "since", value: custom, placeholder: "ISO time or 2h" })),
    h("label", {}, "Until", h("input", { name: "until", value: params.get("until") || "", placeholder: "ISO time" })),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Apply"),
      link("#/logs", "Clear", { class: "button secondary" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const out = {};
    for (const key of FILTER_KEYS) out[key] = (data.get(key) || "").trim();
    if (!out.since) out.since = data.get("range") || "";
    location.hash = `#/logs${query(out)}`;
  });
  return form;
}

export async function renderLogs(main, ctx) {
  const filters = {};
  for (const key of FILTER_KEYS) filters[key] = ctx.params.get(key) || "";
  const tbody = h("tbody", { id: "log-rows" });
  const more = h("button", { id: "more", class: "secondary", hidden: true }, "Load more");
  const tail = h("input", { type: "checkbox", id: "tail" });
  const status = h("span", { id: "tail-status", class: "muted" });
  append(main, 
    h("h1", {}, "LLM proxy logs"),
    filtersForm(ctx.params),
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, tail, " Live tail"), status),
    h("table", { id: "logs" }, h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", {}, c)))), tbody),
    more,
  );
  let cursor = null;
  let newest = 0;
  const page = await get(`/admin/v1/interactions${query({ ...filters, limit: 50 })}`);
  const show = (items) => {
    for (const item of items) {
      tbody.append(row(item));
      newest = Math.max(newest, item.seq);
    }
  };
  show(page.data);
  // For tests and scripts: which view this table holds once its first page is in.
  document.getElementById("logs").dataset.loaded = location.hash;
  cursor = page.next_cursor;
  more.hidden = !cursor;
  if (!page.data.length) append(main, message("No interaction matches these filters.", "muted"));
  more.addEventListener("click", async () => {
    const next = await get(`/admin/v1/interactions${query({ ...filters, limit: 50, cursor })}`);
    show(next.data);
    cursor = next.next_cursor;
    more.hidden = !cursor;
  });
  let timer = null;
  const poll = async () => {
    try {
      const fresh = await get(`/admin/v1/interactions${query({ ...filters, after_seq: newest })}`);
      for (const item of fresh.data) {
        const tr = row(item);
        tr.classList.add("new");
        tbody.prepend(tr);
        newest = Math.max(newest, item.seq);
      }
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      status.textContent = error.message;
    }
  };
  tail.addEventListener("change", () => {
    clearInterval(timer);
    timer = tail.checked ? setInterval(poll, TAIL_MS) : null;
    status.textContent = tail.checked ? "following…" : "";
    if (tail.checked) poll();
  });
  return () => clearInterval(timer);
}
