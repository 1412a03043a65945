// Management: throughput per direction, waits, queues, lane and resource utilisation and
// the day's series (GET /api/kpis), and saved runs compared side by side.

import { api } from "./api.js";
import { $, h, say } from "./dom.js";
import { yardOf } from "./frames.js";
import { fmtDate, fmtDur, fmtNum, fmtPct, fmtTime } from "./format.js";
import { laneNumber, t, tOr } from "./i18n.js";
import { barChart, lineChart, pairedBars } from "./charts.js";
import { getFrame, modelNow } from "./state.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2"];
const SERIES_GROUPS = {
  queues: ["vn_trucks_in_yard", "cn_trucks_in_yard", "vn_trucks_outside", "cn_trucks_outside"],
  awaiting: ["vn_awaiting_carrier", "cn_awaiting_carrier"],
  stack: ["vn_stack", "cn_stack"],
  carriers: ["carriers_moving", "carriers_charging", "carriers_broken", "vn_carriers_parked", "cn_carriers_parked"],
  delivered: ["containers_delivered"],
};

let kpis = null; // GET /api/kpis, and when it came
let runs = null; // GET /api/runs
const runCache = new Map();
let compared = null;

export const hasKpis = () => kpis !== null;
export const hasRuns = () => runs !== null;
export const hasCompared = () => compared !== null;

function seriesLabel(key) {
  const m = /^(vn|cn)_(.*)$/.exec(key);
  if (m) return tOr(`ts.${m[2]}`, key, { side: t(`ts.${m[1]}`) });
  return tOr(`ts.${key}`, key);
}

function resLabel(key) {
  let m;
  if ((m = /^lane_(\d+)$/.exec(key))) return t("res.lane", { n: laneNumber(m[1]) });
  if ((m = /^(.*)_(vietnam|china)$/.exec(key))) return tOr(`res.${m[1]}`, key, { side: t(`res.side.${m[2]}`) });
  return tOr(`res.${key}`, key);
}

export async function loadManagement() {
  try {
    const [k, r] = await Promise.all([api("GET", "/api/kpis"), api("GET", "/api/runs")]);
    kpis = k;
    kpis.at = Date.now() / 1000;
    runs = r;
  } catch (e) {
    say($("#mgmt-updated"), e.make);
    return;
  }
  renderManagement();
  renderRuns();
}

function kvTable(el, header, rows) {
  el.replaceChildren(h("thead", null, h("tr", null, header.map((c) => h("th", { text: c })))), h("tbody", null, rows.map((r) => h("tr", null, h("th", { text: r[0] }), r.slice(1).map((c) => h("td", { class: "num", text: c }))))));
}

export function renderManagement() {
  const k = kpis;
  if (!k) return;
  const sm = k.summary;
  const dirs = ["export", "import"];
  const d = sm.directions || {};
  const now = modelNow() ?? k.t0;
  $("#mgmt-title").textContent = t("mgmt.title", { date: fmtDate(now) });
  say($("#mgmt-updated"), () => t("mgmt.updated", { time: fmtTime(k.at) }));
  $("#mgmt-balance").textContent = t("mgmt.balance", { arrived: fmtNum(sm.containers_arrived), delivered: fmtNum(sm.containers_delivered), in_system: fmtNum(sm.containers_in_system), lost: fmtNum(sm.containers_lost) });
  $("#mgmt-safety").textContent = t("mgmt.safety", { violations: fmtNum(sm.safety_violations), deadlocks: fmtNum(sm.deadlocks), breakdowns: fmtNum(sm.carrier_breakdowns) });
  $("#mgmt-bottleneck").textContent = sm.bottleneck ? t("mgmt.bottleneck", { resource: resLabel(sm.bottleneck.resource), value: fmtPct(sm.bottleneck.utilisation) }) : "";
  const head = ["", ...dirs.map((x) => t(`dirs.${x}`))];
  const per = (f) => dirs.map((x) => (d[x] ? f(d[x]) : "—"));
  kvTable($("#mgmt-throughput"), head, [
    [t("m.delivered"), ...per((x) => fmtNum(x.containers_delivered))],
    [t("m.per_day"), ...per((x) => fmtNum(x.containers_per_day))],
    [t("m.trucks_arrived"), ...per((x) => fmtNum(x.trucks_arrived))],
    [t("m.arrivals_per_hour"), ...per((x) => fmtNum(x.arrivals_per_hour, 1))],
    [t("m.late"), ...per((x) => fmtNum(x.late_perishable))],
    [t("m.energy"), ...per((x) => fmtNum(x.energy_kwh, 1))],
  ]);
  kvTable($("#mgmt-waits"), head, [
    [t("m.wait_mean"), ...per((x) => fmtDur(x.truck_wait_s.mean))],
    [t("m.wait_p50"), ...per((x) => fmtDur(x.truck_wait_s.p50))],
    [t("m.wait_p95"), ...per((x) => fmtDur(x.wait_p95_s))],
    [t("m.wait_max"), ...per((x) => fmtDur(x.truck_wait_s.max))],
  ]);
  kvTable($("#mgmt-dwell"), head, [
    [t("m.wait_mean"), ...per((x) => fmtDur(x.dwell_s.mean))],
    [t("m.wait_p95"), ...per((x) => fmtDur(x.dwell_s.p95))],
    [t("m.wait_max"), ...per((x) => fmtDur(x.dwell_s.max))],
  ]);
  const frame = getFrame();
  const live = dirs.map((x) => {
    const y = yardOf(frame, x === "export" ? "vietnam" : "china");
    return y ? fmtNum(y.trucks + y.outside) : "—";
  });
  kvTable($("#mgmt-queues"), head, [
    [t("m.queue_mean"), ...per((x) => fmtNum(x.queue_trucks.mean, 1))],
    [t("m.queue_max"), ...per((x) => fmtNum(x.queue_trucks.max))],
    [t("yard.trucks") + " + " + t("yard.outside").toLowerCase(), ...live],
  ]);
  const util = sm.utilisation || {};
  const bottleneck = sm.bottleneck ? sm.bottleneck.resource : null;
  const lanes = Object.keys(util).filter((key) => key.startsWith("lane_")).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  $("#mgmt-lanes").replaceChildren(barChart(lanes.map((key) => ({ label: resLabel(key), value: util[key], hot: key === bottleneck })), "lane-util-chart"));
  const others = Object.keys(util).filter((key) => !key.startsWith("lane_"));
  $("#mgmt-resources").replaceChildren(barChart(others.map((key) => ({ label: resLabel(key), value: util[key], hot: key === bottleneck })), "resource-util-chart"));
  const sel = $("#mgmt-series");
  const keep = sel.value || "queues";
  sel.replaceChildren(...Object.keys(SERIES_GROUPS).map((g) => h("option", { value: g, text: t(`series.${g}`) })));
  sel.value = keep;
  renderMgmtChart();
}

function renderMgmtChart() {
  if (!kpis) return;
  const rows = kpis.timeseries || [];
  const keys = SERIES_GROUPS[$("#mgmt-series").value] || SERIES_GROUPS.queues;
  const series = keys.map((key, i) => ({ label: seriesLabel(key), color: PALETTE[i % PALETTE.length], points: rows.filter((r) => key in r).map((r) => [r.time_h, Number(r[key])]) }));
  $("#mgmt-chart").replaceChildren(lineChart(series, { testid: "mgmt-series-chart", title: t(`series.${$("#mgmt-series").value}`) }));
}

// --- saved runs -----------------------------------------------------------------------------

function runLabel(id) {
  if (id === "live") return t("runs.live");
  const r = (runs || []).find((x) => String(x.id) === String(id));
  return r ? t("runs.label", { id: r.id, name: r.name }) : String(id);
}

export function renderRuns() {
  const list = runs || [];
  const body = $("#runs-body");
  if (!list.length) body.replaceChildren(h("tr", null, h("td", { colspan: 6, class: "muted", text: t("runs.empty") })));
  else
    body.replaceChildren(
      ...list.map((r) =>
        h(
          "tr",
          { "data-testid": `run-row-${r.id}` },
          h("td", { class: "num", text: r.id }),
          h("td", { text: r.name }),
          h("td", { text: r.scenario }),
          h("td", { text: fmtTime(r.saved_at, true) }),
          h("td", { text: r.saved_by }),
          h("td", { class: "num", text: fmtNum(r.summary && r.summary.containers_delivered) }),
        ),
      ),
    );
  const options = [{ id: "live" }, ...list].map((r) => h("option", { value: String(r.id), text: runLabel(r.id) }));
  const a = $("#run-a");
  const b = $("#run-b");
  const keepA = a.value;
  const keepB = b.value;
  a.replaceChildren(...options.map((o) => o.cloneNode(true)));
  b.replaceChildren(...options);
  a.value = keepA && [...a.options].some((o) => o.value === keepA) ? keepA : list.length > 1 ? String(list[1].id) : "live";
  b.value = keepB && [...b.options].some((o) => o.value === keepB) ? keepB : list.length ? String(list[0].id) : "live";
  const seriesSel = $("#run-series");
  const keepS = seriesSel.value || "containers_delivered";
  const keys = Object.values(SERIES_GROUPS).flat();
  seriesSel.replaceChildren(...keys.map((key) => h("option", { value: key, text: seriesLabel(key) })));
  seriesSel.value = keepS;
}

async function runData(id) {
  if (id === "live") {
    const k = await api("GET", "/api/kpis");
    return { id: "live", name: t("runs.live"), summary: k.summary, timeseries: k.timeseries };
  }
  if (!runCache.has(id)) runCache.set(id, await api("GET", `/api/runs/${encodeURIComponent(id)}`));
  return runCache.get(id);
}

async function compareRuns() {
  const ida = $("#run-a").value;
  const idb = $("#run-b").value;
  if (!ida || !idb) {
    $("#compare").replaceChildren(h("p", { class: "muted", text: t("runs.pick_two") }));
    return;
  }
  try {
    const [a, b] = await Promise.all([runData(ida), runData(idb)]);
    compared = { a, b, ida, idb };
  } catch (e) {
    $("#compare").replaceChildren(h("p", { class: "error", text: e.message }));
    return;
  }
  renderCompare();
}

const mean = (xs) => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : null);
const CMP = [
  ["delivered", (sm) => sm.containers_delivered, 0],
  ["export_per_day", (sm) => sm.directions.export.containers_per_day, 1],
  ["import_per_day", (sm) => sm.directions.import.containers_per_day, 1],
  ["wait_mean", (sm) => sm.truck_wait_s.mean, 1],
  ["wait_p95", (sm) => sm.truck_wait_s.p95, 1],
  ["export_queue", (sm) => sm.directions.export.queue_trucks.mean, 2],
  ["import_queue", (sm) => sm.directions.import.queue_trucks.mean, 2],
  ["lane_util", (sm) => 100 * mean(Object.entries(sm.utilisation).filter(([k]) => k.startsWith("lane_")).map(([, v]) => v)), 2],
  ["carrier_util", (sm) => 100 * sm.utilisation.carriers, 1],
  ["energy", (sm) => sm.energy_kwh, 1],
  ["safety", (sm) => sm.safety_violations, 0],
  ["late", (sm) => sm.late_perishable, 0],
];

function metric(get, sm) {
  try {
    const v = get(sm);
    return v === null || v === undefined || Number.isNaN(v) ? null : Number(v);
  } catch (e) {
    return null;
  }
}

export function renderCompare() {
  const c = compared;
  if (!c) return;
  const la = runLabel(c.ida);
  const lb = runLabel(c.idb);
  const table = h("table", { class: "kv compare-table", "data-testid": "compare-table" });
  table.append(h("thead", null, h("tr", null, h("th", { text: t("runs.metric") }), h("th", { text: `A · ${la}` }), h("th", { text: `B · ${lb}` }), h("th", { text: t("runs.diff") }))));
  const tbody = h("tbody");
  const bars = [];
  for (const [name, get, digits] of CMP) {
    const va = metric(get, c.a.summary);
    const vb = metric(get, c.b.summary);
    const diff = va !== null && vb !== null ? vb - va : null;
    tbody.append(
      h(
        "tr",
        { "data-testid": `cmp-${name}` },
        h("th", { text: t(`cmp.${name}`) }),
        h("td", { class: "num", text: fmtNum(va, digits) }),
        h("td", { class: "num", text: fmtNum(vb, digits) }),
        h("td", { class: `num ${diff > 0 ? "up" : diff < 0 ? "down" : ""}`, text: diff === null ? "—" : `${diff > 0 ? "+" : ""}${fmtNum(diff, digits)}` }),
      ),
    );
    bars.push({ label: t(`cmp.${name}`), a: va, b: vb, digits });
  }
  table.append(tbody);
  const key = $("#run-series").value || "containers_delivered";
  const pts = (run) => (run.timeseries || []).filter((r) => key in r).map((r) => [r.time_h, Number(r[key])]);
  const chart = lineChart(
    [
      { label: `A · ${la}`, color: "#1f77b4", points: pts(c.a) },
      { label: `B · ${lb}`, color: "#d62728", points: pts(c.b), dash: "5 3" },
    ],
    { testid: "compare-series-chart", title: seriesLabel(key) },
  );
  $("#compare").replaceChildren(h("div", { class: "grid2" }, h("div", null, table), h("div", null, pairedBars(bars, la, lb), h("h4", { text: seriesLabel(key) }), chart)));
}

async function saveRun(ev) {
  ev.preventDefault();
  const out = $("#run-save-result");
  const name = $("#run-name").value.trim();
  if (!name) return;
  say(out, null, "");
  delete out.dataset.runId;
  try {
    const r = await api("POST", "/api/runs", { name });
    say(out, () => t("runs.saved", { id: r.id }), "ok");
    out.dataset.runId = r.id;
    $("#run-name").value = "";
    runs = await api("GET", "/api/runs");
    renderRuns();
  } catch (e) {
    say(out, e.make, "error");
  }
}

export function initManagement() {
  $("#mgmt-refresh").addEventListener("click", loadManagement);
  $("#mgmt-series").addEventListener("change", renderMgmtChart);
  $("#run-save").addEventListener("submit", saveRun);
  $("#run-compare").addEventListener("click", compareRuns);
  $("#run-series").addEventListener("change", () => compared && renderCompare());
}

/** What the last user looked at goes with them. */
export function clearManagement() {
  kpis = null;
  runs = null;
  runCache.clear();
  compared = null;
  for (const sel of ["#compare", "#runs-body", "#mgmt-lanes", "#mgmt-resources", "#mgmt-chart", "#mgmt-throughput", "#mgmt-waits", "#mgmt-dwell", "#mgmt-queues"]) $(sel).replaceChildren();
  for (const sel of ["#run-save-result", "#mgmt-updated", "#mgmt-title", "#mgmt-balance", "#mgmt-safety", "#mgmt-bottleneck"]) say($(sel), null);
}

/** Everything drawn again in the new language. */
export function rerenderManagement() {
  if (kpis) renderManagement();
  if (runs) renderRuns();
  if (compared) renderCompare();
}
