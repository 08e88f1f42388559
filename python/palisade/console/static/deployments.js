// Deployments ("Deploy to Gateway"): the gateways with their live replicas and what each
// serves; per proxy, deploy (the newest version or a chosen one), stop, the history with its
// Latest and Deployed tags, and roll back from a history row.

import { call, get, query } from "./api.js";
import { append, clear, h, link, message, table, time } from "./dom.js";

const proxyPath = (pid) => `/admin/v1/proxies/${encodeURIComponent(pid)}`;
const proxyLink = (pid) => link(`#/deployments/${encodeURIComponent(pid)}`, pid);

function tags(item) {
  return [
    item.latest ? h("span", { class: "tag latest" }, "Latest") : null,
    item.deployed ? h("span", { class: "tag deployed" }, "Deployed") : null,
  ];
}

function gatewayCard(gw, here) {
  const replicas = gw.replicas.map((r) => h("tr", { "data-replica": r.id, class: r.live ? null : "revoked" },
    h("td", {}, h("code", {}, r.id)), h("td", {}, time(r.started_at)), h("td", {}, time(r.seen_at)),
    h("td", {}, r.live ? h("span", { class: "tag live" }, "live") : "gone")));
  const runs = gw.proxies.map((p) => h("tr", { "data-proxy": p.proxy },
    h("td", {}, proxyLink(p.proxy)), h("td", { class: "version" }, `v${p.version}`),
    h("td", {}, p.latest ? h("span", { class: "tag latest" }, "Latest") : null,
      p.everywhere ? h("span", { class: "tag", title: "never deployed or stopped: runs its newest version on every gateway" }, "everywhere") : null),
    h("td", {}, p.deployment === null ? "" : `#${p.deployment}`)));
  return h("section", { class: "card gateway", "data-gateway": gw.name },
    h("h2", {}, `Gateway ${gw.name} `, gw.name === here ? h("span", { class: "tag" }, "this replica's") : null),
    h("p", { class: "muted live-replicas" }, `${gw.live_replicas} live replica(s)`),
    replicas.length ? table(["Replica", "Started", "Last seen", ""], replicas, { class: "replicas" }) : null,
    runs.length ? table(["Serves", "Version", "", "Deployment"], runs, { class: "serves" })
      : h("p", { class: "muted" }, "Serves no LLM proxy."));
}

export async function renderDeployments(main, ctx) {
  const [gateways, proxies] = await Promise.all([get("/admin/v1/gateways"), get("/admin/v1/proxies")]);
  append(main,
    h("h1", {}, "Deployments"),
    h("p", { class: "muted" },
      "A gateway is a named group of replicas (server.gateway); a proxy serves only where it is deployed, ",
      "and a change reaches every replica within seconds. This replica belongs to the gateway ",
      h("code", { id: "this-gateway" }, gateways.gateway), "."),
    h("div", { class: "grid", id: "gateways" }, gateways.data.map((gw) => gatewayCard(gw, gateways.gateway))),
    h("h2", {}, "LLM proxies"),
    table(["Id", "Name", "Served here", ""], proxies.data.map((p) => h("tr", { "data-proxy": p.id },
      h("td", {}, h("code", {}, p.id)), h("td", {}, p.name), h("td", {}, p.served ? "yes" : "no"),
      h("td", {}, link(`#/deployments/${encodeURIComponent(p.id)}`, ctx.canWrite ? "Deploy" : "Deployments",
        { class: "button secondary deploy" })))), { id: "deploy-proxies" }),
  );
}

function historyRow(d, ctx, rollback) {
  const action = d.action === "rollback" && d.rollback_of !== null ? `rollback of #${d.rollback_of}` : d.action;
  return h("tr", { "data-deployment": d.id, class: d.deployed ? "deployed" : null },
    h("td", {}, `#${d.id}`), h("td", {}, time(d.at)), h("td", {}, d.who), h("td", {}, d.gateway),
    h("td", { class: "action" }, action), h("td", { class: "version" }, d.version === null ? "" : `v${d.version}`),
    h("td", { class: "status" }, d.status), h("td", { class: "tags" }, tags(d)),
    h("td", {}, ctx.canWrite && d.version !== null && !d.deployed
      ? h("button", { class: "secondary rollback", onclick: () => rollback(d) }, "Roll back to this") : null));
}

export async function renderProxyDeployments(main, ctx) {
  const pid = ctx.arg;
  const base = proxyPath(pid);
  const [history, gateways, versions] = await Promise.all([
    get(`${base}/deployments${query({ limit: 50 })}`),
    get("/admin/v1/gateways"),
    // A deleted proxy keeps its history but has no versions to deploy.
    get(`${base}/versions`).catch(() => ({ data: [] })),
  ]);
  const out = h("div", { id: "deploy-result" });
  const here = location.hash;
  // After a write, the page is drawn again from the API (unless the user has moved on).
  const redraw = async (note) => {
    if (location.hash !== here) return;
    clear(main);
    try {
      await renderProxyDeployments(main, ctx);
      clear(document.getElementById("deploy-result")).append(message(note, "ok"));
    } catch (error) {
      main.append(message(error.message));
    }
  };
  const write = async (method, path, body, done) => {
    let record;
    try {
      record = await call(method, path, body);
    } catch (error) {
      clear(out).append(message(error.message));
      return;
    }
    await redraw(done(record));
  };
  const stop = (gateway) => {
    if (!confirm(`Stop ${pid} on the gateway ${gateway}? Calls to it there will be refused.`)) return;
    write("DELETE", `${base}/deployments/${encodeURIComponent(gateway)}`, undefined,
      (r) => `Stopped on ${r.gateway} (deployment #${r.id}).`);
  };
  const rollback = (d) => {
    if (!confirm(`Deploy v${d.version} of ${pid} on ${d.gateway} again?`)) return;
    write("POST", `${base}/deployments/${d.id}/rollback`, undefined,
      (r) => `Rolled back to v${r.version} on ${r.gateway} (deployment #${r.id}).`);
  };

  // Where it runs now: a managed proxy where it is deployed, an unmanaged one everywhere.
  const running = history.everywhere
    ? gateways.data.map((g) => ({ gateway: g.name, version: history.latest_version, deployment: null }))
    : history.gateways;
  const where = history.everywhere
    ? "Not managed yet: it runs its newest version on every gateway. Its first deploy or stop makes it run only where it is deployed."
    : running.length ? "Runs only where it is deployed:" : "Deployed nowhere: calls to it are refused on every gateway.";
  const runningRows = running.map((r) => h("tr", { "data-gateway": r.gateway },
    h("td", {}, r.gateway), h("td", { class: "version" }, r.version === null ? "" : `v${r.version}`),
    h("td", {}, r.version === history.latest_version ? h("span", { class: "tag latest" }, "Latest") : null),
    h("td", {}, r.deployment === null ? "" : `#${r.deployment}`),
    h("td", {}, ctx.canWrite ? h("button", { class: "danger stop", onclick: () => stop(r.gateway) }, "Stop") : null)));

  const deployForm = () => {
    const names = gateways.data.map((g) => g.name);
    const form = h("form", { class: "card", id: "deploy-form" },
      h("h2", {}, "Deploy"),
      h("label", {}, "Gateway",
        h("input", { name: "gateway", id: "deploy-gateway", required: true, value: gateways.gateway, list: "gateway-names" })),
      h("datalist", { id: "gateway-names" }, names.map((n) => h("option", { value: n }))),
      h("label", {}, "Version",
        h("select", { name: "version", id: "deploy-version" },
          h("option", { value: "" }, `newest (v${history.latest_version})`),
          versions.data.map((v) => h("option", { value: v.version },
            `v${v.version}: ${v.action || "change"} by ${v.who || "?"} at ${time(v.at)}`)))),
      h("div", { class: "actions" }, h("button", { type: "submit", id: "deploy-submit" }, "Deploy")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { gateway: data.get("gateway").trim() };
      if (data.get("version")) body.version = Number(data.get("version"));
      write("POST", `${base}/deployments`, body,
        (r) => `Deployed v${r.version} on ${r.gateway} (deployment #${r.id}).`);
    });
    return form;
  };

  const historyBody = h("tbody", {}, history.data.map((d) => historyRow(d, ctx, rollback)));
  const more = h("button", { type: "button", class: "secondary", id: "history-more", hidden: !history.has_more }, "Load more");
  more.addEventListener("click", async () => {
    const last = historyBody.lastElementChild;
    const page = await get(`${base}/deployments${query({ limit: 50, before: last && last.dataset.deployment })}`);
    historyBody.append(...page.data.map((d) => historyRow(d, ctx, rollback)));
    more.hidden = !page.has_more;
  });

  append(main,
    h("p", {}, link("#/deployments", "← All gateways")),
    h("h1", {}, "Deployments of ", h("code", { id: "deploy-proxy" }, pid)),
    out,
    h("p", { class: "muted", id: "deploy-where" }, where),
    runningRows.length ? table(["Gateway", "Version", "", "Deployment", ""], runningRows, { id: "running" }) : null,
    ctx.canWrite && history.latest_version !== null ? deployForm() : null,
    h("h2", {}, "History"),
    history.data.length
      ? h("table", { id: "history" },
        h("thead", {}, h("tr", {}, ["Id", "Time", "Who", "Gateway", "Action", "Version", "Status", "Tags", ""].map((c) => h("th", {}, c)))),
        historyBody)
      : h("p", { class: "muted", id: "history-empty" }, "Never deployed or stopped."),
    more,
  );
}
