// The carrier panel beside the map: a carrier's state, order, battery and container, with
// the commands for it. Status, battery and alarms follow the frames; the rest is fetched
// from /api/carriers/{id} (again when its load changes).

import { api } from "./api.js";
import { $, h, sayIfChanged } from "./dom.js";
import { carrierOf, hasFlag } from "./frames.js";
import { fmtNum } from "./format.js";
import { t, tOr, tStatus } from "./i18n.js";
import { bridgedOf, bridgedText } from "./devices.js";
import { setSelected } from "./map.js";
import { stepText } from "./replies.js";
import { can } from "./session.js";
import { getFrame } from "./state.js";
import { badges, batteryBar, containerLink, row } from "./widgets.js";
import { sendCommand } from "./commands.js";

const CARRIER_ACTIONS = ["pause_carrier", "resume_carrier", "send_to_charger", "send_to_maintenance", "return_to_service", "abort_trip", "stop_charging"];

let selected = null; // the carrier whose panel is open
let info = null; // its last GET /api/carriers/{id}
let fetching = false;

export const selectedCarrier = () => selected;

export async function openCarrier(id) {
  selected = id;
  info = null;
  setSelected(id);
  renderCarrierPanel();
  await fetchCarrier(id);
}

export async function fetchCarrier(id) {
  try {
    const found = await api("GET", `/api/carriers/${encodeURIComponent(id)}`);
    if (selected === id) {
      info = found;
      renderCarrierPanel();
    }
  } catch (e) {
    if (selected === id) {
      info = { error: e.message };
      renderCarrierPanel();
    }
  }
}

/** After a command for `id`: what the panel shows is fetched again. */
export function refreshIfSelected(id) {
  if (selected && id === selected) fetchCarrier(selected);
}

export function closeCarrier() {
  selected = null;
  info = null;
  $("#carrier-panel").hidden = true;
  setSelected(null);
}

export function clearCarrierPanel() {
  selected = null;
  info = null;
  const panel = $("#carrier-panel");
  panel.hidden = true;
  panel.replaceChildren();
}

export function renderCarrierPanel() {
  const panel = $("#carrier-panel");
  const id = selected;
  if (!id) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  panel.dataset.carrier = id;
  const v = carrierOf(getFrame(), id);
  const known = info && !info.error;
  const status = known ? info.status : v ? v.status : null;
  const battery = known ? info.battery_pct : v ? v.battery_pct : null;
  const flags = (v ? v.flags : info && info.alarms) || "";
  const parts = [
    h("div", { class: "row-between" }, h("h3", { text: t("carrier.title", { id }) }), h("button", { type: "button", class: "link", "data-testid": "carrier-close", onclick: closeCarrier, text: t("carrier.close") })),
  ];
  const table = h("table", { class: "kv" });
  table.append(
    row(t("carrier.status"), status ? tStatus(status) : "—", "carrier-status"),
    row(t("carrier.battery"), battery === null || battery === undefined ? "—" : batteryBar(battery), "carrier-battery"),
    row(t("carrier.alarms"), h("span", null, badges(flags)), "carrier-alarms"),
  );
  if (info && info.error) parts.push(table, h("p", { class: "error", text: info.error }));
  else if (!info) parts.push(table, h("p", { class: "muted", text: t("carrier.loading") }));
  else {
    const c = info.container;
    table.append(row(t("carrier.container"), c ? containerLink(c.container_id) : t("carrier.none"), "carrier-container"));
    if (c) table.append(row(t("track.step"), stepText(c.step)), row(t("track.plate"), c.plate), row(t("track.cargo"), tOr(`cargo.${c.cargo}`, c.cargo)));
    const o = info.order || {};
    table.append(
      row(t("carrier.order_id"), o.order_id || t("carrier.no_order"), "carrier-order"),
      row(t("carrier.from"), o.from || "—"),
      row(t("carrier.to"), o.to || "—"),
      row(t("carrier.last_node"), o.last_node || "—"),
      row(t("carrier.base_end"), o.base_end || "—"),
      row(t("carrier.position"), `${fmtNum(info.lat, 5)}, ${fmtNum(info.lon, 5)}`),
    );
    if (info.bridged) table.append(row(t("carrier.bridged"), bridgedOf(id) ? bridgedText(bridgedOf(id)) : t("yes"), "carrier-bridged"));
    // why it stands or stalled, and what the vehicle says, in its own words
    if (info.notes && info.notes.length) table.append(row(t("carrier.notes"), h("ul", { class: "notes" }, ...info.notes.map((n) => h("li", { text: n }))), "carrier-notes"));
    parts.push(table);
  }
  const actions = h("div", { class: "btns" });
  for (const action of CARRIER_ACTIONS) {
    actions.append(
      h("button", { type: "button", "data-testid": `panel-${action}`, "data-min-role": "operator", disabled: !can("operator"), title: can("operator") ? null : t("err.forbidden"), onclick: () => sendCommand(action, { carrier_id: id }), text: t(`cmd.${action}`) }),
    );
  }
  if (hasFlag(flags, "unplaced")) {
    // it came online off the site's nodes: the operator says at which yard it stands
    for (const yard of ["vietnam", "china"]) {
      actions.append(
        h("button", { type: "button", "data-testid": `panel-place-${yard}`, "data-min-role": "operator", disabled: !can("operator"), onclick: () => sendCommand("place_carrier", { carrier_id: id, yard }), text: t(`cmd.place_${yard}`) }),
      );
    }
  }
  parts.push(actions);
  panel.replaceChildren(...parts);
}

/** The panel after frames that changed the carriers `ids`. */
export function updateCarrierPanel(ids) {
  if (!selected || !ids.includes(selected)) return;
  const v = carrierOf(getFrame(), selected);
  if (!v || !info || info.error) return;
  const load = info.container ? info.container.container_id : null;
  const flagsChanged = info.alarms !== v.flags; // the notes that say why may have changed too
  const changed = info.status !== v.status || load !== v.container || info.battery_pct !== v.battery_pct || flagsChanged;
  info.status = v.status;
  info.battery_pct = v.battery_pct;
  info.alarms = v.flags;
  if ((load !== v.container || flagsChanged) && !fetching) {
    fetching = true;
    fetchCarrier(selected).finally(() => (fetching = false));
  }
  if (changed) {
    const status = $("[data-testid=carrier-status]");
    if (status) status.textContent = tStatus(v.status);
    const battery = $("[data-testid=carrier-battery]");
    if (battery) battery.replaceChildren(batteryBar(v.battery_pct));
    const alarms = $("[data-testid=carrier-alarms]");
    if (alarms) alarms.replaceChildren(h("span", null, badges(v.flags)));
  }
  const bridged = $("[data-testid=carrier-bridged]");
  if (bridged && bridgedOf(selected)) sayIfChanged(bridged, bridgedText(bridgedOf(selected)));
}
