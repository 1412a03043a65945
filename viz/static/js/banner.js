// The corridor-wide state the operators set, shown to everyone at the top of the page:
// an emergency stop in force, a paused corridor. It comes with every frame (the clock's
// "operator" field), so it is there again after a reload.

import { $ } from "./dom.js";
import { keyOf } from "./frames.js";

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
  box.hidden = !estop && !paused;
  document.body.classList.toggle("estop", estop);
}

export function clearBanner() {
  renderBanner(null);
}
