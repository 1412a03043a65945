// The live state: the frame as the server has it, kept up to date by the websocket (a
// whole frame, then deltas), what changed since the last render, and the connection.
// A link that drops is opened again with ?since=<seq> so that the server sends only
// the deltas missed; a delta that does not follow on from our frame asks for them too.

import { api, getToken } from "./api.js";
import { parseKey } from "./frames.js";

const STALE_MS = 3000;

let frame = null; // the frame as the server has it
let seq = null;
let ws = null;
let wsOpened = false;
let retries = 0;
let retryTimer = null;
let lastMessageAt = 0;
let conn = "offline";

const renderers = [];
const connWatchers = [];

export const getFrame = () => frame;
export const getSeq = () => seq;
export const getWs = () => ws;
export const connState = () => conn;

/** Model time now, in epoch seconds (clock.t0 + t), or null before the first frame. */
export function modelNow() {
  return frame && frame.clock ? frame.clock.t0 + (frame.t || 0) : null;
}

/** `fn(changes)` after each batch of frames, at most once an animation frame. */
export function onRender(fn) {
  renderers.push(fn);
}

/** `fn(state)` when the connection's state changes ("connecting", "live", ...). */
export function onConn(fn) {
  connWatchers.push(fn);
}

// --- what changed since the last render ---------------------------------------------------

function fresh() {
  return { all: false, carriers: new Set(), blocks: new Set(), lanes: new Set(), yards: false, kpis: false, clock: false, devices: false };
}
let changes = { ...fresh(), all: true };
let queued = false;

function mark(k) {
  const [kind, rest] = parseKey(k);
  if (kind === "carrier") changes.carriers.add(rest);
  else if (kind === "block") changes.blocks.add(rest);
  else if (kind === "lane") changes.lanes.add(rest);
  else if (kind === "yard") changes.yards = true;
  else if (kind === "kpis") changes.kpis = true;
  else if (kind === "devices") changes.devices = true;
  else if (kind === "time" || kind === "clock" || kind === "wall") changes.clock = true;
}

/** Draw everything again at the next render (a language switch, a new view). */
export function markAll() {
  changes.all = true;
  schedule();
}

function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    renderNow();
  });
}

/** Render what changed now (not waiting for the animation frame). */
export function renderNow() {
  if (!frame) return;
  const batch = changes;
  changes = fresh();
  for (const fn of renderers) fn(batch, frame);
}

// --- the websocket ------------------------------------------------------------------------

function setConn(state) {
  conn = state;
  for (const fn of connWatchers) fn(state);
}

export function connect() {
  clearTimeout(retryTimer);
  const token = getToken();
  if (!token) return;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let url = `${proto}://${location.host}/ws?token=${encodeURIComponent(token)}`;
  if (frame && seq !== null) url += `&since=${seq}`;
  if (ws) {
    const old = ws;
    ws = null;
    old.close(1000, "replaced");
  }
  const socket = new WebSocket(url);
  ws = socket;
  wsOpened = false;
  setConn(retries > 0 || frame ? "reconnecting" : "connecting");
  socket.onopen = () => {
    if (socket === ws) wsOpened = true;
  };
  socket.onmessage = (ev) => {
    if (socket !== ws) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    onMessage(msg);
  };
  socket.onclose = () => {
    if (socket !== ws) return;
    ws = null;
    if (!getToken()) return;
    setConn("reconnecting");
    if (!wsOpened) {
      // refused at the handshake: the token may have gone; /api/me says (and logs out on 401)
      api("GET", "/api/me").then(scheduleReconnect, () => {
        if (getToken()) scheduleReconnect();
      });
    } else scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!getToken()) return;
  clearTimeout(retryTimer);
  const delay = Math.min(10000, 500 * 2 ** Math.min(retries, 5)) + Math.random() * 250;
  retries += 1;
  if (retries > 3) setConn("offline");
  retryTimer = setTimeout(connect, delay);
}

function resync() {
  // a delta that does not follow on from our frame: reconnect, asking for what we missed
  const old = ws;
  ws = null;
  if (old) old.close(1000, "resync");
  if (retries === 0) {
    retries = 1; // at once the first time; with the back-off if it keeps happening
    connect();
  } else scheduleReconnect();
}

function onMessage(msg) {
  if (msg.type === "key") {
    frame = msg.data || {};
    seq = msg.seq;
    changes.all = true;
  } else if (msg.type === "delta") {
    if (frame && msg.base === seq) {
      for (const [k, v] of Object.entries(msg.data || {})) {
        if (v === null) delete frame[k];
        else frame[k] = v;
        mark(k);
      }
      seq = msg.seq;
    } else if (frame && msg.seq <= seq) {
      return; // already applied
    } else {
      resync();
      return;
    }
  } else return;
  retries = 0;
  lastMessageAt = Date.now();
  if (conn !== "live") setConn("live");
  schedule();
}

/** Called every second: a live link with no message for a while is stale. */
export function watchConnection() {
  if (conn === "live" && Date.now() - lastMessageAt > STALE_MS) setConn("stale");
}

/** Close the link and forget the frame (log-out). */
export function disconnect() {
  clearTimeout(retryTimer);
  const old = ws;
  ws = null;
  if (old) old.close(1000, "log out");
  frame = null;
  seq = null;
  retries = 0;
  changes = { ...fresh(), all: true };
  setConn("offline");
}
