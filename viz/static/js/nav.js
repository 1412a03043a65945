// The tabs, and the few ways one view sends the reader to another (a carrier on the map,
// a container in tracking), registered by main.js so that views need not import each other.

import { $, $$ } from "./dom.js";

let tab = "map";
const shown = new Map(); // tab -> what to do when it is shown

export const currentTab = () => tab;

export function onShow(name, fn) {
  shown.set(name, fn);
}

export function showTab(name) {
  const button = $(`[data-tab="${name}"]`);
  if (!button || button.hidden) name = "map";
  tab = name;
  sessionStorage.setItem("cr.tab", name);
  for (const b of $$("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const sec of $$(".tab")) sec.hidden = sec.id !== `tab-${name}`;
  const fn = shown.get(name);
  if (fn) fn();
}

/** Set by main.js: show a carrier on the map with its panel; look a container up. */
export const go = {
  carrier: (id) => {},
  track: (q) => {},
};
