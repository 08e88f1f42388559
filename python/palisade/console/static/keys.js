// Keys and OAuth clients: create (the secret shown once, with a copy button and a warning),
// list, revoke.

import { call, get } from "./api.js";
import { append, clear, h, message, table, time } from "./dom.js";
import { copyButton } from "./proxies.js";

function secretOnce(label, secret, id) {
  return h("div", { class: "card secret", id: `${id}-box`, role: "status" },
    h("strong", {}, label),
    h("p", { class: "warning" }, "Copy it now: it is shown only once and cannot be read again."),
    h("div", { class: "snippet-head" }, h("code", { id }, secret), copyButton(secret)));
}

export async function renderKeys(main, ctx) {
  const [keys, clients, proxies] = await Promise.all([
    get("/admin/v1/keys"), get("/admin/v1/clients"), get("/admin/v1/proxies"),
  ]);
  const out = h("div", { id: "key-result" });
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const proxySelect = (id) => h("select", { name: "proxy", id },
    proxies.data.map((p) => h("option", { value: p.id }, p.id)));
  const revoke = (kind, item) => ctx.canWrite && !item.revoked_at
    ? h("button", { class: "danger revoke", onclick: async () => {
      if (!confirm(`Revoke ${item.name}? Calls with it will be refused.`)) return;
      try {
        await call("DELETE", `/admin/v1/${kind}/${encodeURIComponent(item.id)}`);
        reload();
      } catch (error) {
        clear(out).append(message(error.message));
      }
    } }, "Revoke") : null;
  const keyForm = () => {
    const form = h("form", { class: "card", id: "key-form" }, h("h2", {}, "New virtual key"),
      h("label", {}, "Proxy", proxySelect("key-proxy")),
      h("label", {}, "Name", h("input", { name: "name", id: "key-name", required: true })),
      h("label", {}, "User (optional)", h("input", { name: "user", id: "key-user" })),
      h("label", {}, "Expires (optional: ISO date or 30d)", h("input", { name: "expires", id: "key-expires" })),
      h("button", { type: "submit", id: "key-create" }, "Create key"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { proxy: data.get("proxy"), name: data.get("name").trim() };
      for (const k of ["user", "expires"]) if (data.get(k).trim()) body[k] = data.get(k).trim();
      try {
        const made = await call("POST", "/admin/v1/keys", body);
        form.reset();
        clear(out).append(secretOnce(`Key ${made.name} (${made.id}) for ${made.proxy}`, made.key, "new-key"));
        const fresh = await get("/admin/v1/keys");
        clear(keyBody).append(...fresh.data.map(keyRow));
      } catch (error) {
        clear(out).append(message(error.message));
      }
    });
    return form;
  };
  const clientForm = () => {
    const form = h("form", { class: "card", id: "client-form" }, h("h2", {}, "New OAuth client"),
      h("label", {}, "Proxy", proxySelect("client-proxy")),
      h("label", {}, "Name", h("input", { name: "name", id: "client-name", required: true })),
      h("button", { type: "submit", id: "client-create" }, "Create client"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        const made = await call("POST", "/admin/v1/clients", { proxy: data.get("proxy"), name: data.get("name").trim() });
        form.reset();
        clear(out).append(h("p", {}, "Client id: ", h("code", { id: "new-client-id" }, made.client_id)),
          secretOnce(`Client secret of ${made.name}`, made.client_secret, "new-client-secret"));
      } catch (error) {
        clear(out).append(message(error.message));
      }
    });
    return form;
  };
  const keyRow = (k) => h("tr", { "data-key": k.id, class: k.revoked_at ? "revoked" : null },
    h("td", {}, h("code", {}, k.id)), h("td", {}, k.name), h("td", {}, k.proxy), h("td", {}, k.user || ""),
    h("td", {}, time(k.created_at)), h("td", {}, time(k.expires_at)), h("td", {}, k.revoked_at ? "revoked " + time(k.revoked_at) : "active"),
    h("td", {}, revoke("keys", k)));
  const keyBody = h("tbody", {}, keys.data.map(keyRow));
  append(main, 
    h("h1", {}, "Keys and OAuth clients"),
    out,
    ctx.canWrite ? h("div", { class: "grid two" }, keyForm(), clientForm()) : null,
    h("h2", {}, "Virtual keys"),
    h("table", { id: "keys" }, h("thead", {}, h("tr", {}, ["Id", "Name", "Proxy", "User", "Created", "Expires", "State", ""].map((c) => h("th", {}, c)))), keyBody),
    h("h2", {}, "OAuth clients"),
    table(["Id", "Name", "Proxy", "User", "Created", "State", ""], clients.data.map((c) => h("tr", { "data-client": c.id },
      h("td", {}, h("code", {}, c.id)), h("td", {}, c.name), h("td", {}, c.proxy), h("td", {}, c.user || ""),
      h("td", {}, time(c.created_at)), h("td", {}, c.revoked_at ? "revoked " + time(c.revoked_at) : "active"),
      h("td", {}, revoke("clients", c)))), { id: "clients" }),
  );
}
