// The map (Leaflet, the vendored global L): lanes and their blocks coloured by state, the
// yards, the border, the stations and chargers, and the carriers as markers.
//
// At corridor zoom the lanes (a few metres apart) would merge into one line, so each lane
// is drawn shifted sideways by a few pixels, more the further it is from the middle, and
// a carrier on a lane is shifted with it; the shift fades out as the reader zooms in far
// enough to see the lanes apart. Carriers standing on the same point (parked at a yard)
// are spread on a small spiral around it instead of hiding one another.

import { h, sayIfChanged } from "./dom.js";
import { blockStateName, carrierOf, hasFlag, idsOf, key, laneOf, serious } from "./frames.js";
import { fmtNum } from "./format.js";
import { laneNumber, t, tDir, tOr, tStatus } from "./i18n.js";
import { bridgeTag, bridgedOf, bridgedText } from "./devices.js";
import { getFrame } from "./state.js";
import { alarmNames } from "./widgets.js";

const BLOCK_STYLE = {
  free: { color: "#8aa0b4", weight: 0.5, fillColor: "#dfe7ee", fillOpacity: 0.55, dashArray: null },
  reserved: { color: "#b9770e", weight: 1, fillColor: "#f5b041", fillOpacity: 0.9, dashArray: null },
  occupied: { color: "#922b21", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.95, dashArray: null },
  closed: { color: "#566573", weight: 1, fillColor: "#99a3a4", fillOpacity: 0.8, dashArray: "2 3" },
  "closed-reserved": { color: "#566573", weight: 1, fillColor: "#f5b041", fillOpacity: 0.9, dashArray: "2 3" },
  "closed-occupied": { color: "#566573", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.95, dashArray: "2 3" },
};
const POINT_COLOR = { charger: "#8e44ad", gate: "#16a085", weighbridge: "#2c3e50", scanner: "#d35400", crane: "#2471a3" };

const LANE_GAP_PX = 7; // lanes at least this far apart on the screen
const SPREAD_PX = 16; // carriers on one point: spacing of the spiral they are spread on
const GOLDEN = Math.PI * (3 - Math.sqrt(5));
const Z = 20; // the zoom the lanes are measured at (a pixel is some 0.14 m there)

const M = {
  map: null,
  groups: null,
  control: null,
  bounds: null,
  labels: [],
  attribution: null,
  needsFit: false,
  blocks: new Map(), // "lane:block" -> polygon
  blockState: new Map(),
  lanes: new Map(), // lane (string) -> centre line
  lanePx: new Map(), // lane (string) -> its centre line's points at zoom Z
  across: null, // unit vector, in pixels, from lane 0 towards the last lane
  spacing: 0, // between neighbouring lanes, in pixels at zoom Z
  band: 0, // extra stroke of the blocks at this zoom (lanes drawn as bands)
  carriers: new Map(), // id -> marker
  shown: new Map(), // id -> "lat,lon" where its marker stands
  selected: null,
  onCarrierClick: () => {},
};

export const mapReady = () => M.map !== null;

/** What to do when a carrier's marker is clicked. */
export function onCarrierClick(fn) {
  M.onCarrierClick = fn;
}

function laneOpen(lane) {
  const l = laneOf(getFrame(), lane);
  return !l || l.open !== false;
}

function blockStateOf(k) {
  const lane = k.slice(0, k.indexOf(":"));
  const frame = getFrame();
  const st = blockStateName(frame && frame[key("block", k)]);
  if (!laneOpen(lane)) return st ? `closed-${st}` : "closed";
  return st || "free";
}

function styleFor(st) {
  const base = BLOCK_STYLE[st] || BLOCK_STYLE.free;
  return M.band > base.weight ? { ...base, weight: M.band } : base;
}

function restyleBlock(k, force = false) {
  const poly = M.blocks.get(k);
  if (!poly) return;
  const st = blockStateOf(k);
  if (!force && M.blockState.get(k) === st) return;
  M.blockState.set(k, st);
  poly.setStyle(styleFor(st));
  tagBlock(poly, k);
}

function translate(lane) {
  const [dx, dy] = laneShift(lane);
  return dx || dy ? `translate(${dx.toFixed(2)} ${dy.toFixed(2)})` : null;
}

function place(el, lane) {
  if (!el) return;
  const tr = translate(lane);
  if (tr) el.setAttribute("transform", tr);
  else el.removeAttribute("transform");
}

function tagBlock(poly, k) {
  // the SVG path says which block it is and its state (for people and tests reading the page)
  const el = poly.getElement();
  if (!el) return;
  const [lane, block] = k.split(":");
  el.dataset.lane = lane;
  el.dataset.block = block;
  el.dataset.state = M.blockState.get(k) || "free";
  place(el, lane);
}

function restyleAllBlocks(force = false) {
  for (const k of M.blocks.keys()) restyleBlock(k, force);
  for (const [lane, line] of M.lanes) {
    const open = laneOpen(lane);
    line.setStyle(open ? { color: "#5d6d7e", weight: 1, dashArray: null, opacity: 0.6 } : { color: "#566573", weight: 3, dashArray: "6 6", opacity: 0.9 });
    place(line.getElement(), lane);
  }
}

function blockTip(lane, block) {
  const l = laneOf(getFrame(), lane);
  const st = blockStateOf(`${lane}:${block}`);
  let state;
  if (st === "free") state = t("block.free");
  else if (st.startsWith("closed")) state = `${t("block.closed")}${st.length > 6 ? ", " + t(`block.${st.slice(7)}`) : ""}`;
  else state = t(`block.${st}`);
  return `${t("block.tip", { lane: laneNumber(lane), block: laneNumber(block), state })}${l ? " · " + tDir(l.direction) : ""}`;
}

// --- lanes drawn apart ---------------------------------------------------------------------

function measureLanes() {
  // how far apart neighbouring lanes are, and which way, at zoom Z
  M.lanePx.clear();
  for (const [lane, line] of M.lanes) M.lanePx.set(lane, line.getLatLngs().map((ll) => M.map.project(ll, Z)));
  const order = [...M.lanePx.keys()].sort((a, b) => Number(a) - Number(b));
  M.across = null;
  M.spacing = 0;
  if (order.length < 2) return;
  const first = M.lanePx.get(order[0]);
  const last = M.lanePx.get(order[order.length - 1]);
  const n = Math.min(first.length, last.length);
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    dx += last[i].x - first[i].x;
    dy += last[i].y - first[i].y;
  }
  const len = Math.hypot(dx, dy);
  if (!(len > 0)) return;
  M.across = { x: dx / len, y: dy / len };
  M.spacing = len / n / (order.length - 1);
  M.laneCount = order.length;
}

function extraGap() {
  // pixels added between neighbouring lanes at the map's zoom
  if (!M.map || !M.map._loaded || !M.across) return 0;
  const real = M.spacing * 2 ** (M.map.getZoom() - Z);
  return Math.max(0, LANE_GAP_PX - real);
}

/** The sideways shift of a lane on the screen, in pixels: [dx, dy]. */
export function laneShift(lane) {
  const extra = extraGap();
  if (!extra) return [0, 0];
  const d = (Number(lane) - (M.laneCount - 1) / 2) * extra;
  return [M.across.x * d, M.across.y * d];
}

function onZoom() {
  if (!M.map || !M.map._loaded) return;
  const real = M.across ? M.spacing * 2 ** (M.map.getZoom() - Z) : LANE_GAP_PX;
  const band = Math.round(Math.max(0, LANE_GAP_PX - 2 - real) * 2) / 2;
  const changed = band !== M.band;
  M.band = band;
  restyleAllBlocks(changed);
  if (!changed) for (const [k, poly] of M.blocks) tagBlock(poly, k);
  placeCarriers(getFrame());
}

function segmentDistance(p, a, b) {
  const vx = b.x - a.x;
  const vy = b.y - a.y;
  const len2 = vx * vx + vy * vy;
  const u = len2 ? Math.max(0, Math.min(1, ((p.x - a.x) * vx + (p.y - a.y) * vy) / len2)) : 0;
  return Math.hypot(p.x - a.x - u * vx, p.y - a.y - u * vy);
}

function laneAt(latlng) {
  // the lane a point is on (within half the lane spacing of its centre line), or null
  if (!M.across) return null;
  const p = M.map.project(latlng, Z);
  let best = null;
  let bestD = Infinity;
  for (const [lane, pts] of M.lanePx) {
    for (let i = 1; i < pts.length; i++) {
      const d = segmentDistance(p, pts[i - 1], pts[i]);
      if (d < bestD) {
        bestD = d;
        best = lane;
      }
    }
  }
  return bestD <= M.spacing / 2 ? best : null;
}

// --- building and tearing down ----------------------------------------------------------------

export function destroyMap() {
  if (M.map) M.map.remove();
  M.map = null;
  M.blocks.clear();
  M.blockState.clear();
  M.lanes.clear();
  M.lanePx.clear();
  M.carriers.clear();
  M.shown.clear();
  M.groups = null;
  M.control = null;
  M.labels = [];
  M.attribution = null;
  M.across = null;
  M.band = 0;
  M.selected = null;
}

export function buildMap(site, visible) {
  destroyMap();
  const map = L.map("map", { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 11, maxZoom: 21, attributionControl: true });
  M.map = map;
  map.createPane("blocks").style.zIndex = 390;
  M.groups = { base: L.layerGroup().addTo(map), blocks: L.layerGroup().addTo(map), stations: L.layerGroup().addTo(map), carriers: L.layerGroup().addTo(map) };
  const bounds = L.latLngBounds([]);
  const ll = ([lon, lat]) => [lat, lon];
  for (const f of site.geojson.features) {
    const p = f.properties;
    const g = f.geometry;
    if (p.kind === "block") {
      const k = `${p.lane}:${p.block}`;
      const poly = L.polygon(g.coordinates[0].map(ll), { ...BLOCK_STYLE.free, pane: "blocks" });
      poly.bindTooltip(() => blockTip(p.lane, p.block), { sticky: true });
      M.blocks.set(k, poly);
      M.blockState.set(k, "free");
      poly.on("add", () => tagBlock(poly, k));
      poly.addTo(M.groups.blocks);
    } else if (p.kind === "lane") {
      const lane = String(p.lane);
      const line = L.polyline(g.coordinates.map(ll), { color: "#5d6d7e", weight: 1, opacity: 0.6, interactive: false });
      M.lanes.set(lane, line);
      line.on("add", () => place(line.getElement(), lane));
      line.addTo(M.groups.base);
      bounds.extend(line.getBounds());
    } else if (p.kind === "border") {
      const line = L.polyline(g.coordinates.map(ll), { color: "#c0392b", weight: 4, dashArray: "10 6", className: "border-line" });
      line.bindTooltip(() => t("kind.border"), { permanent: true, direction: "right", className: "map-label border-label" });
      M.labels.push(line);
      line.addTo(M.groups.base);
    } else if (p.kind === "yard") {
      const marker = L.circleMarker(ll(g.coordinates), { radius: 14, color: "#124e78", weight: 2, fillColor: "#a9cce3", fillOpacity: 0.6 });
      marker.bindTooltip(() => t(`yard.${p.side}`), { permanent: true, direction: p.side === "china" ? "right" : "left", className: "map-label" });
      M.labels.push(marker);
      marker.addTo(M.groups.base);
      bounds.extend(marker.getLatLng());
    } else if (g.type === "Point") {
      const color = POINT_COLOR[p.kind] || "#555";
      const marker = L.circleMarker(ll(g.coordinates), { radius: 5, color: "#fff", weight: 1, fillColor: color, fillOpacity: 0.95, className: `pt pt-${p.kind}` });
      marker.bindTooltip(() => t("point.tip", { kind: tOr(`kind.${p.kind}`, p.kind), index: p.index, side: tOr(`side.${p.side}`, p.side) }));
      marker.addTo(M.groups.stations);
      bounds.extend(marker.getLatLng());
    }
  }
  M.bounds = bounds;
  measureLanes();
  map.on("zoomend viewreset", onZoom);
  if (visible) fitCorridor();
  else {
    // a hidden map has no size: fit when it is shown. It still needs a view now, or
    // Leaflet holds back every layer (the carriers' markers too) until it has one
    if (bounds.isValid()) map.setView(bounds.getCenter(), 15);
    M.needsFit = true;
  }
  relabelMap();
}

/** The map tab is shown: Leaflet measures its box again (and fits the corridor the first time). */
export function mapShown() {
  if (!M.map) return;
  M.map.invalidateSize();
  if (M.needsFit) fitCorridor();
  M.needsFit = false;
}

export function fitCorridor() {
  if (M.map && M.bounds && M.bounds.isValid()) M.map.fitBounds(M.bounds, { padding: [30, 30] });
}

export function relabelMap() {
  if (!M.map) return;
  for (const layer of M.labels) {
    const tip = layer.getTooltip();
    if (tip) tip.update(); // the content is a function of the language: evaluated again
  }
  if (M.control) M.control.remove();
  const overlays = {};
  overlays[t("map.layers.blocks")] = M.groups.blocks;
  overlays[t("map.layers.stations")] = M.groups.stations;
  overlays[t("map.layers.carriers")] = M.groups.carriers;
  M.control = L.control.layers(null, overlays, { collapsed: true, position: "topright" }).addTo(M.map);
  if (M.attribution) M.map.attributionControl.removeAttribution(M.attribution);
  M.attribution = t("map.attribution");
  M.map.attributionControl.addAttribution(M.attribution);
}

// --- the state on the map ----------------------------------------------------------------------

/** Blocks and lanes after a frame: all of them (`all`, or a lane opened or closed) or the blocks named. */
export function updateBlocks(all, blockKeys) {
  if (!M.map) return;
  if (all) restyleAllBlocks();
  else for (const k of blockKeys) restyleBlock(k);
}

function carrierIconFor(id) {
  const dot = h("div", { class: "carrier-dot", dataset: { testid: `carrier-${id}`, carrier: id } }, h("b", { text: id.replace(/^\D+-?/, "") }));
  return L.divIcon({ className: "carrier-icon", html: dot, iconSize: [26, 26], iconAnchor: [13, 13] });
}

/** The carriers named (markers made, changed or removed), then every marker put in its place. */
export function updateCarriers(ids, frame) {
  if (!M.map) return;
  for (const id of ids) decorate(id, frame);
  placeCarriers(frame);
}

/** A carrier's marker drawn again (selected or not, after a language switch). */
export function redrawCarrier(id) {
  const frame = getFrame();
  if (M.map && frame) decorate(id, frame);
}

function decorate(id, frame) {
  const c = carrierOf(frame, id);
  let marker = M.carriers.get(id);
  if (!c) {
    if (marker) {
      marker.remove();
      M.carriers.delete(id);
      M.shown.delete(id);
    }
    return;
  }
  if (!marker) {
    marker = L.marker([c.lat, c.lon], { icon: carrierIconFor(id), riseOnHover: true, keyboard: true, alt: id });
    marker.on("click", () => M.onCarrierClick(id));
    marker.addTo(M.groups.carriers);
    M.carriers.set(id, marker);
  }
  const dot = marker.options.icon.options.html;
  const flags = c.flags;
  dot.dataset.lat = c.lat;
  dot.dataset.lon = c.lon;
  dot.dataset.status = c.status;
  dot.dataset.alarms = flags;
  const b = bridgedOf(id);
  const classes = ["carrier-dot", `st-${c.status}`];
  if (c.container) classes.push("loaded");
  if (serious(flags)) classes.push("alarm");
  if (hasFlag(flags, "paused")) classes.push("paused");
  if (hasFlag(flags, "maintenance")) classes.push("maint");
  if (hasFlag(flags, "charging")) classes.push("charging");
  if (M.selected === id) classes.push("selected");
  if (b) classes.push("bridged");
  if (b && !b.online) classes.push("link-down");
  dot.className = classes.join(" ");
  const z = b ? 500 : 0; // a bridged carrier stays on top of the simulated ones around it
  if ((marker.options.zIndexOffset || 0) !== z) marker.setZIndexOffset(z);
  let tag = dot.querySelector(".bridge-tag");
  if (b) {
    dot.dataset.bridged = b.protocol || "";
    if (!tag) dot.append((tag = h("i", { class: "bridge-tag", "aria-hidden": "true" })));
    sayIfChanged(tag, bridgeTag(b));
  } else {
    delete dot.dataset.bridged;
    if (tag) tag.remove();
  }
  dot.title = `${id} · ${tStatus(c.status)} · ${fmtNum(c.battery_pct)}%${flags ? " · " + alarmNames(flags) : ""}${b ? " · " + bridgedText(b) : ""}`;
}

function placeCarriers(frame) {
  // where each marker stands: on its lane's shifted line, or spread around the point it shares
  if (!M.map || !frame) return;
  const ready = M.map._loaded;
  const at = new Map(); // point -> carriers on it
  const truth = new Map();
  for (const id of idsOf(frame, "carrier")) {
    const c = carrierOf(frame, id);
    truth.set(id, c);
    const p = `${Number(c.lat).toFixed(6)},${Number(c.lon).toFixed(6)}`;
    if (!at.has(p)) at.set(p, []);
    at.get(p).push(id);
  }
  const zoom = ready ? M.map.getZoom() : null;
  for (const ids of at.values()) {
    ids.sort();
    ids.forEach((id, i) => {
      const marker = M.carriers.get(id);
      if (!marker) return;
      const c = truth.get(id);
      let ll = L.latLng(c.lat, c.lon);
      if (ready) {
        let dx = 0;
        let dy = 0;
        if (ids.length > 1) {
          const r = SPREAD_PX * Math.sqrt(i);
          dx = r * Math.cos(i * GOLDEN);
          dy = r * Math.sin(i * GOLDEN);
        } else {
          const lane = laneAt(ll);
          if (lane !== null) [dx, dy] = laneShift(lane);
        }
        if (dx || dy) ll = M.map.unproject(M.map.project(ll, zoom).add([dx, dy]), zoom);
      }
      const where = `${ll.lat.toFixed(8)},${ll.lng.toFixed(8)}`;
      if (M.shown.get(id) !== where) {
        M.shown.set(id, where);
        marker.setLatLng(ll);
      }
    });
  }
}

export const knownCarriers = () => [...M.carriers.keys()];

export function setSelected(id) {
  const before = M.selected;
  M.selected = id;
  if (before && before !== id) redrawCarrier(before);
  if (id) redrawCarrier(id);
}

/** Centre the map on a carrier's marker (zooming in). */
export function focusCarrier(id) {
  const m = M.carriers.get(id);
  if (m) M.map.setView(m.getLatLng(), Math.max(M.map.getZoom(), 17));
}

export function centreOn(lat, lon) {
  if (M.map) M.map.setView([lat, lon], 17);
}
