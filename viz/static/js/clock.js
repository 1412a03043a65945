// The two clocks at the top: model time (the simulated run's clock: t0 + t, with its speed
// and whether it is paused) and wall time (the server's real clock when it sent the
// frame), both as the time at the gate.

import { $ } from "./dom.js";
import { keyOf } from "./frames.js";
import { fmtNum, fmtTime } from "./format.js";
import { t } from "./i18n.js";
import { modelNow } from "./state.js";
import { applyStateLocks } from "./commands.js";

export function renderClock(frame) {
  const clock = frame ? frame[keyOf("clock")] : null;
  const now = modelNow();
  $("#clock-time").textContent = now === null ? t("clock.none") : fmtTime(now, true);
  const wall = frame ? frame[keyOf("wall")] : null;
  $("#wall-time").textContent = fmtTime(typeof wall === "number" ? wall : Date.now() / 1000);
  const notes = [];
  if (clock) {
    notes.push(t("clock.speed", { speed: fmtNum(clock.speed, 1) }));
    if (clock.bridged) notes.push(t("clock.fixed"));
    if (clock.paused) notes.push(t("clock.paused"));
    if (clock.ended) notes.push(t("clock.ended"));
  }
  const note = $("#clock-note");
  note.textContent = notes.join(" · ");
  note.classList.toggle("warn", Boolean(clock && (clock.paused || clock.ended)));
  if (clock) {
    $("#clock").dataset.paused = String(Boolean(clock.paused));
    $("#clock").dataset.bridged = String(Boolean(clock.bridged));
    const speed = $("#cmd-speed");
    if (clock.bridged || (!speed.dataset.touched && document.activeElement !== speed)) speed.value = String(clock.speed);
  }
  applyStateLocks();
}

export function clearClock() {
  $("#clock-time").textContent = "—";
  $("#wall-time").textContent = "—";
  $("#clock-note").textContent = "";
}
