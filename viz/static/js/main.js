// The control room page: wires the modules together. Log-in and log-out, the tabs, the
// frames rendered into every view, and the language switch. Plain ES modules served as
// they are (no build step); Leaflet is the vendored global L.
//
//   state.js   the frame, the websocket (reconnect with ?since=), what changed
//   frames.js  the frame format, from /api/frame-format (viz/frames.py FORMAT)
//   api.js     fetch with the token          session.js  who, and what their role allows
//   i18n.js    the language, t()             replies.js  replies and steps said by code
//   format.js  numbers, times at the gate    nav.js      tabs, and links between views
//   map.js     the Leaflet map               carrier.js  the carrier panel
//   control.js fleet, yards, KPIs, lanes     commands.js the operator's commands
//   devices.js bridged devices               banner.js   e-stop and paused corridor
//   clock.js   model time and wall time      charts.js   sparklines, line and bar charts
//   management.js, tracking.js, admin.js (audit and users)

import { api, onExpired, setToken, getToken } from "./api.js";
import { $, $$, say, sayAgain } from "./dom.js";
import { format, idsOf, loadFormat } from "./frames.js";
import { I18N, applyI18n, chooseLang, currentLang, missing, t, tRole } from "./i18n.js";
import { can, clearSession, currentRole, currentUser, setSession } from "./session.js";
import { connState, connect, disconnect, getFrame, getSeq, getWs, markAll, onConn, onRender, renderNow, watchConnection } from "./state.js";
import { currentTab, go, onShow, showTab } from "./nav.js";
import { buildMap, destroyMap, fitCorridor, focusCarrier, knownCarriers, mapShown, onCarrierClick, relabelMap, updateBlocks, updateCarriers } from "./map.js";
import { clearCarrierPanel, openCarrier, refreshIfSelected, renderCarrierPanel, selectedCarrier, updateCarrierPanel } from "./carrier.js";
import { applyFleetFilter, clearControl, forgetBuilt, renderControl, renderKpis, renderLanes, renderYards, sampleKpis, updateFleetCount, updateFleetRow } from "./control.js";
import { applyStateLocks, buildCommandSelects, clearCommands, initCommands, onSent, renderCmdLog, setSite, showResult } from "./commands.js";
import { clearDevices, refreshBridged, renderDevices } from "./devices.js";
import { checkHealth, clearBanner, renderBanner } from "./banner.js";
import { clearClock, renderClock } from "./clock.js";
import { clearManagement, initManagement, loadManagement, rerenderManagement } from "./management.js";
import { clearTracking, initTracking, renderTrack, trackFor } from "./tracking.js";
import { clearAdmin, initAdmin, loadAudit, rerenderAdmin } from "./admin.js";
import { replyText, stepText } from "./replies.js";

let laneCount = 0;
let timers = [];

window.I18N = I18N; // for people (and tests) looking at the page from the console
window.controlRoom = {
  get frame() {
    return getFrame();
  },
  get seq() {
    return getSeq();
  },
  get ws() {
    return getWs();
  },
  get conn() {
    return connState();
  },
  get user() {
    return currentUser();
  },
  get role() {
    return currentRole();
  },
  get lang() {
    return currentLang();
  },
  get format() {
    return format();
  },
  missingI18n: missing,
  say: { reply: replyText, step: stepText },
};

// --- the frame format, before any frame --------------------------------------------------

let formatReady = null;
function ensureFormat() {
  if (!formatReady) {
    formatReady = (async () => {
      for (;;) {
        try {
          return await loadFormat();
        } catch (e) {
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
    })();
  }
  return formatReady;
}

// --- rendering the frames -----------------------------------------------------------------

onRender((changes, frame) => {
  const all = changes.all;
  const carriers = all ? idsOf(frame, "carrier") : [...changes.carriers];
  if (all) for (const id of knownCarriers()) if (!carriers.includes(id)) carriers.push(id);
  if (all || changes.devices) {
    for (const id of refreshBridged(frame)) if (!carriers.includes(id)) carriers.push(id);
    renderDevices(frame);
  }
  const lanesChanged = all || changes.lanes.size > 0;
  const blocksChanged = all || changes.blocks.size > 0;
  if (lanesChanged || blocksChanged) updateBlocks(lanesChanged, changes.blocks);
  if (carriers.length) {
    updateCarriers(carriers, frame);
    for (const id of carriers) updateFleetRow(id, frame);
    updateFleetCount(frame);
    updateCarrierPanel(carriers);
  }
  if (lanesChanged || blocksChanged) renderLanes(frame, laneCount);
  if (all || changes.yards) renderYards(frame);
  if (all || changes.kpis) {
    sampleKpis(frame);
    renderKpis(frame);
  }
  if (all || changes.clock) {
    renderClock(frame);
    renderBanner(frame);
  }
});

function showConn(state) {
  const box = $("#conn");
  box.dataset.state = state;
  $("#conn-text").textContent = t(`conn.${state}`);
  box.title = t("conn.title", { seq: getSeq() ?? "—" });
}
onConn(showConn);

function rerenderAll() {
  sayAgain();
  renderWho();
  showConn(connState());
  applyRoles();
  relabelMap();
  buildCommandSelects();
  forgetBuilt(); // rows and cards are built again in the new language
  if (getFrame()) {
    markAll();
    renderNow();
    renderControl(getFrame(), laneCount);
  }
  renderCmdLog();
  if (selectedCarrier()) renderCarrierPanel();
  rerenderManagement();
  renderTrack();
  rerenderAdmin();
}

function setLang(lang) {
  if (!chooseLang(lang)) return;
  $("#lang").value = lang;
  applyI18n();
  rerenderAll();
}

// --- log-in and log-out ---------------------------------------------------------------------

async function onLogin(ev) {
  ev.preventDefault();
  const err = $("#login-error");
  const button = $("#login-submit");
  say(err, null);
  button.disabled = true;
  button.textContent = t("login.busy");
  try {
    const data = await api("POST", "/api/login", { user: $("#login-user").value.trim(), password: $("#login-password").value });
    setToken(data.token);
    $("#login-password").value = "";
    startSession(data.user, data.role);
  } catch (e) {
    say(err, e.status === 401 ? () => t("login.failed") : e.make);
  } finally {
    button.disabled = false;
    button.textContent = t("login.submit");
  }
}

async function logout() {
  try {
    await api("POST", "/api/logout");
  } catch (e) {
    /* the token is dropped here anyway */
  }
  endSession(null);
}

async function startSession(user, role) {
  setSession(user, role);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  $("#clock").hidden = false;
  $("#conn").hidden = false;
  renderWho();
  applyRoles();
  const wanted = sessionStorage.getItem("cr.tab") || "map";
  const button = $(`[data-tab="${wanted}"]`);
  showTab(button && !button.hidden ? wanted : "map");
  timers.push(setInterval(tick, 1000));
  timers.push(setInterval(refreshVisible, 15000));
  timers.push(setInterval(checkHealth, 2000));
  await ensureFormat();
  if (!getToken()) return; // logged out meanwhile
  loadSite();
  connect();
}

function endSession(reasonKey) {
  setToken(null);
  clearSession();
  for (const id of timers) clearInterval(id);
  timers = [];
  disconnect();
  destroyMap();
  clearCarrierPanel();
  clearControl();
  clearCommands();
  clearDevices();
  clearManagement();
  clearTracking();
  clearAdmin();
  clearBanner();
  clearClock();
  laneCount = 0;
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#clock").hidden = true;
  $("#conn").hidden = true;
  $("#login").hidden = false;
  say($("#login-error"), reasonKey ? () => t(reasonKey) : null);
  $("#login-user").focus();
}
onExpired(endSession);

function renderWho() {
  if (currentUser()) $("#who-text").textContent = t("user.as", { user: currentUser(), role: tRole(currentRole()) });
}

function applyRoles() {
  document.body.dataset.role = currentRole() || "";
  for (const e of $$("[data-min-role]")) {
    const allowed = can(e.dataset.minRole);
    if (e.matches("[data-tab], .tab")) e.hidden = !allowed;
    else {
      e.disabled = !allowed;
      e.classList.toggle("locked", !allowed);
      if (!allowed) e.title = t("err.forbidden");
      else e.removeAttribute("title");
    }
  }
  $("#readonly-note").hidden = can("operator");
  $("#run-save-denied").hidden = can("engineer");
  applyStateLocks();
}

async function loadSite() {
  let site;
  try {
    site = await api("GET", "/api/site");
  } catch (e) {
    showResult("error", e.make);
    return;
  }
  if (!getToken()) return;
  laneCount = site.lanes;
  buildMap(site, currentTab() === "map");
  setSite(site);
  markAll();
}

function tick() {
  watchConnection();
  $("#conn").title = t("conn.title", { seq: getSeq() ?? "—" });
}

function refreshVisible() {
  if (currentTab() === "management") loadManagement();
}

// --- views reaching one another -------------------------------------------------------------

go.carrier = (id) => {
  showTab("map");
  focusCarrier(id);
  openCarrier(id);
};
go.track = trackFor;
onCarrierClick(openCarrier);
onSent((action, args) => refreshIfSelected(args.carrier_id));

onShow("map", mapShown);
onShow("control", () => renderControl(getFrame(), laneCount));
onShow("management", loadManagement);
onShow("tracking", () => $("#track-q").focus());
onShow("audit", () => loadAudit(false));

// --- start ----------------------------------------------------------------------------------

function init() {
  $("#lang").value = currentLang();
  applyI18n();
  ensureFormat();
  $("#lang").addEventListener("change", (ev) => setLang(ev.target.value));
  $("#login-form").addEventListener("submit", onLogin);
  $("#logout").addEventListener("click", logout);
  for (const b of $$("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#fleet-filter").addEventListener("change", applyFleetFilter);
  $("#map-fit").addEventListener("click", fitCorridor);
  initCommands();
  initManagement();
  initTracking();
  initAdmin();
  if (getToken()) {
    api("GET", "/api/me").then(
      (me) => startSession(me.user, me.role),
      () => getToken() && endSession(null),
    );
  } else endSession(null);
}

init();
