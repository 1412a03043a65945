// Tracking: a container code or a truck's plate (GET /api/track) shows where the
// container is and each step it reached, with times at the gate, and how a bridged
// camera read its trucks' plates (confidence, votes, a thumbnail of the plate).

import { api } from "./api.js";
import { $, h, say } from "./dom.js";
import { fmtIso, fmtNum } from "./format.js";
import { t, tDirection, tOr } from "./i18n.js";
import { go, showTab } from "./nav.js";
import { stepText } from "./replies.js";
import { centreOn } from "./map.js";
import { row } from "./widgets.js";

let found = null; // the last answer

export async function runTrack(q) {
  q = (q || "").trim();
  if (!q) return;
  say($("#track-status"), () => t("track.searching"));
  try {
    found = await api("GET", `/api/track?q=${encodeURIComponent(q)}`);
  } catch (e) {
    found = null;
    say($("#track-status"), e.make);
    $("#track-results").replaceChildren();
    return;
  }
  renderTrack();
}

/** Look `q` up from elsewhere on the page (a container code in the fleet list). */
export function trackFor(q) {
  $("#track-q").value = q;
  showTab("tracking");
  runTrack(q);
}

function showOnMap(c) {
  if (c.carrier) go.carrier(c.carrier);
  else {
    showTab("map");
    centreOn(c.lat, c.lon);
  }
}

/** How the gate camera read a truck's plate: why it was accepted or sent to an officer. */
function cameraRow(g) {
  const cam = g.camera;
  const said = t("track.camera_read", { read: cam.read || "—", conf: fmtNum(cam.confidence * 100), votes: cam.votes, frames: cam.frames });
  return row(
    t(g.purpose === "pickup" ? "track.camera_pickup" : "track.camera_deliver"),
    h(
      "span",
      { class: "plate-read", title: cam.reasons.join("; ") || null },
      cam.crop ? h("img", { class: "plate-crop", src: cam.crop, alt: cam.read || g.plate, "data-testid": "track-crop" }) : null,
      h("span", { text: said }),
      cam.needs_officer ? h("span", { class: "badge badge-warning", text: t("track.officer") }) : null,
    ),
    "track-camera",
  );
}

export function renderTrack() {
  const r = found;
  if (!r) return;
  const status = $("#track-status");
  say(status, () => (r.results.length ? t("track.found", { n: r.results.length }) : t("track.none", { q: r.query })));
  status.dataset.count = r.results.length;
  $("#track-results").replaceChildren(
    ...r.results
      .slice()
      .reverse()
      .map((c) => {
        const table = h("table", { class: "kv" });
        table.append(
          row(t("track.plate"), c.plate, "track-plate"),
          row(t("track.direction"), tDirection(c.direction)),
          row(t("track.cargo"), tOr(`cargo.${c.cargo}`, c.cargo)),
          row(t("track.step"), stepText(c.step), "track-step"),
          row(t("track.location"), tOr(`loc.${c.location}`, c.location), "track-location"),
        );
        if (c.carrier) table.append(row(t("track.carrier"), c.carrier, "track-carrier"));
        if (c.deadline) table.append(row(t("track.deadline"), fmtIso(c.deadline, true)));
        for (const g of c.gate_reads || []) if (g.camera) table.append(cameraRow(g));
        const history = h(
          "ol",
          { class: "timeline", "data-testid": "track-history" },
          c.history.map((e, i) => h("li", { class: i === c.history.length - 1 ? "current" : "" }, h("time", { datetime: e.at, text: fmtIso(e.at, i === 0) }), " ", h("span", { text: stepText(e.step) }))),
        );
        const actions = [];
        if (c.lat !== undefined && c.lon !== undefined) {
          actions.push(h("button", { type: "button", "data-testid": "track-show-map", text: t("track.show_map"), onclick: () => showOnMap(c) }));
        }
        return h(
          "article",
          { class: "track-card", "data-testid": "track-result", dataset: { container: c.container_id } },
          h("h3", { class: "mono", text: c.container_id }),
          h("div", { class: "grid2" }, h("div", null, table, actions), h("div", null, h("h4", { text: t("track.history") }), history)),
        );
      }),
  );
}

export function initTracking() {
  $("#track-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    runTrack($("#track-q").value);
  });
}

export function clearTracking() {
  found = null;
  $("#track-results").replaceChildren();
  say($("#track-status"), null);
  $("#track-q").value = "";
}
