// Small pieces several views draw: alarm badges, a battery bar, a table row, a container
// code that opens tracking.

import { h } from "./dom.js";
import { flagsOf } from "./frames.js";
import { fmtNum } from "./format.js";
import { t } from "./i18n.js";
import { go } from "./nav.js";

/** The names of a carrier's alarms, in words. */
export function alarmNames(flags) {
  return flagsOf(flags).map(([, name]) => t(`alarm.${name}`)).join(", ");
}

/** A badge per alarm (data-flag the letter, the badge's testid "badge-<id>-<letter>"). */
export function badges(flags, id) {
  const list = flagsOf(flags);
  if (!list.length) return [h("span", { class: "muted small", text: "—" })];
  return list.map(([letter, name]) =>
    h("span", { class: `badge badge-${name}`, title: t(`alarm.${name}`), dataset: { flag: letter, alarm: name, testid: id ? `badge-${id}-${letter}` : null } }, t(`alarm.${name}`)),
  );
}

export function batteryBar(pct) {
  const v = Math.max(0, Math.min(100, Number(pct) || 0));
  return h("span", { class: `battery${v < 25 ? " low" : ""}` }, h("span", { class: "battery-fill", style: `width:${v}%` }), h("span", { class: "battery-text", text: `${fmtNum(v)}%` }));
}

export function row(label, value, testid) {
  return h("tr", null, h("th", { text: label }), h("td", { dataset: testid ? { testid } : null }, value));
}

export function containerLink(code) {
  if (!code) return "—";
  return h("button", { type: "button", class: "link mono", title: t("carrier.track"), onclick: () => go.track(code), text: code });
}
