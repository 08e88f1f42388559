// Small SVG charts drawn here (no library): lines over time, and horizontal bars.

import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#64748b"];
const W = 640, H = 220, L = 56, R = 12, T = 12, B = 28;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function clock(t, step) {
  const d = new Date(t * 1000);
  const iso = d.toISOString();
  return step >= 86400 ? iso.slice(5, 10) : step >= 3600 ? iso.slice(5, 13).replace("T", " ") + "h" : iso.slice(11, 16);
}

function legend(series) {
  return h("div", { class: "legend" }, series.map((s, i) =>
    h("span", {}, h("i", { class: "swatch", "data-color": i % COLORS.length }), s.name)));
}

// series: [{name, values}] over the times `t` (unix seconds); null values leave a gap.
export function lineChart({ id, title, t, step, series, format = String }) {
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const top = niceMax(Math.max(0, ...values));
  const x = (i) => L + (t.length > 1 ? (i * (W - L - R)) / (t.length - 1) : 0);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart" });
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, format(v)));
  }
  for (const i of [0, Math.floor((t.length - 1) / 2), t.length - 1]) {
    if (t[i] !== undefined) chart.append(svg("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": "middle" }, clock(t[i], step)));
  }
  series.forEach((s, n) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    const color = COLORS[n % COLORS.length];
    const path = svg("path", { d: d || "M0,0", class: "line", stroke: color, "data-series": s.name });
    path.append(svg("title", {}, s.name));
    chart.append(path);
    // A point with no neighbour draws no line: a dot shows it.
    s.values.forEach((v, i) => {
      const alone = (j) => s.values[j] === null || s.values[j] === undefined;
      if (v !== null && v !== undefined && alone(i - 1) && alone(i + 1)) {
        chart.append(svg("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: color }));
      }
    });
  });
  return h("figure", { class: "card chart-card", id }, h("figcaption", {}, title), chart, legend(series));
}

// items: [{label, value}], largest first.
export function barChart({ id, title, items, format = String }) {
  const top = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const row = 24;
  const height = Math.max(row, items.length * row) + 8;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": title, class: "chart" });
  const labelW = 160;
  items.forEach((item, i) => {
    const w = ((W - labelW - 90) * item.value) / top;
    chart.append(
      svg("text", { x: labelW - 8, y: i * row + 17, class: "axis", "text-anchor": "end" }, item.label.slice(0, 24)),
      svg("rect", { x: labelW, y: i * row + 4, width: Math.max(1, w), height: row - 8, fill: COLORS[0], "data-label": item.label }),
      svg("text", { x: labelW + w + 6, y: i * row + 17, class: "axis" }, format(item.value)),
    );
  });
  return h("figure", { class: "card chart-card", id }, h("figcaption", {}, title), chart);
}
