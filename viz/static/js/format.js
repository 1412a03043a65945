// Numbers in the reader's language, durations, and times at the gate: every time the page
// shows is in Asia/Ho_Chi_Minh, whatever the browser's own zone.

import { currentLang, t } from "./i18n.js";

export const TZ = "Asia/Ho_Chi_Minh";

const cache = new Map();
function formatter(kind, opts) {
  const key = `${currentLang()}|${kind}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = kind === "n" ? new Intl.NumberFormat(t("locale"), opts) : new Intl.DateTimeFormat(t("locale"), { timeZone: TZ, ...opts });
    cache.set(key, f);
  }
  return f;
}

export function fmtNum(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
  return formatter("n", { maximumFractionDigits: digits }).format(Number(v));
}

export const fmtPct = (frac, digits = 1) => (frac === null || frac === undefined ? "—" : t("unit.pct", { n: fmtNum(frac * 100, digits) }));

export function fmtDur(sec) {
  if (sec === null || sec === undefined || Number.isNaN(Number(sec))) return "—";
  const v = Math.max(0, Math.round(Number(sec)));
  if (v < 60) return t("unit.s", { n: v });
  if (v < 3600) return t("unit.min_s", { m: Math.floor(v / 60), s: v % 60 });
  return t("unit.h_min", { h: Math.floor(v / 3600), m: Math.floor((v % 3600) / 60) });
}

const TIME = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
const DATETIME = { ...TIME, day: "2-digit", month: "2-digit", year: "numeric" };

/** Epoch seconds as the time at the gate (and its date with `withDate`). */
export function fmtTime(epochSec, withDate = false) {
  if (epochSec === null || epochSec === undefined) return "—";
  return formatter("d", withDate ? DATETIME : TIME).format(new Date(epochSec * 1000));
}

export const fmtIso = (iso, withDate = false) => (iso ? fmtTime(Date.parse(iso) / 1000, withDate) : "—");
export const fmtDate = (epochSec) => formatter("d", { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(new Date(epochSec * 1000));
