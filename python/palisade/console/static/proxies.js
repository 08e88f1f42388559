// LLM proxies: list, create (the id shown live from the name), edit, delete, and a Connect
// panel per proxy with its invoke URLs and copy-paste snippets.

import { call, get, query } from "./api.js";
import { append, clear, h, message, table } from "./dom.js";

const AUTH = ["virtual_key", "provider_key", "jwt", "oauth"];
// Asymmetric only, as config/proxies.py `JwtAlgorithm` allows.
const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

// The gateway's rule (config/proxies.py `proxy_id`): `Support Bot (EU)` -> `support-bot-eu`.
export function proxyId(name) {
  const folded = name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase();
  return (folded.match(/[a-z0-9]+/g) || []).join("-");
}

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "secondary copy" }, label);
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  });
  return button;
}

function snippet(title, text, id) {
  return h("div", { class: "snippet" }, h("div", { class: "snippet-head" }, h("strong", {}, title), copyButton(text)),
    h("pre", { id }, text));
}

function connectPanel(proxy) {
  const origin = location.origin;
  const openaiUrl = `${origin}/${proxy.id}`;
  const anthropicUrl = `${origin}/${proxy.id}`;
  const keyNote = proxy.auth.length ? "YOUR_PALISADE_KEY" : "any-key";
  const accepted = proxy.auth.length
    ? `This proxy accepts: ${proxy.auth.join(", ")}. Put your key (Keys page) where the snippets say YOUR_PALISADE_KEY.`
    : "This proxy is open: it checks no credential, any key will do.";
  return h("section", { class: "card", id: "connect" },
    h("h2", {}, `Connect to ${proxy.name}`),
    h("p", { class: "muted" }, accepted),
    h("table", { class: "urls" }, h("tbody", {},
      h("tr", {}, h("th", {}, "OpenAI-compatible base URL"), h("td", {}, h("code", { id: "connect-url" }, openaiUrl)),
        h("td", {}, copyButton(openaiUrl, "Copy URL"))),
      h("tr", {}, h("th", {}, "Anthropic base URL"), h("td", {}, h("code", { id: "connect-anthropic-url" }, anthropicUrl)),
        h("td", {}, copyButton(anthropicUrl, "Copy URL"))),
      h("tr", {}, h("th", {}, "Also at"), h("td", {}, h("code", {}, `${origin}/v1/openai/${proxy.id}`)), h("td", {})),
    )),
    snippet("curl", `curl ${openaiUrl}/chat/completions \\\n  -H "Authorization: Bearer ${keyNote}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'`, "snippet-curl"),
    snippet("OpenAI SDK (Python)", `from openai import OpenAI\n\nclient = OpenAI(base_url="${openaiUrl}", api_key="${keyNote}")\nanswer = client.chat.completions.create(\n    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]\n)`, "snippet-openai"),
    snippet("Anthropic SDK (Python)", `from anthropic import Anthropic\n\nclient = Anthropic(base_url="${anthropicUrl}", api_key="${keyNote}")\nanswer = client.messages.create(\n    model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hello"}]\n)`, "snippet-anthropic"),
    snippet("Claude Code", `export ANTHROPIC_BASE_URL=${anthropicUrl}\nexport ANTHROPIC_AUTH_TOKEN="${keyNote}"\nclaude`, "snippet-claude-code"),
  );
}

// One line of a guardrail's settings: `pii, redact, request` or `injection, flag at 0.5`.
export function guardrailSummary(g) {
  const s = g.settings;
  if (!s) return `${g.type}, not valid: ${g.problem || "see the Guardrails page"}`;
  if (s.action) {
    const what = [...s.entities, ...s.rules].join(" ");
    return `${g.type}, ${s.action} on ${s.direction}` + (what ? ` (${what})` : "");
  }
  if (g.type === "injection") {
    return `injection, flag at ${s.flag_threshold}` + (s.block_threshold !== null ? `, block at ${s.block_threshold}` : "");
  }
  return `${g.type}, ${s.rules.length} rule(s), otherwise ${s.default_action}`;
}

function proxyForm(existing, guardrails, done) {
  const p = existing || { name: "", description: "", providers: [], models: [], guardrails: [], auth: [] };
  const name = h("input", { name: "name", id: "proxy-name", required: true, value: p.name });
  const idShown = h("code", { id: "proxy-id" }, existing ? p.id : proxyId(p.name));
  if (!existing) name.addEventListener("input", () => { idShown.textContent = proxyId(name.value); });
  const field = (key, label, value, hint) => h("label", {}, label,
    h("input", { name: key, id: `proxy-${key}`, value, placeholder: hint || "" }));
  const auth = AUTH.map((a) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name: "auth", value: a, checked: p.auth.includes(a) }), " " + a));
  // The identity provider's settings, asked for while `jwt` is checked (the server requires
  // them then).
  const jwt = p.jwt || { issuer: "", audience: "", jwks_url: "", algorithms: ["RS256"] };
  const jwtField = (key, label, hint) => h("label", {}, label,
    h("input", { name: `jwt_${key}`, id: `proxy-jwt-${key.replace("_", "-")}`, value: jwt[key], placeholder: hint }));
  const jwtFields = h("fieldset", { id: "proxy-jwt", hidden: !p.auth.includes("jwt") },
    h("legend", {}, "JWT from your identity provider"),
    jwtField("issuer", "Issuer (iss)", "https://idp.example.com"),
    jwtField("audience", "Audience (aud)", "palisade"),
    jwtField("jwks_url", "JWKS URL", "https://idp.example.com/.well-known/jwks.json"),
    h("div", { id: "proxy-jwt-algorithms" }, "Algorithms: ", JWT_ALGORITHMS.map((a) => h("label", { class: "inline" },
      h("input", { type: "checkbox", name: "jwt_algorithms", value: a, checked: jwt.algorithms.includes(a) }), " " + a))));
  const problem = h("div", {});
  const form = h("form", { class: "card", id: "proxy-form" },
    h("h2", {}, existing ? `Edit ${p.name}` : "New LLM proxy"),
    h("label", {}, "Name", name), h("p", { class: "muted" }, "Id: ", idShown),
    field("description", "Description", p.description),
    field("providers", "Providers (comma-separated; empty: any)", p.providers.join(", ")),
    field("models", "Models or patterns (comma-separated; empty: any)", p.models.join(", "), "gpt-4o*, claude-*"),
    h("fieldset", { id: "proxy-guardrails" }, h("legend", {}, "Guardrails (their settings: Guardrails page)"),
      guardrails.length ? guardrails.map((g) => h("label", { class: "inline" },
        h("input", { type: "checkbox", name: "guardrails", value: g.name, checked: p.guardrails.includes(g.name) }),
        " " + g.name, h("span", { class: "muted" }, ` (${guardrailSummary(g)})`)))
        : h("span", { class: "muted" }, "none configured")),
    h("fieldset", { id: "proxy-auth" }, h("legend", {}, "Accepted credentials (none: open proxy)"), auth),
    jwtFields,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "proxy-save" }, existing ? "Save" : "Create"),
      h("button", { type: "button", class: "secondary", onclick: () => done(null) }, "Cancel")),
    problem);
  form.addEventListener("change", (event) => {
    if (event.target.name === "auth" && event.target.value === "jwt") jwtFields.hidden = !event.target.checked;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      ...(existing || {}),
      name: data.get("name").trim(),
      description: data.get("description").trim(),
      providers: list(data.get("providers")),
      models: list(data.get("models")),
      guardrails: data.getAll("guardrails"),
      auth: data.getAll("auth"),
    };
    if (body.auth.includes("jwt")) {
      body.jwt = {
        issuer: data.get("jwt_issuer").trim(),
        audience: data.get("jwt_audience").trim(),
        jwks_url: data.get("jwt_jwks_url").trim(),
        algorithms: data.getAll("jwt_algorithms"),
      };
    } else {
      delete body.jwt;
    }
    delete body.served;
    delete body.paths;
    delete body.version;
    try {
      const saved = existing
        ? await call("PUT", `/admin/v1/proxies/${encodeURIComponent(existing.id)}`, body)
        : await call("POST", "/admin/v1/proxies", body);
      done(saved);
    } catch (error) {
      clear(problem).append(message(error.message));
    }
  });
  return form;
}

export async function renderProxies(main, ctx) {
  const [listing, guardrailList] = await Promise.all([get("/admin/v1/proxies"), get("/admin/v1/guardrails")]);
  const guardrails = guardrailList.data;
  const byName = new Map(guardrails.map((g) => [g.name, g]));
  const side = h("div", { id: "proxy-side" });
  // A fresh hash re-renders the page (with the saved proxy's Connect panel open).
  const reload = (focus) => {
    location.hash = `#/proxies${query({ connect: focus, at: Date.now() })}`;
  };
  const rows = listing.data.map((p) => h("tr", { "data-proxy": p.id },
    h("td", {}, h("code", {}, p.id)), h("td", {}, p.name), h("td", {}, p.description),
    h("td", {}, p.providers.join(", ") || "any"), h("td", {}, p.models.join(", ") || "any"),
    h("td", {}, p.guardrails.map((name) => h("div", { class: "guardrail" }, name,
      byName.has(name) ? h("span", { class: "muted" }, ` (${guardrailSummary(byName.get(name))})`) : null))), h("td", {}, p.auth.join(", ") || "open"),
    h("td", {}, p.served ? "yes" : "no"),
    h("td", { class: "row-actions" },
      h("button", { class: "secondary connect", onclick: () => clear(side).append(connectPanel(p)) }, "Connect"),
      h("a", { class: "button secondary deploy", href: `#/deployments/${encodeURIComponent(p.id)}` }, ctx.canWrite ? "Deploy" : "Deployments"),
      ctx.canWrite ? h("button", { class: "secondary edit", onclick: () => clear(side).append(proxyForm(p, guardrails, (saved) => reload(saved && saved.id))) }, "Edit") : null,
      ctx.canWrite ? h("button", { class: "danger delete", onclick: async () => {
        if (!confirm(`Delete the proxy ${p.id}? Calls to it will be refused.`)) return;
        try {
          await call("DELETE", `/admin/v1/proxies/${encodeURIComponent(p.id)}`);
          reload();
        } catch (error) {
          clear(side).append(message(error.message));
        }
      } }, "Delete") : null)));
  append(main, 
    h("h1", {}, "LLM proxies"),
    h("p", { class: "muted" }, `Store version ${listing.version}.`),
    ctx.canWrite ? h("button", { id: "new-proxy", onclick: () => clear(side).append(proxyForm(null, guardrails, (saved) => reload(saved && saved.id))) }, "New LLM proxy") : null,
    table(["Id", "Name", "Description", "Providers", "Models", "Guardrails", "Auth", "Served", ""], rows, { id: "proxies" }),
    side,
  );
  const focus = ctx.params.get("connect");
  const chosen = listing.data.find((p) => p.id === focus);
  if (chosen) side.append(connectPanel(chosen));
}
