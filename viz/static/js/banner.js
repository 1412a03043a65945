// The corridor-wide state the operators set, shown to everyone at the top of the page:
// an emergency stop in force, a paused corridor. It comes with every frame (the clock's
// "operator" field), so it is there again after a reload. Below them, whether the twin
// itself runs: stopped on an error (with the reason) or stale (no fresh frame, or the
// server not answering), from /api/health every few seconds.

import { getToken } from "./api.js";
import { $ } from "./dom.js";
import { keyOf } from "./frames.js";

const HEALTH_TIMEOUT_MS = 3000;
let health = { status: "running", reason: null };

function showAll() {
  const box = $("#banners");
  const shown = ["#banner-estop", "#banner-paused", "#banner-stopped", "#banner-stale"].some((id) => !$(id).hidden);
  box.hidden = !shown;
}

/** `h`: /api/health's reply, or null when the server did not answer in time. */
export function renderHealth(h) {
  health = h || { status: "stale", reason: null };
  const stopped = health.status === "stopped";
  $("#banner-stopped").hidden = !stopped;
  $("#banner-stopped-reason").textContent = stopped ? health.reason || "" : "";
  $("#banner-stale").hidden = health.status !== "stale";
  $("#banners").dataset.health = health.status;
  showAll();
}

export async function checkHealth() {
  const token = getToken();
  try {
    const res = await fetch("/api/health", {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      cache: "no-store",
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    renderHealth(await res.json());
  } catch (e) {
    renderHealth(null);
  }
}

export function renderBanner(frame) {
  const clock = (frame && frame[keyOf("clock")]) || {};
  const o = clock.operator || {};
  const estop = Boolean(o.estop);
  const paused = Boolean(o.corridor_paused);
  const box = $("#banners");
  box.dataset.estop = String(estop);
  box.dataset.corridorPaused = String(paused);
  $("#banner-estop").hidden = !estop;
  $("#banner-paused").hidden = !paused;
  showAll();
  document.body.classList.toggle("estop", estop);
}

export function clearBanner() {
  renderBanner(null);
  renderHealth({ status: "running", reason: null });
}
