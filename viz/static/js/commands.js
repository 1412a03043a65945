// The operator's commands: the forms (a carrier, a lane, a direction, a speed), what the
// state of the run locks beyond the role (a fixed speed, a lane that cannot turn), the
// sending (POST /api/commands) and the log of the last replies, said by code.
// Lanes are offered as the page numbers them (from 1); the value sent is the API's index.

import { api } from "./api.js";
import { $, $$, h, say, sayIfChanged } from "./dom.js";
import { idsOf, keyOf, laneOf } from "./frames.js";
import { fmtNum, fmtTime } from "./format.js";
import { laneName, laneNumber, t, tDir } from "./i18n.js";
import { replyText } from "./replies.js";
import { can } from "./session.js";
import { getFrame } from "./state.js";

const CARRIER_ACTIONS = new Set(["pause_carrier", "resume_carrier", "send_to_charger", "send_to_maintenance", "return_to_service", "place_carrier", "abort_trip", "stop_charging"]);
const LANE_ACTIONS = new Set(["close_lane", "open_lane", "set_lane_direction"]);
const LOG_LENGTH = 12;

let carriers = []; // the site's carrier ids
let laneCount = 0;
let log = []; // the last commands and their replies, newest first
let dirLane = null; // the lane the direction select was last set for
const sent = []; // what to do after a command went out: fn(action, args)

/** `fn(action, args)` after each command (the carrier panel fetches its carrier again). */
export function onSent(fn) {
  sent.push(fn);
}

export function setSite(site) {
  carriers = site ? site.carriers : [];
  laneCount = site ? site.lanes : 0;
  buildCommandSelects();
}

export function buildCommandSelects() {
  if (!laneCount && !carriers.length) return;
  const carrierSel = $("#cmd-carrier");
  const keep = carrierSel.value;
  carrierSel.replaceChildren(...carriers.map((id) => h("option", { value: id, text: id })));
  if (keep) carrierSel.value = keep;
  const laneSel = $("#cmd-lane");
  const keepLane = laneSel.value;
  const lanes = [];
  for (let i = 0; i < laneCount; i++) lanes.push(h("option", { value: String(i), text: laneName(i) }));
  laneSel.replaceChildren(...lanes);
  if (keepLane) laneSel.value = keepLane;
  labelLaneOptions();
  applyStateLocks();
}

/** A reversible lane says so in the lane select. */
export function labelLaneOptions() {
  const frame = getFrame();
  for (const o of $("#cmd-lane").options) {
    const l = laneOf(frame, o.value);
    const policy = l ? l.policy : undefined;
    sayIfChanged(o, t(policy === "reversible" ? "lane.option_reversible" : "lane.name", { n: laneNumber(o.value) }));
    if (policy && o.dataset.policy !== policy) o.dataset.policy = policy;
  }
}

function setLock(el, reason) {
  // `reason`: why the control is locked now, or null; the role's locks are left to applyRoles
  if (!el || !can(el.dataset.minRole || "viewer")) return;
  const locked = Boolean(reason);
  if (el.disabled !== locked) el.disabled = locked;
  el.classList.toggle("locked", locked);
  if (locked) {
    if (el.title !== reason) el.title = reason;
  } else if (el.hasAttribute("title")) el.removeAttribute("title");
}

function lanePolicies(frame) {
  const out = [];
  for (const i of idsOf(frame, "lane")) {
    const l = laneOf(frame, i);
    if (l && l.policy) out.push(l.policy);
  }
  return out;
}

/** Lock what the state of the run does not allow now, and say why. */
export function applyStateLocks() {
  const frame = getFrame();
  const clock = frame ? frame[keyOf("clock")] : null;
  // a run with bridged devices keeps the speed it started with (the server refuses a change)
  const fixed = Boolean(clock && clock.bridged);
  const why = fixed ? t("cmd.speed_fixed_short") : null;
  setLock($("#cmd-speed"), why);
  setLock($('#commands [data-action="set_speed"]'), why);
  const note = $("#speed-fixed");
  note.hidden = !fixed;
  sayIfChanged(note, fixed ? t("cmd.speed_fixed", { speed: fmtNum(clock.speed, 1) }) : "");
  // only reversible lanes can have their direction set
  const lane = $("#cmd-lane").value;
  const l = frame && lane !== "" ? laneOf(frame, lane) : null;
  const policy = l ? l.policy : undefined;
  const reversible = policy === "reversible";
  const dirLocked = policy !== undefined && !reversible ? t("cmd.not_reversible") : null;
  const dirSel = $("#cmd-direction");
  setLock(dirSel, dirLocked);
  setLock($('#commands [data-action="set_lane_direction"]'), dirLocked);
  const laneNote = $("#lane-note");
  laneNote.dataset.policy = policy || "";
  let text = "";
  if (l && policy !== undefined) {
    if (!lanePolicies(frame).includes("reversible")) text = t("cmd.no_reversible");
    else text = t(reversible ? "cmd.lane_reversible" : "cmd.lane_fixed", { n: laneNumber(lane), dir: tDir(l.direction) });
  }
  sayIfChanged(laneNote, text);
  if (l) {
    // a reversible lane is offered the other way round; a fixed one shows the way it runs
    const other = l.direction === "to_china" ? "to_vietnam" : "to_china";
    if (lane !== dirLane) {
      dirLane = lane;
      dirSel.value = reversible ? other : l.direction;
    } else if (policy !== undefined && !reversible && dirSel.value !== l.direction) dirSel.value = l.direction;
  }
}

/** The carrier chosen for commands (a click on its row in the fleet list). */
export function selectForCommand(id) {
  $("#cmd-carrier").value = id;
  for (const tr of $$("#fleet-body tr")) tr.classList.toggle("chosen", tr.dataset.carrier === id);
}

export const chosenCarrier = () => $("#cmd-carrier").value;

function argsFor(action) {
  const args = {};
  if (CARRIER_ACTIONS.has(action)) args.carrier_id = $("#cmd-carrier").value;
  if (LANE_ACTIONS.has(action)) args.lane = Number($("#cmd-lane").value); // the API's index, from 0
  if (action === "set_lane_direction") args.direction = $("#cmd-direction").value;
  if (action === "place_carrier") args.yard = $("#cmd-yard").value; // where an unplaced carrier stands
  if (action === "set_speed") args.speed = Number($("#cmd-speed").value);
  return args;
}

function targetOf(args) {
  if (args.carrier_id) return ` ${args.carrier_id}`;
  if (args.lane !== undefined) return ` ${laneName(args.lane)}${args.direction ? " → " + tDir(args.direction) : ""}`;
  if (args.speed !== undefined) return ` ×${fmtNum(args.speed, 1)}`;
  return "";
}

/** The reply box: "pending", "ok", "refused" or "error", with its message. */
export function showResult(state, make) {
  const box = $("#cmd-result");
  box.dataset.state = state;
  if (state === "ok" || state === "refused" || state === "error") box.dataset.ok = String(state === "ok");
  else box.removeAttribute("data-ok");
  say(box, make);
}

export async function sendCommand(action, args) {
  if (!can("operator")) {
    showResult("error", () => t("err.forbidden"));
    return null;
  }
  const label = () => t(`cmd.${action}`) + targetOf(args);
  if (action === "set_speed" && !(args.speed >= 1 && args.speed <= 1000)) {
    showResult("error", () => t("cmd.bad_speed"));
    return null;
  }
  showResult("pending", () => t("cmd.sending", { action: label() }));
  const entry = { at: Date.now() / 1000, action, args, ok: false, detail: "", code: "", replyArgs: {} };
  try {
    const reply = await api("POST", "/api/commands", { action, ...args });
    entry.ok = Boolean(reply.ok);
    entry.detail = reply.detail;
    entry.code = reply.code || "";
    entry.replyArgs = reply.args || {};
    const said = () => replyText(entry.code, entry.replyArgs, entry.detail);
    showResult(entry.ok ? "ok" : "refused", () => t("cmd.result", { verdict: t(entry.ok ? "cmd.ok" : "cmd.refused"), action: label(), detail: said() }));
  } catch (e) {
    entry.detail = e.message;
    entry.make = e.make;
    entry.error = e.status === 403 ? "forbidden" : "error";
    showResult("error", () => t("cmd.result", { verdict: t(e.status === 403 ? "cmd.forbidden" : "cmd.error"), action: label(), detail: e.make() }));
  }
  log.unshift(entry);
  log.length = Math.min(log.length, LOG_LENGTH);
  renderCmdLog();
  for (const fn of sent) fn(action, args);
  return entry;
}

export function renderCmdLog() {
  const list = $("#cmd-log");
  if (!log.length) {
    list.replaceChildren(h("li", { class: "muted", text: t("cmd.log_empty") }));
    return;
  }
  const verdict = (e) => t(e.ok ? "cmd.ok" : e.error === "forbidden" ? "cmd.forbidden" : e.error ? "cmd.error" : "cmd.refused");
  list.replaceChildren(
    ...log.map((e) =>
      h(
        "li",
        { class: e.ok ? "ok" : "not-ok" },
        h("time", { text: fmtTime(e.at) }),
        " ",
        h("b", { text: t(`cmd.${e.action}`) + targetOf(e.args) }),
        " — ",
        h("span", { text: `${verdict(e)}: ${e.make ? e.make() : replyText(e.code, e.replyArgs, e.detail)}` }),
      ),
    ),
  );
}

export function initCommands() {
  for (const b of $$("#commands [data-action]")) b.addEventListener("click", () => sendCommand(b.dataset.action, argsFor(b.dataset.action)));
  $("#cmd-carrier").addEventListener("change", (ev) => selectForCommand(ev.target.value));
  $("#cmd-lane").addEventListener("change", applyStateLocks);
  $("#cmd-speed").addEventListener("input", (ev) => (ev.target.dataset.touched = "1"));
  renderCmdLog();
}

export function clearCommands() {
  log = [];
  dirLane = null;
  carriers = [];
  laneCount = 0;
  const box = $("#cmd-result");
  say(box, null);
  box.removeAttribute("data-state");
  box.removeAttribute("data-ok");
  $("#cmd-log").replaceChildren();
  $("#cmd-carrier").replaceChildren();
  $("#cmd-lane").replaceChildren();
  delete $("#cmd-speed").dataset.touched;
  $("#lane-note").textContent = "";
  $("#speed-fixed").hidden = true;
}
