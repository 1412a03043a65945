// Bridged devices (mixed mode): the frame's device list ("d"), the panel that shows it, and
// which carriers are real or emulated vehicles (marked on the map and in the fleet list).

import { $, h } from "./dom.js";
import { key, keyOf } from "./frames.js";
import { fmtNum } from "./format.js";
import { t, tOr, tProto } from "./i18n.js";
import { go } from "./nav.js";

let bridged = new Map(); // carrier id -> its entry in the frame's device list

export const bridgedOf = (id) => bridged.get(id);

export const bridgeTag = (b) => (/^VDA 5050/.test(b.protocol || "") ? "VDA 5050" : b.protocol || "");
export const deviceState = (b) => t(b.online ? "devices.online" : "devices.offline") + (b.fault ? `, ${t("devices.faulty")}` : "");
export const bridgedText = (b) => t("carrier.bridged_via", { protocol: tProto(b.protocol), endpoint: b.endpoint || "—", state: deviceState(b) });
export const bridgedKey = (b) => (b ? `${b.protocol}|${b.endpoint}|${Boolean(b.online)}|${Boolean(b.fault)}` : "");

function devicesIn(frame) {
  const d = frame ? frame[keyOf("devices")] : null;
  return Array.isArray(d) ? d : [];
}

/** Read the bridged vehicles from the frame; the carriers whose marking changed. */
export function refreshBridged(frame) {
  const next = new Map();
  for (const dev of devicesIn(frame)) if (dev && dev.kind === "vehicle") next.set(dev.id, dev);
  const changed = [];
  for (const id of new Set([...bridged.keys(), ...next.keys()])) if (bridgedKey(bridged.get(id)) !== bridgedKey(next.get(id))) changed.push(id);
  bridged = next;
  return changed.filter((id) => frame && key("carrier", id) in frame);
}

export function renderDevices(frame) {
  const d = devicesIn(frame).filter((x) => x && x.id);
  const any = d.length > 0;
  const box = $("#devices");
  box.dataset.bridged = String(any);
  box.classList.toggle("has-fault", d.some((x) => x.fault || !x.online));
  $("#devices-none").hidden = any;
  $("#devices-wrap").hidden = !any;
  $("#devices-count").textContent = any ? t("devices.count", { online: fmtNum(d.filter((x) => x.online).length), total: fmtNum(d.length) }) : "";
  $("#devices-body").replaceChildren(
    ...d.map((dev) =>
      h(
        "tr",
        { "data-testid": `device-row-${dev.id}`, dataset: { device: dev.id, kind: dev.kind, online: String(Boolean(dev.online)), fault: String(Boolean(dev.fault)) }, class: dev.fault || !dev.online ? "not-ok" : "" },
        h(
          "td",
          null,
          h("div", { text: tOr(`devkind.${dev.kind}`, dev.kind) }),
          h(
            "div",
            { class: "mono small" },
            dev.kind === "vehicle" && key("carrier", dev.id) in frame ? h("button", { type: "button", class: "link mono", onclick: () => go.carrier(dev.id), text: dev.id }) : dev.id,
          ),
          dev.kind === "camera" ? h("div", { class: "small muted", text: t("devices.camera", { frames: fmtNum(dev.frames), checks: fmtNum(dev.officer_checks) }) }) : null,
          dev.kind === "gate" && dev.alarm
            ? h(
                "div",
                { class: "small", "data-testid": `device-alarm-${dev.id}` },
                h("div", { text: t("devices.gate_held", { waiting: fmtNum(dev.waiting || 0) }) }),
                h("div", { class: "muted", text: dev.alarm }),
              )
            : null,
        ),
        h("td", null, h("div", { "data-testid": `device-protocol-${dev.id}`, text: tProto(dev.protocol) }), h("div", { class: "mono small muted", "data-testid": `device-endpoint-${dev.id}`, text: dev.endpoint || "—" })),
        h("td", { "data-testid": `device-link-${dev.id}` }, h("span", { class: `badge ${dev.online ? "badge-open" : "badge-closed"}`, text: t(dev.online ? "devices.online" : "devices.offline") })),
        h("td", { "data-testid": `device-fault-${dev.id}` }, dev.fault ? h("span", { class: "badge badge-broken", text: t("devices.faulty") }) : h("span", { class: "muted small", text: t("devices.ok") })),
      ),
    ),
  );
}

export function clearDevices() {
  bridged = new Map();
  $("#devices-body").replaceChildren();
  $("#devices-wrap").hidden = true;
  $("#devices-none").hidden = false;
  $("#devices-count").textContent = "";
  $("#devices").dataset.bridged = "false";
  $("#devices").classList.remove("has-fault");
}
