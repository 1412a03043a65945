// The state frames' format, as the server describes it at /api/frame-format
// (viz/frames.py FORMAT): its keys, its prefixes, the fields of a carrier's and a lane's
// entry, the block states and the alarm flags. The page knows none of them by heart:
// it loads the format once at start-up and decodes every frame with it.

let F = null;
let carrierIndex = {};
let laneIndex = {};
let prefixes = []; // [[kind, prefix]], the longest first

/** Fetch the format (retried by the caller on failure). */
export async function loadFormat() {
  const res = await fetch("/api/frame-format", { cache: "no-store" });
  if (!res.ok) throw new Error(`frame format: HTTP ${res.status}`);
  useFormat(await res.json());
  return F;
}

export function useFormat(format) {
  F = format;
  carrierIndex = Object.fromEntries(F.carrier_fields.map((name, i) => [name, i]));
  laneIndex = Object.fromEntries(F.lane_fields.map((name, i) => [name, i]));
  prefixes = Object.entries(F.prefixes).sort((a, b) => b[1].length - a[1].length);
}

export const formatLoaded = () => F !== null;
export const format = () => F;

/** The frame's key for a whole-frame item: "time", "clock", "kpis", "operator", "devices", "wall". */
export const keyOf = (name) => F.keys[name];

/** The key of one thing: key("carrier", "AGV-001"), key("lane", 3), key("block", 3, 12), key("yard", "china"). */
export function key(kind, ...parts) {
  return F.prefixes[kind] + parts.join(":");
}

/** What a key names: [kind, rest] for a prefixed key ("carrier", "AGV-001"), [name] for the others. */
export function parseKey(k) {
  for (const [kind, prefix] of prefixes) if (k.startsWith(prefix)) return [kind, k.slice(prefix.length)];
  for (const [name, whole] of Object.entries(F.keys)) if (k === whole) return [name];
  return ["unknown", k];
}

/** The ids of the things of one kind in a frame (carrier ids, lane indexes as strings, ...). */
export function idsOf(frame, kind) {
  const prefix = F.prefixes[kind];
  const out = [];
  if (frame) for (const k of Object.keys(frame)) if (k.startsWith(prefix)) out.push(k.slice(prefix.length));
  return out;
}

/** A carrier's entry as {lat, lon, status, battery_pct, container, flags} (carrier_fields). */
export function decodeCarrier(entry) {
  if (!entry) return null;
  const out = {};
  for (const [name, i] of Object.entries(carrierIndex)) out[name] = entry[i];
  out.flags = out.flags || "";
  return out;
}

/** A lane's entry as {direction, open, policy} (lane_fields). */
export function decodeLane(entry) {
  if (!entry) return null;
  const out = {};
  for (const [name, i] of Object.entries(laneIndex)) out[name] = entry[i];
  return out;
}

export const carrierOf = (frame, id) => decodeCarrier(frame && frame[key("carrier", id)]);
export const laneOf = (frame, lane) => decodeLane(frame && frame[key("lane", lane)]);
export const yardOf = (frame, side) => (frame ? frame[key("yard", side)] || null : null);
export const blockOf = (frame, lane, block) => blockStateName(frame && frame[key("block", lane, block)]);

/** A block's letter ("r", "o") as its state's name ("reserved", "occupied"); null when free. */
export function blockStateName(letter) {
  return letter ? F.block_states[letter] || letter : null;
}

/** The flag letters in the format's order, with their names: [["B", "broken"], ...]. */
export const flagDefs = () => Object.entries(F.flags);

/** The alarms a carrier's flags stand for: [[letter, name], ...] in the format's order. */
export function flagsOf(flags) {
  return flagDefs().filter(([letter]) => (flags || "").includes(letter));
}

/** Does `flags` (a carrier's letters) include the alarm named `name`? */
export function hasFlag(flags, name) {
  return flagsOf(flags).some(([, n]) => n === name);
}

/** Alarms that make a carrier red: it is broken down, out of touch or low on battery. */
export const SERIOUS = ["broken", "connection_lost", "low_battery", "stands", "stalled", "unplaced", "unanswered"];
export const serious = (flags) => flagsOf(flags).some(([, n]) => SERIOUS.includes(n));
