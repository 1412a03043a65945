// Charts without a library: sparklines on a canvas, line charts, horizontal bars and
// paired bars in SVG.

import { h, s } from "./dom.js";
import { fmtNum, fmtPct } from "./format.js";
import { t } from "./i18n.js";

export function sparkline(canvas, values, color) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 160;
  const hgt = canvas.clientHeight || 30;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  const pts = values.map((v) => (v === null || v === undefined || Number.isNaN(v) ? null : Number(v)));
  const real = pts.filter((v) => v !== null);
  if (real.length < 2) return;
  let lo = Math.min(...real);
  let hi = Math.max(...real);
  if (hi === lo) {
    hi += 1;
    lo = Math.max(0, lo - 1);
  }
  const x = (i) => 1 + (i * (w - 2)) / Math.max(1, pts.length - 1);
  const y = (v) => hgt - 2 - ((v - lo) * (hgt - 4)) / (hi - lo);
  ctx.beginPath();
  let started = false;
  pts.forEach((v, i) => {
    if (v === null) return;
    if (!started) ctx.moveTo(x(i), y(v));
    else ctx.lineTo(x(i), y(v));
    started = true;
  });
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineTo(x(pts.length - 1), hgt);
  ctx.lineTo(x(pts.findIndex((v) => v !== null)), hgt);
  ctx.closePath();
  ctx.globalAlpha = 0.12;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
  const lastIndex = pts.length - 1;
  if (pts[lastIndex] !== null) {
    ctx.beginPath();
    ctx.arc(x(lastIndex), y(pts[lastIndex]), 2.2, 0, Math.PI * 2);
    ctx.fillStyle = color;
    ctx.fill();
  }
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** series: [{label, color, dash, points: [[x, y], ...]}], x in hours of the day. */
export function lineChart(series, opts = {}) {
  const W = 640;
  const H = opts.height || 220;
  const m = { l: 44, r: 26, t: 10, b: 28 };
  const xs = series.flatMap((sr) => sr.points.map((p) => p[0]));
  const ys = series.flatMap((sr) => sr.points.map((p) => p[1]));
  const wrap = h("div", { class: "chart-box" });
  if (!xs.length) {
    wrap.append(h("p", { class: "muted", text: t("mgmt.no_data") }));
    return wrap;
  }
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1;
  const y1 = niceMax(Math.max(...ys, 0));
  const X = (v) => m.l + ((v - x0) * (W - m.l - m.r)) / (x1 - x0);
  const Y = (v) => H - m.b - (v * (H - m.t - m.b)) / y1;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title || "", "data-testid": opts.testid || null });
  for (let i = 0; i <= 4; i++) {
    const v = (y1 * i) / 4;
    svg.append(s("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), class: "grid" }), s("text", { x: m.l - 6, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, fmtNum(v, v < 10 ? 1 : 0)));
  }
  const span = x1 - x0;
  const step = span <= 3 ? 0.5 : span <= 8 ? 1 : span <= 16 ? 2 : span <= 30 ? 3 : 6;
  for (let v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) {
    const hh = Math.floor(v) % 24;
    const mm = Math.round((v % 1) * 60);
    svg.append(s("line", { x1: X(v), x2: X(v), y1: H - m.b, y2: H - m.b + 4, class: "axis" }), s("text", { x: X(v), y: H - m.b + 16, class: "tick", "text-anchor": "middle" }, `${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}`));
  }
  svg.append(s("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: "axis" }), s("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, class: "axis" }));
  for (const sr of series) {
    if (!sr.points.length) continue;
    const d = sr.points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    svg.append(s("path", { d, class: "series", stroke: sr.color, "stroke-dasharray": sr.dash || null }, s("title", null, sr.label)));
  }
  wrap.append(svg, h("div", { class: "chart-legend" }, series.map((sr) => h("span", null, h("i", { style: `background:${sr.color}` }), sr.label))));
  return wrap;
}

/** items: [{label, value: 0..1, hot}] as horizontal bars, the text at the page's own size. */
export function barChart(items, testid) {
  return h(
    "div",
    { class: "hbars", role: "img", "data-testid": testid || null },
    items.map((it) => {
      const v = Math.max(0, Math.min(1, it.value || 0));
      return h(
        "div",
        { class: `hbar${it.hot ? " hot" : ""}`, title: `${it.label}: ${fmtPct(v)}` },
        h("span", { class: "hbar-label", text: it.label }),
        h("span", { class: "hbar-track" }, h("span", { class: "hbar-fill", style: `width:${(v * 100).toFixed(1)}%` })),
        h("span", { class: "hbar-value num", text: fmtPct(v) }),
      );
    }),
  );
}

/** Each measure on its own scale: A and B side by side, as a share of the larger. */
export function pairedBars(items, la, lb) {
  const W = 520;
  const rowH = 30;
  const labelW = 200;
  const H = items.length * rowH + 24;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bars", role: "img", "data-testid": "compare-bars" });
  svg.append(s("rect", { x: labelW, y: 4, width: 10, height: 10, fill: "#1f77b4" }), s("text", { x: labelW + 14, y: 13, class: "tick" }, `A · ${la}`), s("rect", { x: labelW + 170, y: 4, width: 10, height: 10, fill: "#d62728" }), s("text", { x: labelW + 184, y: 13, class: "tick" }, `B · ${lb}`));
  items.forEach((it, i) => {
    const y = 22 + i * rowH;
    const top = Math.max(Math.abs(it.a || 0), Math.abs(it.b || 0)) || 1;
    const full = W - labelW - 70;
    const wa = (full * Math.abs(it.a || 0)) / top;
    const wb = (full * Math.abs(it.b || 0)) / top;
    svg.append(
      s("text", { x: labelW - 6, y: y + 16, class: "tick", "text-anchor": "end" }, it.label),
      s("rect", { x: labelW, y: y + 2, width: Math.max(0.5, wa), height: 11, fill: "#1f77b4" }),
      s("text", { x: labelW + wa + 4, y: y + 11, class: "tick small" }, fmtNum(it.a, it.digits)),
      s("rect", { x: labelW, y: y + 14, width: Math.max(0.5, wb), height: 11, fill: "#d62728" }),
      s("text", { x: labelW + wb + 4, y: y + 23, class: "tick small" }, fmtNum(it.b, it.digits)),
    );
  });
  return svg;
}
