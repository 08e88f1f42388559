// Sessions: the list (most recently active first), and one session's interactions in order.

import { get, query } from "./api.js";
import { append, h, link, message, num, table, time, usd } from "./dom.js";
import { row } from "./logs.js";

const MAX_SESSION_ROWS = 2000;

const RANGES = [["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"], ["all", "any time"]];

export async function renderSessions(main, ctx) {
  // Sessions active in a range (24 h unless chosen): grouping the whole log would not scale.
  const range = ctx.params.get("since") || "24h";
  const since = range === "all" ? "" : range;
  const select = h("select", { id: "sessions-range" },
    RANGES.map(([value, label]) => h("option", { value, selected: value === range }, label)));
  select.addEventListener("change", () => { location.hash = `#/sessions${query({ since: select.value })}`; });
  const tbody = h("tbody", {});
  const more = h("button", { class: "secondary", hidden: true }, "Load more");
  append(main, h("h1", {}, "Sessions"),
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "Active in ", select)),
    h("table", { id: "sessions" }, h("thead", {}, h("tr", {},
      ["Session", "Requests", "First", "Last", "Agents", "Users", "Tokens", "Cost", "Errors"].map((c) => h("th", {}, c)))), tbody),
    more);
  let cursor = null;
  const load = async () => {
    const page = await get(`/admin/v1/sessions${query({ limit: 50, cursor, since })}`);
    for (const s of page.data) {
      tbody.append(h("tr", {},
        h("td", {}, link(`#/session/${encodeURIComponent(s.session_id)}`, s.session_id)),
        h("td", { class: "num" }, num(s.requests)),
        h("td", {}, time(s.first_time)), h("td", {}, time(s.last_time)),
        h("td", {}, s.agent_ids.join(", ")), h("td", {}, s.user_ids.join(", ")),
        h("td", { class: "num" }, `${num(s.input_tokens)} / ${num(s.output_tokens)}`),
        h("td", { class: "num" }, usd(s.cost_usd)), h("td", { class: "num" }, num(s.errors))));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (!tbody.children.length) append(main, message("No session yet.", "muted"));
  };
  more.addEventListener("click", load);
  await load();
}

export async function renderSession(main, ctx) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(`/admin/v1/interactions${query({ session_id: ctx.arg, limit: 500, cursor })}`);
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && items.length < MAX_SESSION_ROWS);
  items.reverse(); // oldest first: the conversation in order
  append(main, 
    h("p", {}, link("#/sessions", "← Sessions")),
    h("h1", {}, "Session ", h("code", {}, ctx.arg)),
    h("p", { class: "muted" }, `${items.length} interaction(s), oldest first.`),
    table(["Time", "Proxy", "Agent", "User", "Session", "Model", "Status", "Tokens", "Cost", "Latency", "Guardrails"],
      items.map(row), { id: "session-rows" }),
  );
}
