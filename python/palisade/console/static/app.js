// The console's shell: sign-in, navigation (hash routes) and the pages.

import { ApiError, call, get, setCsrf } from "./api.js";
import { clear, h, message } from "./dom.js";
import { renderDashboards } from "./dashboards.js";
import { renderDeployments, renderProxyDeployments } from "./deployments.js";
import { renderDetail } from "./detail.js";
import { renderGuardrails } from "./guardrails.js";
import { renderKeys } from "./keys.js";
import { renderLogs } from "./logs.js";
import { renderProxies } from "./proxies.js";
import { renderSession, renderSessions } from "./sessions.js";

const PAGES = [
  [/^\/logs$/, "logs", renderLogs],
  [/^\/interaction\/(.+)$/, "logs", renderDetail],
  [/^\/sessions$/, "sessions", renderSessions],
  [/^\/session\/(.+)$/, "sessions", renderSession],
  [/^\/dashboards$/, "dashboards", renderDashboards],
  [/^\/proxies$/, "proxies", renderProxies],
  [/^\/guardrails$/, "guardrails", renderGuardrails],
  [/^\/keys$/, "keys", renderKeys],
  [/^\/deployments$/, "deployments", renderDeployments],
  [/^\/deployments\/(.+)$/, "deployments", renderProxyDeployments],
];

let session = null;
let leave = null; // the current page's clean-up (a live tail's timer)

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/logs";
  const [path, search] = raw.split("?", 2);
  return { path, params: new URLSearchParams(search || "") };
}

async function route() {
  if (leave) leave();
  leave = null;
  const main = document.getElementById("main");
  if (!session) return;
  const { path, params } = parseHash();
  for (const [pattern, name, render] of PAGES) {
    const match = pattern.exec(path);
    if (!match) continue;
    for (const a of document.querySelectorAll("#nav a")) {
      a.classList.toggle("active", a.dataset.page === name);
    }
    clear(main);
    const ctx = {
      role: session.role,
      canWrite: session.role === "admin",
      arg: match[1] ? decodeURIComponent(match[1]) : null,
      params,
    };
    try {
      leave = (await render(main, ctx)) || null;
    } catch (error) {
      handle(main, error);
    }
    return;
  }
  location.hash = "#/logs";
}

function handle(main, error) {
  if (error instanceof ApiError && error.status === 401) {
    session = null;
    showSignIn();
    return;
  }
  main.append(message(error.message || String(error)));
}

function showSignIn(problem) {
  document.getElementById("nav").hidden = true;
  clear(document.getElementById("who"));
  const main = clear(document.getElementById("main"));
  const input = h("input", {
    type: "password", id: "token", name: "token", autocomplete: "current-password",
    required: true, placeholder: "admin or viewer token",
  });
  const form = h("form", { id: "sign-in", class: "card narrow" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Use the gateway's admin token (read and write) or viewer token (read only)."),
    h("label", { for: "token" }, "Token"), input,
    h("button", { type: "submit" }, "Sign in"),
    problem ? message(problem) : null);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await call("POST", "/console/session", { token: input.value });
      input.value = "";
      start(answer);
    } catch (error) {
      showSignIn(error.status === 401 ? "That token is not valid." : error.message);
    }
  });
  main.append(form);
  input.focus();
}

function start(answer) {
  session = answer;
  setCsrf(answer.csrf);
  document.getElementById("nav").hidden = false;
  const who = clear(document.getElementById("who"));
  who.append(
    h("span", { id: "role", class: "badge" }, answer.role),
    h("button", { id: "sign-out", class: "link", onclick: signOut }, "Sign out"),
  );
  route();
}

async function signOut() {
  try {
    await call("DELETE", "/console/session");
  } finally {
    session = null;
    setCsrf("");
    showSignIn();
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  try {
    start(await get("/console/session"));
  } catch {
    showSignIn();
  }
});
