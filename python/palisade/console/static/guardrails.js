// Guardrails: the store's definitions with their settings and the proxies that attach them;
// create, edit (a form per type), delete, and the history of the set with roll back. The
// server validates every save with the config file's rules and says which key is wrong.

import { call, get, query } from "./api.js";
import { append, clear, h, message, table, time } from "./dom.js";
import { guardrailSummary } from "./proxies.js";

const TYPES = ["pii", "secrets", "rules", "injection", "tool_policies", "trusted_data"];
const DIRECTIONS = ["both", "request", "response"];
const SCAN_ACTIONS = ["redact", "mask", "block", "flag"];
const TARGETS = ["user", "tool"];
const DEFAULT_ACTIONS = {
  tool_policies: ["allow", "block", "block_when_context_untrusted"],
  trusted_data: ["untrust", "trust", "block"],
};
const RULE_EXAMPLES = {
  tool_policies: '[\n  {"name": "no-rm", "tool": "run_shell", "when": [{"argument": "command", "contains": "rm -rf"}], "action": "block"}\n]',
  trusted_data: '[\n  {"name": "weather-ok", "tool": "get_weather", "action": "trust"}\n]',
};

const path = (name) => `/admin/v1/guardrails/${encodeURIComponent(name)}`;

function select(name, options, value) {
  return h("select", { name, id: `guardrail-${name}` },
    options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

function checks(name, options, chosen) {
  return options.map((o) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name, value: o, checked: chosen.includes(o) }), " " + o));
}

// `name: value` per line, for a rules guardrail's patterns (value: a regex) and keywords
// (value: comma-separated words). The first `:` ends the name; a regex may hold more.
function toLines(mapping, join) {
  return Object.entries(mapping || {}).map(([k, v]) => `${k}: ${join(v)}`).join("\n");
}

function fromLines(text, what, split) {
  const out = {};
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`${what}, line ${i + 1}: write it as \`name: value\`.`);
    out[line.slice(0, at).trim()] = split(line.slice(at + 1).trim());
  });
  return out;
}

const words = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function number(text, what) {
  if (!text.trim()) return null;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`${what} must be a number between 0 and 1.`);
  return value;
}

// The fields of one type, filled from `g` (the stored definition, or defaults).
function typeFields(type, g, kinds) {
  if (type === "pii" || type === "secrets") {
    return [
      h("label", {}, "Direction (which texts are scanned)", select("direction", DIRECTIONS, g.direction || "both")),
      h("label", {}, "Action (what a detection does)", select("action", SCAN_ACTIONS, g.action || "redact")),
      h("fieldset", { id: "guardrail-entities" }, h("legend", {}, "Entities (none checked: every kind)"),
        checks("entities", kinds[type] || [], g.entities || [])),
    ];
  }
  if (type === "rules") {
    return [
      h("label", {}, "Direction (which texts are scanned)", select("direction", DIRECTIONS, g.direction || "both")),
      h("label", {}, "Action (what a detection does)", select("action", SCAN_ACTIONS, g.action || "redact")),
      h("label", {}, "Patterns: one rule per line, `name: regular expression`",
        h("textarea", { name: "patterns", id: "guardrail-patterns", rows: 4, placeholder: "project_code: PRJ-[0-9]{4}" },
          toLines(g.patterns, (v) => v))),
      h("label", {}, "Keywords: one rule per line, `name: word, word`",
        h("textarea", { name: "keywords", id: "guardrail-keywords", rows: 3, placeholder: "codenames: bluebird, nightjar" },
          toLines(g.keywords, (v) => v.join(", ")))),
    ];
  }
  if (type === "injection") {
    const n = (v) => (v === null || v === undefined ? "" : String(v));
    return [
      h("label", {}, "Flag threshold (0-1; empty: the default, 0.5)",
        h("input", { name: "flag_threshold", id: "guardrail-flag_threshold", inputmode: "decimal", value: n(g.flag_threshold) })),
      h("label", {}, "Block threshold (0-1; empty: never block)",
        h("input", { name: "block_threshold", id: "guardrail-block_threshold", inputmode: "decimal", value: n(g.block_threshold) })),
      h("fieldset", { id: "guardrail-targets" }, h("legend", {}, "Texts scored"), checks("targets", TARGETS, g.targets || TARGETS)),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "untrusted_tool_results", id: "guardrail-untrusted",
        checked: g.untrusted_tool_results !== false }), " a flagged tool result makes the context untrusted"),
    ];
  }
  const rules = g.rules ? JSON.stringify(g.rules, null, 2) : "[]";
  return [
    h("label", {}, "Default action (when no rule matches)",
      select("default_action", DEFAULT_ACTIONS[type], g.default_action || DEFAULT_ACTIONS[type][0])),
    h("label", {}, "Rules (JSON list; the first matching rule decides)",
      h("textarea", { name: "rules", id: "guardrail-rules", rows: 8, placeholder: RULE_EXAMPLES[type] }, rules)),
  ];
}

// The request body from the form; throws (with a message for the user) on what the page
// can tell is wrong before the server does.
function definition(form, type) {
  const data = new FormData(form);
  const body = { name: data.get("name").trim(), type };
  if (type === "pii" || type === "secrets" || type === "rules") {
    body.direction = data.get("direction");
    body.action = data.get("action");
  }
  if (type === "pii" || type === "secrets") body.entities = data.getAll("entities");
  if (type === "rules") {
    body.patterns = fromLines(data.get("patterns"), "Patterns", (v) => v);
    body.keywords = fromLines(data.get("keywords"), "Keywords", words);
  }
  if (type === "injection") {
    body.flag_threshold = number(data.get("flag_threshold"), "The flag threshold");
    body.block_threshold = number(data.get("block_threshold"), "The block threshold");
    body.targets = data.getAll("targets");
    body.untrusted_tool_results = data.get("untrusted_tool_results") !== null;
  }
  if (type === "tool_policies" || type === "trusted_data") {
    body.default_action = data.get("default_action");
    try {
      body.rules = JSON.parse(data.get("rules") || "[]");
    } catch (error) {
      throw new Error(`Rules: not valid JSON (${error.message}).`);
    }
  }
  return body;
}

function guardrailForm(existing, kinds, done) {
  const g = existing || { name: "", type: "pii" };
  const fields = h("div", { id: "guardrail-fields", class: "fields" });
  const type = select("type", TYPES, g.type);
  const fill = () => clear(fields).append(...typeFields(type.value, type.value === g.type ? g : {}, kinds));
  type.addEventListener("change", fill);
  fill();
  const problem = h("div", { id: "guardrail-problem" });
  const form = h("form", { class: "card", id: "guardrail-form" },
    h("h2", {}, existing ? `Edit ${g.name}` : "New guardrail"),
    h("label", {}, "Name (attached to proxies by it; cannot change)",
      h("input", { name: "name", id: "guardrail-name", required: true, value: g.name, readonly: Boolean(existing) })),
    h("label", {}, "Type", type),
    fields,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "guardrail-save" }, existing ? "Save" : "Create"),
      h("button", { type: "button", class: "secondary", onclick: () => done(null) }, "Cancel")),
    problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = definition(form, type.value);
      const saved = existing
        ? await call("PUT", path(existing.name), body)
        : await call("POST", "/admin/v1/guardrails", body);
      done(saved);
    } catch (error) {
      clear(problem).append(message(error.message));
    }
  });
  return form;
}

// What a guardrail does, in a line or two: its summary, and for rule lists their rules.
function settingsCell(g) {
  if (!g.settings) return h("span", { class: "error" }, g.problem || "not valid");
  const parts = [h("div", {}, guardrailSummary(g))];
  if (g.type === "injection" && g.untrusted_tool_results === false) parts.push(h("div", { class: "muted" }, "tool results stay trusted"));
  if (g.type === "tool_policies" || g.type === "trusted_data") {
    for (const r of g.settings.rules) parts.push(h("div", { class: "muted" }, `${r.name}: ${r.tool} → ${r.action}`));
  }
  return parts;
}

function historyTable(versions, ctx, rollback) {
  const rows = versions.map((v, i) => h("tr", { "data-version": v.version },
    h("td", {}, `v${v.version}`), h("td", {}, time(v.at)), h("td", {}, v.who),
    h("td", { class: "action" }, v.action), h("td", {}, v.guardrail || ""),
    h("td", {}, ctx.canWrite && i > 0
      ? h("button", { class: "secondary rollback", onclick: () => rollback(v) }, "Roll back to this") : null)));
  return table(["Version", "At", "Who", "Action", "Guardrail", ""], rows, { id: "guardrail-history" });
}

export async function renderGuardrails(main, ctx) {
  const [listing, history] = await Promise.all([
    get("/admin/v1/guardrails"), get(`/admin/v1/guardrails/versions${query({ limit: 20 })}`),
  ]);
  const side = h("div", { id: "guardrail-side" });
  const note = h("div", { id: "guardrail-result" });
  // A fresh hash re-renders the page from the API.
  const reload = (saved) => {
    location.hash = `#/guardrails${query({ saved, at: Date.now() })}`;
  };
  const edit = (g) => clear(side).append(guardrailForm(g, listing.kinds, (saved) => (saved ? reload(saved.name) : clear(side))));
  const remove = async (g) => {
    if (!confirm(`Delete the guardrail ${g.name}?`)) return;
    try {
      await call("DELETE", path(g.name));
      reload();
    } catch (error) {
      clear(note).append(message(error.message));
    }
  };
  const rollback = async (v) => {
    if (!confirm(`Roll the guardrails back to version ${v.version}? This makes a new version.`)) return;
    try {
      await call("POST", `/admin/v1/guardrails/versions/${v.version}/rollback`);
      reload();
    } catch (error) {
      clear(note).append(message(error.message));
    }
  };
  const rows = listing.data.map((g) => h("tr", { "data-guardrail": g.name },
    h("td", {}, h("code", {}, g.name)), h("td", {}, g.type), h("td", { class: "settings" }, settingsCell(g)),
    h("td", { class: "proxies" }, g.proxies.join(", ") || h("span", { class: "muted" }, "none")),
    h("td", {}, `v${g.version}`),
    h("td", { class: "row-actions" },
      ctx.canWrite ? h("button", { class: "secondary edit", onclick: () => edit(g) }, "Edit") : null,
      ctx.canWrite ? h("button", { class: "danger delete", onclick: () => remove(g) }, "Delete") : null)));
  const saved = ctx.params.get("saved");
  append(main,
    h("h1", {}, "Guardrails"),
    h("p", { class: "muted" },
      `Store version ${listing.version}. Proxies attach guardrails by name (LLM proxies page); `,
      "a change reaches every worker within seconds."),
    saved ? message(`Saved ${saved}.`, "ok") : null,
    note,
    ctx.canWrite ? h("button", { id: "new-guardrail", onclick: () => edit(null) }, "New guardrail") : null,
    table(["Name", "Type", "Settings", "Attached by", "Version", ""], rows, { id: "guardrails" }),
    side,
    h("h2", {}, "History"),
    historyTable(history.data, ctx, rollback),
  );
}
