// What the server says, in the reader's language, by code: a command's reply (and an audit
// entry) carries a `code` (controllers/console.py REPLY_CODES, checkpoint/live.py
// CLOCK_CODES, and the app's own) and the `args` its sentence uses; a container's steps
// are codes with a value in them ("inspection (red)", "on AGV-003").

import { has, laneNumber, t, tOr, tPlace, tRole, tStatus } from "./i18n.js";

/** A reply as the sentence "reply.<code>" with its {placeholders} filled from `args`
 * (sides, headings, statuses and roles translated, lanes numbered from 1); the server's
 * English `fallback` when the page knows no sentence for the code. */
export function replyText(code, args, fallback) {
  if (!code || !has(`reply.${code}`)) return fallback;
  const a = args || {};
  const p = { ...a };
  if (a.n !== undefined) p.count = t(Number(a.n) === 1 ? "reply.count_one" : "reply.count", { n: a.n });
  if (a.lane !== undefined) p.lane = laneNumber(a.lane);
  if (a.last !== undefined) p.last = laneNumber(a.last);
  if (a.heading !== undefined) p.heading = tOr(`reply.heading.${a.heading}`, a.heading);
  if (a.side !== undefined) p.side = tOr(`reply.side.${a.side}`, a.side);
  if (a.status !== undefined) p.status = tStatus(a.status).toLocaleLowerCase(t("locale"));
  if (a.role !== undefined) p.role = tRole(a.role);
  if (a.action !== undefined) p.action = tOr(`cmd.${a.action}`, a.action);
  if (a.field !== undefined) p.field = tOr(`reply.field.${a.field}`, a.field);
  if (a.why !== undefined) {
    const why = String(a.why).split(",").filter(Boolean).map((r) => tOr(`reply.why.${r}`, r, { carrier: a.carrier }));
    p.why = why.length ? ` (${why.join("; ")})` : "";
  }
  return t(`reply.${code}`, p);
}

// A container's steps (twin/yard.py, twin/world.py `reach`): [pattern, code, its values]
const STEPS = [
  [/^inspection \((\w+)\)$/, "inspection", (m) => ({ channel: tOr(`channel.${m[1]}`, m[1]) })],
  [/^on the receiving truck at (\w+)$/, "receiving", (m) => ({ side: tPlace(m[1]) })],
  [/^stack at (\w+)$/, "stack", (m) => ({ side: tPlace(m[1]) })],
  [/^awaiting carrier$/, "awaiting_carrier", () => ({})],
  [/^on (\S+)$/, "on", (m) => ({ carrier: m[1] })],
  [/^(\w+)$/, null, () => ({})], // arrived, gate, weighbridge, scanner, leaving, delivered: the step is its code
];

/** A step's code and values: {code: "inspection", args: {channel}}; null when unknown. */
export function stepCode(step) {
  for (const [pattern, code, args] of STEPS) {
    const m = pattern.exec(step || "");
    if (m) return { code: code || m[1], args: args(m) };
  }
  return null;
}

/** A step in the reader's language (the server's words when the page knows no code). */
export function stepText(step) {
  if (!step) return "—";
  const found = stepCode(step);
  return found ? tOr(`step.${found.code}`, step, found.args) : step;
}
