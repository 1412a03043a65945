// The reader's language and the sentences in it: t("key", {params}) fills "{name}"
// placeholders; the tables are ../i18n.js. Also the small translators every view uses
// (statuses, roles, directions, protocols) and the page's lane numbers, which start at 1
// (the API's and the frames' lane indexes start at 0).

import { I18N } from "../i18n.js";
import { $$ } from "./dom.js";

export { I18N };
export const LANGS = ["vi", "en"];

const stored = localStorage.getItem("cr.lang");
let lang = LANGS.includes(stored) ? stored : "vi";

/** Keys the page asked for that the language lacks ("lang:key"). */
export const missing = new Set();

export const currentLang = () => lang;

/** Switch to `next`; false when it is not a language the page speaks. */
export function chooseLang(next) {
  if (!LANGS.includes(next)) return false;
  lang = next;
  localStorage.setItem("cr.lang", next);
  return true;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(I18N[lang], key);
}

export function t(key, params) {
  let text = I18N[lang][key];
  if (text === undefined) {
    missing.add(`${lang}:${key}`);
    text = I18N.vi[key] ?? key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  return text;
}

/** t(key) where the table has it, else `fallback` (for values the server names). */
export const tOr = (key, fallback, params) => (has(key) ? t(key, params) : fallback);
export const tStatus = (status) => tOr(`status.${status}`, status || "—");
export const tRole = (role) => tOr(`role.${role}`, role);
export const tDir = (d) => tOr(`dir.${d}`, d);
export const tDirection = (d) => tOr(`dirn.${d}`, d);
export const tPlace = (p) => tOr(`place.${p}`, p);

/** A lane index of the API (from 0) as the page numbers lanes (from 1). */
export function laneNumber(index) {
  const n = Number(index);
  return Number.isInteger(n) && String(index).trim() !== "" ? n + 1 : index;
}

/** "Làn 1" for the lane of index 0. */
export const laneName = (index) => t("lane.name", { n: laneNumber(index) });

export function tProto(protocol) {
  // the server names protocols in English; the technical names stay as they are
  if (!protocol) return "—";
  const m = /^VDA 5050 (\S+) over MQTT$/.exec(protocol);
  if (m) return t("proto.vda5050", { version: m[1] });
  if (protocol === "frames, OCR") return t("proto.camera");
  return protocol;
}

/** The static texts of the page (data-i18n, data-i18n-placeholder, data-i18n-title). */
export function applyI18n(root = document) {
  for (const e of $$("[data-i18n]", root)) e.textContent = t(e.dataset.i18n);
  for (const e of $$("[data-i18n-placeholder]", root)) e.placeholder = t(e.dataset.i18nPlaceholder);
  for (const e of $$("[data-i18n-title]", root)) e.title = t(e.dataset.i18nTitle);
  document.title = t("app.title");
  document.documentElement.lang = lang;
}
