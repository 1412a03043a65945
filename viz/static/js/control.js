// The control room: the fleet with its alarms, the queues at each yard, the live KPIs with
// their sparklines, and the lanes (numbered from 1; their rows keep the API's index in
// their test ids and data attributes).

import { $, $$, h } from "./dom.js";
import { carrierOf, idsOf, keyOf, laneOf, serious, yardOf } from "./frames.js";
import { fmtDur, fmtNum } from "./format.js";
import { laneName, t, tDir, tOr, tProto, tStatus } from "./i18n.js";
import { bridgeTag, bridgedKey, bridgedOf, deviceState } from "./devices.js";
import { chosenCarrier, labelLaneOptions, applyStateLocks, selectForCommand } from "./commands.js";
import { currentTab, go } from "./nav.js";
import { sparkline } from "./charts.js";
import { badges, batteryBar, containerLink, row } from "./widgets.js";

const KPI_HISTORY = 180; // samples kept for the sparklines (one a second)
const SIDES = ["vietnam", "china"];
const YARD_FIELDS = ["trucks", "outside", "awaiting", "stack", "cranes_busy", "parked"];

let history = []; // [{t, values, yard}] for the sparklines

// --- the fleet ----------------------------------------------------------------------------

function fleetRowFor(id) {
  let tr = document.getElementById(`fleet-${id}`);
  if (tr) return tr;
  tr = h(
    "tr",
    { id: `fleet-${id}`, "data-testid": `fleet-row-${id}`, dataset: { carrier: id }, title: t("fleet.select") },
    h(
      "td",
      { class: "mono" },
      h("button", { type: "button", class: "link mono", "data-testid": `fleet-map-${id}`, onclick: (ev) => { ev.stopPropagation(); go.carrier(id); }, text: id }),
      h("span", { class: "c-bridge" }),
    ),
    h("td", { class: "c-status" }),
    h("td", { class: "c-battery" }),
    h("td", { class: "c-container mono" }),
    h("td", { class: "c-alarms", "data-testid": `alarms-${id}` }),
  );
  tr.addEventListener("click", () => selectForCommand(id));
  // keep the rows in carrier order
  const body = $("#fleet-body");
  const after = $$("tr", body).find((r) => r.dataset.carrier > id);
  body.insertBefore(tr, after || null);
  return tr;
}

export function updateFleetRow(id, frame) {
  const v = carrierOf(frame, id);
  if (!v) {
    const tr = document.getElementById(`fleet-${id}`);
    if (tr) tr.remove();
    return;
  }
  const tr = fleetRowFor(id);
  const old = tr._v || {};
  if (old.status !== v.status) {
    tr.cells[1].textContent = tStatus(v.status);
    tr.dataset.status = v.status;
  }
  if (old.battery_pct !== v.battery_pct) tr.cells[2].replaceChildren(batteryBar(v.battery_pct));
  if (old.container !== v.container) tr.cells[3].replaceChildren(v.container ? containerLink(v.container) : "—");
  if (old.flags !== v.flags) {
    tr.cells[4].replaceChildren(...badges(v.flags, id));
    tr.cells[4].dataset.flags = v.flags;
    tr.classList.toggle("has-alarm", serious(v.flags));
    tr.classList.toggle("has-flags", v.flags.length > 0);
  }
  const b = bridgedOf(id);
  const bkey = bridgedKey(b);
  if (tr._b !== bkey) {
    const badge = b
      ? h("span", { class: `badge badge-bridged${b.online ? "" : " link-down"}`, "data-testid": `bridged-${id}`, title: t("fleet.bridged", { protocol: tProto(b.protocol), endpoint: b.endpoint || "—", state: deviceState(b) }) }, bridgeTag(b))
      : null;
    $(".c-bridge", tr).replaceChildren(...(badge ? [badge] : []));
    tr.classList.toggle("bridged", Boolean(b));
    if (b) tr.dataset.bridged = b.protocol || "";
    else delete tr.dataset.bridged;
    tr._b = bkey;
  }
  tr.classList.toggle("chosen", chosenCarrier() === id);
  tr._v = v;
}

export function updateFleetCount(frame) {
  const k = frame[keyOf("kpis")];
  const total = idsOf(frame, "carrier").length;
  $("#fleet-count").textContent = t("fleet.count", { busy: k ? fmtNum(k.carriers_busy) : "—", total });
}

export function applyFleetFilter() {
  const only = $("#fleet-filter").checked;
  for (const tr of $$("#fleet-body tr")) tr.hidden = only && !tr.classList.contains("has-flags");
}

// --- lanes --------------------------------------------------------------------------------

export function renderLanes(frame, laneCount) {
  if (!laneCount || !frame) return;
  const busy = new Map();
  for (const k of idsOf(frame, "block")) {
    const lane = k.split(":")[0];
    busy.set(lane, (busy.get(lane) || 0) + 1);
  }
  const rows = [];
  for (let i = 0; i < laneCount; i++) {
    const l = laneOf(frame, i);
    const open = !l || l.open !== false;
    const policy = l && l.policy ? l.policy : "";
    rows.push(
      h(
        "tr",
        { "data-testid": `lane-row-${i}`, dataset: { lane: String(i), open: String(open), direction: l ? l.direction : "", policy }, class: open ? "" : "closed" },
        h("td", { "data-testid": `lane-name-${i}`, text: laneName(i) }),
        h("td", { "data-testid": `lane-policy-${i}` }, policy ? h("span", { class: `policy policy-${policy}`, text: tOr(`policy.${policy}`, policy) }) : "—"),
        h("td", { text: l ? tDir(l.direction) : "—" }),
        h("td", null, h("span", { class: `badge ${open ? "badge-open" : "badge-closed"}`, text: t(open ? "lane.open" : "lane.closed") })),
        h("td", { class: "num", text: fmtNum(busy.get(String(i)) || 0) }),
      ),
    );
  }
  $("#lanes-body").replaceChildren(...rows);
  labelLaneOptions();
  applyStateLocks();
}

// --- yards --------------------------------------------------------------------------------

export function renderYards(frame) {
  const box = $("#yards");
  if (!box.childElementCount) {
    box.replaceChildren(
      ...SIDES.map((side) => {
        const dl = h("table", { class: "kv" });
        for (const f of YARD_FIELDS) dl.append(row(t(`yard.${f}`), "—", `yard-${side}-${f}`));
        const canvas = h("canvas", { class: "spark", "data-testid": `spark-yard-${side}`, width: 200, height: 34 });
        return h("div", { class: "yard", "data-testid": `yard-${side}` }, h("h4", { text: t(`yard.${side}`) }), dl, canvas);
      }),
    );
  }
  for (const side of SIDES) {
    const y = yardOf(frame, side);
    for (const f of YARD_FIELDS) {
      const cell = $(`[data-testid=yard-${side}-${f}]`, box);
      const text = y ? fmtNum(y[f]) : "—";
      if (cell.textContent !== text) cell.textContent = text;
    }
  }
}

function drawYardSparks() {
  for (const side of SIDES) {
    const c = $(`[data-testid=spark-yard-${side}]`);
    if (c) sparkline(c, history.map((p) => p.yard[side]), side === "vietnam" ? "#c0392b" : "#1f618d");
  }
}

// --- KPIs ---------------------------------------------------------------------------------

const count = (v) => fmtNum(v);
const duration = (v) => fmtDur(v);
// [name, its value from the KPIs (and the frame), how it is written (given the KPIs too)]
const KPI_CARDS = [
  ["delivered_export", (k) => k.export.delivered, count],
  ["delivered_import", (k) => k.import.delivered, count],
  ["wait_export", (k) => k.export.wait_mean_s, duration],
  ["wait_import", (k) => k.import.wait_mean_s, duration],
  ["in_yard", (k) => k.export.in_yard + k.import.in_yard, count],
  ["carriers_busy", (k) => k.carriers_busy, (v, k) => `${fmtNum(v)}/${fmtNum(k.carriers)}`],
  ["late", (k) => k.export.late_perishable + k.import.late_perishable, count],
  ["safety", (k) => k.safety_violations, count],
  ["alarms", (k, frame) => countAlarms(frame), count],
];

function countAlarms(frame) {
  return idsOf(frame, "carrier").filter((id) => serious(carrierOf(frame, id).flags)).length;
}

export function sampleKpis(frame) {
  const k = frame[keyOf("kpis")];
  if (!k || !k.export) return;
  const values = {};
  for (const [name, get] of KPI_CARDS) {
    try {
      values[name] = get(k, frame);
    } catch (e) {
      values[name] = null;
    }
  }
  const yard = {};
  for (const side of SIDES) {
    const y = yardOf(frame, side);
    yard[side] = y ? y.trucks + y.outside : 0;
  }
  history.push({ t: frame[keyOf("time")], values, yard });
  if (history.length > KPI_HISTORY) history.shift();
}

export function renderKpis(frame) {
  const k = frame[keyOf("kpis")];
  const box = $("#kpis");
  if (!k || !k.export) return;
  if (box.childElementCount !== KPI_CARDS.length) {
    box.replaceChildren(
      ...KPI_CARDS.map(([name]) =>
        h("div", { class: "kpi", "data-testid": `kpi-${name}` }, h("div", { class: "kpi-label", "data-i18n": `kpi.${name}`, text: t(`kpi.${name}`) }), h("div", { class: "kpi-value" }), h("canvas", { class: "spark", width: 160, height: 30 })),
      ),
    );
  }
  const last = history[history.length - 1];
  const visible = currentTab() === "control";
  KPI_CARDS.forEach(([name, , fmt], i) => {
    const card = box.children[i];
    const v = last ? last.values[name] : null;
    card.children[1].textContent = v === null || v === undefined ? "—" : fmt(v, k);
    card.classList.toggle("bad", (name === "safety" || name === "alarms" || name === "late") && v > 0);
    if (visible) sparkline(card.children[2], history.map((p) => p.values[name]), name === "safety" ? "#c0392b" : "#1f618d");
  });
  if (visible) drawYardSparks();
  updateFleetCount(frame);
}

// --- the whole view -----------------------------------------------------------------------

/** Everything drawn again from the frame (the tab shown, a language switch). */
export function renderControl(frame, laneCount) {
  if (!frame) return;
  for (const tr of $$("#fleet-body tr")) tr._v = tr._b = null;
  for (const id of idsOf(frame, "carrier")) updateFleetRow(id, frame);
  applyFleetFilter();
  renderYards(frame);
  renderKpis(frame);
  renderLanes(frame, laneCount);
}

/** Rows and cards built again in the new language at the next render. */
export function forgetBuilt() {
  $("#yards").replaceChildren();
  $("#kpis").replaceChildren();
  $("#fleet-body").replaceChildren();
}

export function clearControl() {
  history = [];
  $("#fleet-body").replaceChildren();
  $("#yards").replaceChildren();
  $("#kpis").replaceChildren();
  $("#lanes-body").replaceChildren();
  $("#fleet-count").textContent = "";
}

