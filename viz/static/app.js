// The control room page: log-in, the live map, the control room, management figures,
// tracking and the audit log. Plain JavaScript, no build step; Leaflet (vendored) draws
// the map. State arrives over the websocket as a whole frame, then deltas (viz/frames.py
// documents the keys); everything else comes from the REST API with a Bearer token.
"use strict";

(() => {
  const TZ = "Asia/Ho_Chi_Minh";
  const ROLES = ["viewer", "operator", "engineer", "admin"];
  const LANGS = ["vi", "en"];
  const ALARM_ORDER = ["B", "X", "L", "P", "M", "C"];
  const SERIOUS = /[BXL]/; // alarms that make a carrier red on the map
  const KPI_HISTORY = 180; // samples kept for the sparklines (one a second)
  const STALE_MS = 3000;
  const CARRIER_ACTIONS = new Set(["pause_carrier", "resume_carrier", "send_to_charger", "send_to_maintenance", "return_to_service"]);
  const LANE_ACTIONS = new Set(["close_lane", "open_lane", "set_lane_direction"]);
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2"];

  // --- state --------------------------------------------------------------------------------

  const S = {
    token: sessionStorage.getItem("cr.token"),
    user: null,
    role: null,
    lang: LANGS.includes(localStorage.getItem("cr.lang")) ? localStorage.getItem("cr.lang") : "vi",
    tab: "map",
    site: null,
    frame: null, // the frame as the server has it, kept up to date by the deltas
    seq: null,
    ws: null,
    wsOpened: false,
    retries: 0,
    retryTimer: null,
    lastMessageAt: 0,
    conn: "offline",
    selected: null, // carrier whose panel is open
    carrierInfo: null, // its last GET /api/carriers/{id}
    kpiHistory: [],
    cmdLog: [],
    kpis: null, // GET /api/kpis
    runs: null,
    runCache: new Map(),
    compared: null,
    track: null,
    audit: [],
    users: null,
    timers: [],
    bridged: new Map(), // carriers bridged to real or emulated vehicles: id -> their entry in frame.d
    dirLane: null, // the lane the direction select was last set for
  };
  window.controlRoom = S; // for people (and tests) looking at the page from the console

  // --- small helpers ------------------------------------------------------------------------

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function h(tag, props, ...children) {
    const e = document.createElement(tag);
    setProps(e, props);
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  const SVGNS = "http://www.w3.org/2000/svg";
  function s(tag, props, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    setProps(e, props);
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function setProps(e, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.setAttribute("class", v);
      else if (k === "text") e.textContent = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function can(role) {
    return S.role !== null && ROLES.indexOf(S.role) >= ROLES.indexOf(role);
  }

  // --- i18n -------------------------------------------------------------------------------

  const missing = new Set();
  S.missingI18n = missing;

  function has(key) {
    return Object.prototype.hasOwnProperty.call(window.I18N[S.lang], key);
  }

  function t(key, params) {
    let text = window.I18N[S.lang][key];
    if (text === undefined) {
      missing.add(`${S.lang}:${key}`);
      text = window.I18N.vi[key] ?? key;
    }
    if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
    return text;
  }

  const tOr = (key, fallback, params) => (has(key) ? t(key, params) : fallback);
  const tStatus = (status) => tOr(`status.${status}`, status || "—");
  const tRole = (role) => tOr(`role.${role}`, role);

  // A reply of the server in the reader's language: the sentence "reply.<code>" with its
  // {placeholders} filled from the reply's args (names of sides, headings, statuses and
  // roles translated too); the English detail when the page knows no sentence for the code.
  function replyText(code, args, fallback) {
    if (!code || !has(`reply.${code}`)) return fallback;
    const a = args || {};
    const p = { ...a };
    if (a.n !== undefined) p.count = t(Number(a.n) === 1 ? "reply.count_one" : "reply.count", { n: a.n });
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
  const tDir = (d) => tOr(`dir.${d}`, d);
  const tDirection = (d) => tOr(`dirn.${d}`, d);
  const tPlace = (p) => tOr(`place.${p}`, p);

  function tProto(protocol) {
    // the server names protocols in English; the technical names stay as they are
    if (!protocol) return "—";
    const m = /^VDA 5050 (\S+) over MQTT$/.exec(protocol);
    if (m) return t("proto.vda5050", { version: m[1] });
    if (protocol === "frames, OCR") return t("proto.camera");
    return protocol;
  }

  function tStep(step) {
    if (!step) return "—";
    let m;
    if ((m = /^inspection \((\w+)\)$/.exec(step))) return t("step.inspection", { channel: tOr(`channel.${m[1]}`, m[1]) });
    if ((m = /^on the receiving truck at (\w+)$/.exec(step))) return t("step.receiving", { side: tPlace(m[1]) });
    if ((m = /^stack at (\w+)$/.exec(step))) return t("step.stack at", { side: tPlace(m[1]) });
    if ((m = /^on (\S+)$/.exec(step))) return t("step.on", { carrier: m[1] });
    return tOr(`step.${step}`, step);
  }

  function applyI18n(root = document) {
    for (const e of $$("[data-i18n]", root)) e.textContent = t(e.dataset.i18n);
    for (const e of $$("[data-i18n-placeholder]", root)) e.placeholder = t(e.dataset.i18nPlaceholder);
    for (const e of $$("[data-i18n-title]", root)) e.title = t(e.dataset.i18nTitle);
    document.title = t("app.title");
    document.documentElement.lang = S.lang;
  }

  function setLang(lang) {
    if (!LANGS.includes(lang)) return;
    S.lang = lang;
    localStorage.setItem("cr.lang", lang);
    $("#lang").value = lang;
    fmtCache.clear();
    applyI18n();
    rerenderAll();
  }

  // --- formatting (numbers in the user's language, times at the gate) --------------------------

  const fmtCache = new Map();
  function formatter(kind, opts) {
    const key = `${S.lang}|${kind}|${JSON.stringify(opts)}`;
    let f = fmtCache.get(key);
    if (!f) {
      f = kind === "n" ? new Intl.NumberFormat(t("locale"), opts) : new Intl.DateTimeFormat(t("locale"), { timeZone: TZ, ...opts });
      fmtCache.set(key, f);
    }
    return f;
  }

  function fmtNum(v, digits = 0) {
    if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
    return formatter("n", { maximumFractionDigits: digits }).format(Number(v));
  }

  const fmtPct = (frac, digits = 1) => (frac === null || frac === undefined ? "—" : t("unit.pct", { n: fmtNum(frac * 100, digits) }));

  function fmtDur(sec) {
    if (sec === null || sec === undefined || Number.isNaN(Number(sec))) return "—";
    const v = Math.max(0, Math.round(Number(sec)));
    if (v < 60) return t("unit.s", { n: v });
    if (v < 3600) return t("unit.min_s", { m: Math.floor(v / 60), s: v % 60 });
    return t("unit.h_min", { h: Math.floor(v / 3600), m: Math.floor((v % 3600) / 60) });
  }

  const TIME = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  const DATETIME = { ...TIME, day: "2-digit", month: "2-digit", year: "numeric" };
  function fmtTime(epochSec, withDate = false) {
    if (epochSec === null || epochSec === undefined) return "—";
    return formatter("d", withDate ? DATETIME : TIME).format(new Date(epochSec * 1000));
  }
  const fmtIso = (iso, withDate = false) => (iso ? fmtTime(Date.parse(iso) / 1000, withDate) : "—");
  const fmtDate = (epochSec) => formatter("d", { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(new Date(epochSec * 1000));

  function modelNow() {
    const f = S.frame;
    return f && f.clock ? f.clock.t0 + (f.t || 0) : null;
  }

  // --- the API ------------------------------------------------------------------------------

  class ApiError extends Error {
    // `make` gives the message in the language of the moment (it is shown again on a switch)
    constructor(status, make) {
      super(make());
      this.status = status;
      this.make = make;
    }
  }

  function say(el, make, cls) {
    // a message that follows the language switch
    el._say = make || null;
    if (make) {
      el.dataset.say = "";
      el.textContent = make();
    } else {
      delete el.dataset.say;
      el.textContent = "";
    }
    if (cls !== undefined) el.className = cls;
  }

  function detailOf(data) {
    if (!data) return "";
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) return data.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    return "";
  }

  async function api(method, path, body) {
    const headers = {};
    if (S.token) headers.Authorization = `Bearer ${S.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
    } catch (err) {
      throw new ApiError(0, () => t("err.network"));
    }
    let data = null;
    try {
      data = await res.json();
    } catch (err) {
      data = null;
    }
    if (res.status === 401 && path !== "/api/login" && S.token) {
      endSession("login.expired");
      throw new ApiError(401, () => t("login.expired"));
    }
    if (!res.ok) {
      const detail = detailOf(data) || res.statusText;
      const status = res.status;
      throw new ApiError(status, () => (status === 403 ? `${t("err.forbidden")} (${detail})` : t("err.http", { status, detail })));
    }
    return data;
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
      S.token = data.token;
      sessionStorage.setItem("cr.token", data.token);
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

  function startSession(user, role) {
    S.user = user;
    S.role = role;
    $("#login").hidden = true;
    $("#app").hidden = false;
    $("#who").hidden = false;
    $("#clock").hidden = false;
    $("#conn").hidden = false;
    renderWho();
    applyRoles();
    const wanted = sessionStorage.getItem("cr.tab") || "map";
    showTab($(`[data-tab="${wanted}"]`) && !$(`[data-tab="${wanted}"]`).hidden ? wanted : "map");
    loadSite();
    connect();
    S.timers.push(setInterval(watchConnection, 1000));
    S.timers.push(setInterval(refreshVisible, 15000));
  }

  function endSession(reasonKey) {
    S.token = null;
    S.user = null;
    S.role = null;
    sessionStorage.removeItem("cr.token");
    for (const id of S.timers) clearInterval(id);
    S.timers = [];
    clearTimeout(S.retryTimer);
    const ws = S.ws;
    S.ws = null;
    if (ws) ws.close(1000, "log out");
    S.frame = null;
    S.seq = null;
    S.selected = null;
    S.kpiHistory = [];
    S.kpis = null;
    S.runs = null;
    S.runCache.clear();
    S.compared = null;
    S.track = null;
    S.audit = [];
    S.users = null;
    S.cmdLog = [];
    destroyMap();
    clearControl();
    setConn("offline");
    $("#app").hidden = true;
    $("#who").hidden = true;
    $("#clock").hidden = true;
    $("#conn").hidden = true;
    $("#login").hidden = false;
    say($("#login-error"), reasonKey ? () => t(reasonKey) : null);
    $("#login-user").focus();
  }

  function renderWho() {
    if (S.user) $("#who-text").textContent = t("user.as", { user: S.user, role: tRole(S.role) });
  }

  function applyRoles() {
    document.body.dataset.role = S.role || "";
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

  // --- controls the state of the run locks (beyond the role) ---------------------------------

  function setLock(el, reason) {
    // `reason`: why the control is locked now, or null; controls the role locks are left to applyRoles
    if (!el || !can(el.dataset.minRole || "viewer")) return;
    const locked = Boolean(reason);
    if (el.disabled !== locked) el.disabled = locked;
    el.classList.toggle("locked", locked);
    if (locked) {
      if (el.title !== reason) el.title = reason;
    } else if (el.hasAttribute("title")) el.removeAttribute("title");
  }

  function sayIfChanged(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function lanePolicies() {
    const out = [];
    if (!S.site || !S.frame) return out;
    for (let i = 0; i < S.site.lanes; i++) {
      const l = S.frame[`l:${i}`];
      if (l && l[2]) out.push(l[2]);
    }
    return out;
  }

  function applyStateLocks() {
    const f = S.frame;
    // a run with bridged devices keeps the speed it started with (the server refuses a change)
    const fixed = Boolean(f && f.clock && f.clock.bridged);
    const why = fixed ? t("cmd.speed_fixed_short") : null;
    setLock($("#cmd-speed"), why);
    setLock($('#commands [data-action="set_speed"]'), why);
    const note = $("#speed-fixed");
    note.hidden = !fixed;
    sayIfChanged(note, fixed ? t("cmd.speed_fixed", { speed: fmtNum(f.clock.speed, 1) }) : "");
    // only reversible lanes can have their direction set
    const lane = $("#cmd-lane").value;
    const l = f && lane !== "" ? f[`l:${lane}`] : null;
    const policy = l ? l[2] : undefined;
    const reversible = policy === "reversible";
    const dirLocked = policy !== undefined && !reversible ? t("cmd.not_reversible") : null;
    const dirSel = $("#cmd-direction");
    setLock(dirSel, dirLocked);
    setLock($('#commands [data-action="set_lane_direction"]'), dirLocked);
    const laneNote = $("#lane-note");
    laneNote.dataset.policy = policy || "";
    let text = "";
    if (l && policy !== undefined) {
      if (!lanePolicies().includes("reversible")) text = t("cmd.no_reversible");
      else text = t(reversible ? "cmd.lane_reversible" : "cmd.lane_fixed", { n: lane, dir: tDir(l[0]) });
    }
    sayIfChanged(laneNote, text);
    if (l) {
      // a reversible lane is offered the other way round; a fixed one shows the way it runs
      const other = l[0] === "to_china" ? "to_vietnam" : "to_china";
      if (lane !== S.dirLane) {
        S.dirLane = lane;
        dirSel.value = reversible ? other : l[0];
      } else if (policy !== undefined && !reversible && dirSel.value !== l[0]) dirSel.value = l[0];
    }
  }

  // --- tabs -----------------------------------------------------------------------------------

  function showTab(name) {
    const button = $(`[data-tab="${name}"]`);
    if (!button || button.hidden) name = "map";
    S.tab = name;
    sessionStorage.setItem("cr.tab", name);
    for (const b of $$("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const sec of $$(".tab")) sec.hidden = sec.id !== `tab-${name}`;
    if (name === "map" && M.map) {
      M.map.invalidateSize();
      if (M.needsFit) fitCorridor();
      M.needsFit = false;
    }
    if (name === "control") renderControl(true);
    if (name === "management") loadManagement();
    if (name === "tracking") $("#track-q").focus();
    if (name === "audit") loadAudit(false);
  }

  function refreshVisible() {
    if (S.tab === "management") loadManagement();
  }

  // --- the websocket: a key frame, then deltas; reconnect with ?since= -------------------------

  function setConn(state) {
    S.conn = state;
    const box = $("#conn");
    box.dataset.state = state;
    $("#conn-text").textContent = t(`conn.${state}`);
    box.title = t("conn.title", { seq: S.seq ?? "—" });
  }

  function connect() {
    clearTimeout(S.retryTimer);
    if (!S.token) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let url = `${proto}://${location.host}/ws?token=${encodeURIComponent(S.token)}`;
    if (S.frame && S.seq !== null) url += `&since=${S.seq}`;
    if (S.ws) {
      const old = S.ws;
      S.ws = null;
      old.close(1000, "replaced");
    }
    const ws = new WebSocket(url);
    S.ws = ws;
    S.wsOpened = false;
    setConn(S.retries > 0 || S.frame ? "reconnecting" : "connecting");
    ws.onopen = () => {
      if (ws === S.ws) S.wsOpened = true;
    };
    ws.onmessage = (ev) => {
      if (ws !== S.ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      onMessage(msg);
    };
    ws.onclose = () => {
      if (ws !== S.ws) return;
      S.ws = null;
      if (!S.token) return;
      setConn("reconnecting");
      if (!S.wsOpened) {
        // refused at the handshake: the token may have gone; /api/me says (and logs out on 401)
        api("GET", "/api/me").then(scheduleReconnect, (e) => {
          if (S.token) scheduleReconnect();
        });
      } else scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (!S.token) return;
    clearTimeout(S.retryTimer);
    const delay = Math.min(10000, 500 * 2 ** Math.min(S.retries, 5)) + Math.random() * 250;
    S.retries += 1;
    if (S.retries > 3) setConn("offline");
    S.retryTimer = setTimeout(connect, delay);
  }

  function resync() {
    // a delta that does not follow on from our frame: reconnect, asking for what we missed
    const ws = S.ws;
    S.ws = null;
    if (ws) ws.close(1000, "resync");
    if (S.retries === 0) {
      S.retries = 1; // at once the first time; with the back-off if it keeps happening
      connect();
    } else scheduleReconnect();
  }

  function onMessage(msg) {
    if (msg.type === "key") {
      S.frame = msg.data || {};
      S.seq = msg.seq;
      dirty.all = true;
    } else if (msg.type === "delta") {
      if (S.frame && msg.base === S.seq) {
        for (const [k, v] of Object.entries(msg.data || {})) {
          if (v === null) delete S.frame[k];
          else S.frame[k] = v;
          markDirty(k);
        }
        S.seq = msg.seq;
      } else if (S.frame && msg.seq <= S.seq) {
        return; // already applied
      } else {
        resync();
        return;
      }
    } else return;
    S.retries = 0;
    S.lastMessageAt = Date.now();
    if (S.conn !== "live") setConn("live");
    scheduleRender();
  }

  function watchConnection() {
    if (S.conn === "live" && Date.now() - S.lastMessageAt > STALE_MS) setConn("stale");
    $("#conn").title = t("conn.title", { seq: S.seq ?? "—" });
  }

  // --- rendering what changed -------------------------------------------------------------

  const dirty = { all: true, carriers: new Set(), blocks: new Set(), lanes: new Set(), yards: false, k: false, clock: false, devices: false };
  let renderQueued = false;

  function markDirty(k) {
    if (k.startsWith("c:")) dirty.carriers.add(k.slice(2));
    else if (k.startsWith("b:")) dirty.blocks.add(k.slice(2));
    else if (k.startsWith("l:")) dirty.lanes.add(k.slice(2));
    else if (k.startsWith("y:")) dirty.yards = true;
    else if (k === "k") dirty.k = true;
    else if (k === "d") dirty.devices = true;
    else if (k === "t" || k === "clock") dirty.clock = true;
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    const f = S.frame;
    if (!f) return;
    const all = dirty.all;
    const carriers = all ? Object.keys(f).filter((k) => k.startsWith("c:")).map((k) => k.slice(2)) : [...dirty.carriers];
    if (all) for (const id of M.carriers.keys()) if (!(`c:${id}` in f)) carriers.push(id);
    if (all || dirty.devices) {
      for (const id of refreshBridged()) if (!carriers.includes(id)) carriers.push(id);
      renderDevices();
    }
    const lanesChanged = all || dirty.lanes.size > 0;
    const blocksChanged = all || dirty.blocks.size > 0;
    if (M.map) {
      if (all || dirty.lanes.size) restyleAllBlocks();
      else for (const key of dirty.blocks) restyleBlock(key);
      for (const id of carriers) updateCarrierMarker(id);
    }
    for (const id of carriers) updateFleetRow(id);
    if (carriers.length) updateFleetCount();
    if (S.selected && carriers.includes(S.selected)) updateCarrierPanelLive();
    if (lanesChanged || blocksChanged) renderLanes();
    if (all || dirty.yards) renderYards();
    if (all || dirty.k) {
      sampleKpis();
      renderKpis();
    }
    if (all || dirty.clock) renderClock();
    dirty.all = false;
    dirty.carriers.clear();
    dirty.blocks.clear();
    dirty.lanes.clear();
    dirty.yards = dirty.k = dirty.clock = dirty.devices = false;
  }

  function renderClock() {
    const f = S.frame;
    const now = modelNow();
    $("#clock-time").textContent = now === null ? t("clock.none") : fmtTime(now, true);
    const notes = [];
    if (f && f.clock) {
      notes.push(t("clock.speed", { speed: fmtNum(f.clock.speed, 1) }));
      if (f.clock.bridged) notes.push(t("clock.fixed"));
      if (f.clock.paused) notes.push(t("clock.paused"));
      if (f.clock.ended) notes.push(t("clock.ended"));
    }
    const note = $("#clock-note");
    note.textContent = notes.join(" · ");
    note.classList.toggle("warn", Boolean(f && f.clock && (f.clock.paused || f.clock.ended)));
    if (f && f.clock) {
      $("#clock").dataset.paused = String(Boolean(f.clock.paused));
      $("#clock").dataset.bridged = String(Boolean(f.clock.bridged));
      const speed = $("#cmd-speed");
      if (f.clock.bridged || (!speed.dataset.touched && document.activeElement !== speed)) speed.value = String(f.clock.speed);
    }
    applyStateLocks();
  }

  function rerenderAll() {
    for (const e of $$("[data-say]")) if (e._say) e.textContent = e._say();
    renderWho();
    setConn(S.conn);
    applyRoles();
    relabelMap();
    buildCommandSelects();
    $("#yards").replaceChildren();
    $("#kpis").replaceChildren();
    $("#fleet-body").replaceChildren(); // rows are built again in the new language
    dirty.all = true;
    render();
    renderControl(true);
    renderCmdLog();
    if (S.selected) renderCarrierPanel();
    if (S.kpis) renderManagement();
    if (S.runs) renderRuns();
    if (S.compared) renderCompare();
    if (S.track) renderTrack();
    if (S.audit.length) renderAudit();
    if (S.users) renderUsers();
  }

  // --- the map ------------------------------------------------------------------------------

  const M = { map: null, blocks: new Map(), blockState: new Map(), lanes: new Map(), carriers: new Map(), groups: null, control: null, bounds: null, labels: [], attribution: null };

  const BLOCK_STYLE = {
    free: { color: "#8aa0b4", weight: 0.5, fillColor: "#dfe7ee", fillOpacity: 0.55, dashArray: null },
    r: { color: "#b9770e", weight: 1, fillColor: "#f5b041", fillOpacity: 0.9, dashArray: null },
    o: { color: "#922b21", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.95, dashArray: null },
    closed: { color: "#566573", weight: 1, fillColor: "#99a3a4", fillOpacity: 0.8, dashArray: "2 3" },
    "closed-r": { color: "#566573", weight: 1, fillColor: "#f5b041", fillOpacity: 0.9, dashArray: "2 3" },
    "closed-o": { color: "#566573", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.95, dashArray: "2 3" },
  };
  const POINT_COLOR = { charger: "#8e44ad", gate: "#16a085", weighbridge: "#2c3e50", scanner: "#d35400", crane: "#2471a3" };

  function laneOpen(lane) {
    const l = S.frame && S.frame[`l:${lane}`];
    return !l || l[1] !== false;
  }

  function blockStateOf(key) {
    const lane = key.slice(0, key.indexOf(":"));
    const st = (S.frame && S.frame[`b:${key}`]) || null;
    if (!laneOpen(lane)) return st ? `closed-${st}` : "closed";
    return st || "free";
  }

  function restyleBlock(key) {
    const poly = M.blocks.get(key);
    if (!poly) return;
    const st = blockStateOf(key);
    if (M.blockState.get(key) === st) return;
    M.blockState.set(key, st);
    poly.setStyle(BLOCK_STYLE[st]);
    tagBlock(poly, key);
  }

  function tagBlock(poly, key) {
    // the SVG path says which block it is and its state (for people and tests reading the page)
    const el = poly.getElement();
    if (!el) return;
    const [lane, block] = key.split(":");
    el.dataset.lane = lane;
    el.dataset.block = block;
    el.dataset.state = M.blockState.get(key) || "free";
  }

  function restyleAllBlocks() {
    for (const key of M.blocks.keys()) restyleBlock(key);
    for (const [lane, line] of M.lanes) {
      const open = laneOpen(lane);
      line.setStyle(open ? { color: "#5d6d7e", weight: 1, dashArray: null, opacity: 0.6 } : { color: "#566573", weight: 3, dashArray: "6 6", opacity: 0.9 });
    }
  }

  function blockTip(lane, block) {
    const l = S.frame && S.frame[`l:${lane}`];
    const st = blockStateOf(`${lane}:${block}`);
    const state = st === "free" ? t("block.free") : st.startsWith("closed") ? `${t("block.closed")}${st.length > 6 ? ", " + t(`block.${st.slice(7)}`) : ""}` : t(`block.${st}`);
    return `${t("block.tip", { lane, block, state })}${l ? " · " + tDir(l[0]) : ""}`;
  }

  function destroyMap() {
    if (M.map) M.map.remove();
    M.map = null;
    M.blocks.clear();
    M.blockState.clear();
    M.lanes.clear();
    M.carriers.clear();
    M.groups = null;
    M.control = null;
    M.labels = [];
    M.attribution = null;
    const panel = $("#carrier-panel");
    panel.hidden = true;
    panel.replaceChildren();
  }

  async function loadSite() {
    try {
      S.site = await api("GET", "/api/site");
    } catch (e) {
      showResult("error", e.make);
      return;
    }
    buildMap(S.site);
    buildCommandSelects();
    dirty.all = true;
    scheduleRender();
  }

  function buildMap(site) {
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
        const key = `${p.lane}:${p.block}`;
        const poly = L.polygon(g.coordinates[0].map(ll), { ...BLOCK_STYLE.free, pane: "blocks" });
        poly.bindTooltip(() => blockTip(p.lane, p.block), { sticky: true });
        M.blocks.set(key, poly);
        M.blockState.set(key, "free");
        poly.on("add", () => tagBlock(poly, key));
        poly.addTo(M.groups.blocks);
      } else if (p.kind === "lane") {
        const line = L.polyline(g.coordinates.map(ll), { color: "#5d6d7e", weight: 1, opacity: 0.6, interactive: false });
        M.lanes.set(String(p.lane), line);
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
    if (S.tab === "map") fitCorridor();
    else M.needsFit = true; // a hidden map has no size: fit when it is shown
    relabelMap();
  }

  function fitCorridor() {
    if (M.map && M.bounds && M.bounds.isValid()) M.map.fitBounds(M.bounds, { padding: [30, 30] });
  }

  function relabelMap() {
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

  function carrierIconFor(id) {
    const dot = h("div", { class: "carrier-dot", dataset: { testid: `carrier-${id}`, carrier: id } }, h("b", { text: id.replace(/^\D+-?/, "") }));
    return L.divIcon({ className: "carrier-icon", html: dot, iconSize: [26, 26], iconAnchor: [13, 13] });
  }

  function updateCarrierMarker(id) {
    const v = S.frame[`c:${id}`];
    let marker = M.carriers.get(id);
    if (!v) {
      if (marker) {
        marker.remove();
        M.carriers.delete(id);
      }
      return;
    }
    const [lat, lon, status, battery, load, flags] = v;
    if (!marker) {
      marker = L.marker([lat, lon], { icon: carrierIconFor(id), riseOnHover: true, keyboard: true, alt: id });
      marker.on("click", () => openCarrier(id));
      marker.addTo(M.groups.carriers);
      M.carriers.set(id, marker);
    } else marker.setLatLng([lat, lon]);
    const dot = marker.options.icon.options.html;
    dot.dataset.lat = lat;
    dot.dataset.lon = lon;
    dot.dataset.status = status;
    dot.dataset.alarms = flags;
    const b = S.bridged.get(id);
    dot.className = `carrier-dot st-${status}${load ? " loaded" : ""}${SERIOUS.test(flags) ? " alarm" : ""}${flags.includes("P") ? " paused" : ""}${flags.includes("M") ? " maint" : ""}${flags.includes("C") ? " charging" : ""}${S.selected === id ? " selected" : ""}${b ? " bridged" : ""}${b && !b.online ? " link-down" : ""}`;
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
    dot.title = `${id} · ${tStatus(status)} · ${fmtNum(battery)}%${flags ? " · " + alarmNames(flags) : ""}${b ? " · " + bridgedText(b) : ""}`;
  }

  // --- bridged devices (mixed mode: frame.d) ---------------------------------------------------

  const bridgeTag = (b) => (/^VDA 5050/.test(b.protocol || "") ? "VDA 5050" : b.protocol || "");
  const deviceState = (b) => t(b.online ? "devices.online" : "devices.offline") + (b.fault ? `, ${t("devices.faulty")}` : "");
  const bridgedText = (b) => t("carrier.bridged_via", { protocol: tProto(b.protocol), endpoint: b.endpoint || "—", state: deviceState(b) });
  const bridgedKey = (b) => (b ? `${b.protocol}|${b.endpoint}|${Boolean(b.online)}|${Boolean(b.fault)}` : "");

  function refreshBridged() {
    // the bridged vehicles from the frame; returns the carriers whose marking changed
    const next = new Map();
    const d = S.frame && Array.isArray(S.frame.d) ? S.frame.d : [];
    for (const dev of d) if (dev && dev.kind === "vehicle") next.set(dev.id, dev);
    const changed = [];
    for (const id of new Set([...S.bridged.keys(), ...next.keys()])) if (bridgedKey(S.bridged.get(id)) !== bridgedKey(next.get(id))) changed.push(id);
    S.bridged = next;
    return changed.filter((id) => S.frame && `c:${id}` in S.frame);
  }

  function renderDevices() {
    const d = S.frame && Array.isArray(S.frame.d) ? S.frame.d.filter((x) => x && x.id) : [];
    const any = d.length > 0;
    const box = $("#devices");
    box.dataset.bridged = String(any);
    box.classList.toggle("has-fault", d.some((x) => x.fault || !x.online));
    $("#devices-none").hidden = any;
    $("#devices-wrap").hidden = !any;
    $("#devices-count").textContent = any ? t("devices.count", { online: fmtNum(d.filter((x) => x.online).length), total: fmtNum(d.length) }) : "";
    $("#devices-body").replaceChildren(
      ...d.map((dev) =>
        h(
          "tr",
          { "data-testid": `device-row-${dev.id}`, dataset: { device: dev.id, kind: dev.kind, online: String(Boolean(dev.online)), fault: String(Boolean(dev.fault)) }, class: dev.fault || !dev.online ? "not-ok" : "" },
          h(
            "td",
            null,
            h("div", { text: tOr(`devkind.${dev.kind}`, dev.kind) }),
            h(
              "div",
              { class: "mono small" },
              dev.kind === "vehicle" && S.frame[`c:${dev.id}`] ? h("button", { type: "button", class: "link mono", onclick: () => showOnMap(dev.id), text: dev.id }) : dev.id,
            ),
            dev.kind === "camera" ? h("div", { class: "small muted", text: t("devices.camera", { frames: fmtNum(dev.frames), checks: fmtNum(dev.officer_checks) }) }) : null,
          ),
          h("td", null, h("div", { "data-testid": `device-protocol-${dev.id}`, text: tProto(dev.protocol) }), h("div", { class: "mono small muted", "data-testid": `device-endpoint-${dev.id}`, text: dev.endpoint || "—" })),
          h("td", { "data-testid": `device-link-${dev.id}` }, h("span", { class: `badge ${dev.online ? "badge-open" : "badge-closed"}`, text: t(dev.online ? "devices.online" : "devices.offline") })),
          h("td", { "data-testid": `device-fault-${dev.id}` }, dev.fault ? h("span", { class: "badge badge-B", text: t("devices.faulty") }) : h("span", { class: "muted small", text: t("devices.ok") })),
        ),
      ),
    );
  }

  function alarmNames(flags) {
    return ALARM_ORDER.filter((f) => flags.includes(f)).map((f) => t(`alarm.${f}`)).join(", ");
  }

  function badges(flags, id) {
    const list = ALARM_ORDER.filter((f) => flags && flags.includes(f));
    if (!list.length) return [h("span", { class: "muted small", text: "—" })];
    return list.map((f) => h("span", { class: `badge badge-${f}`, title: t(`alarm.${f}`), dataset: { flag: f, testid: id ? `badge-${id}-${f}` : null } }, t(`alarm.${f}`)));
  }

  function batteryBar(pct) {
    const v = Math.max(0, Math.min(100, Number(pct) || 0));
    return h("span", { class: `battery${v < 25 ? " low" : ""}` }, h("span", { class: "battery-fill", style: `width:${v}%` }), h("span", { class: "battery-text", text: `${fmtNum(v)}%` }));
  }

  // --- the carrier panel (map tab) ------------------------------------------------------------

  async function openCarrier(id) {
    const before = S.selected;
    S.selected = id;
    S.carrierInfo = null;
    if (before && before !== id && M.carriers.has(before)) updateCarrierMarker(before);
    if (M.carriers.has(id)) updateCarrierMarker(id);
    renderCarrierPanel();
    await fetchCarrier(id);
  }

  async function fetchCarrier(id) {
    try {
      const info = await api("GET", `/api/carriers/${encodeURIComponent(id)}`);
      if (S.selected === id) {
        S.carrierInfo = info;
        renderCarrierPanel();
      }
    } catch (e) {
      if (S.selected === id) {
        S.carrierInfo = { error: e.message };
        renderCarrierPanel();
      }
    }
  }

  function closeCarrier() {
    const id = S.selected;
    S.selected = null;
    S.carrierInfo = null;
    $("#carrier-panel").hidden = true;
    if (id && M.carriers.has(id)) updateCarrierMarker(id);
  }

  function row(label, value, testid) {
    return h("tr", null, h("th", { text: label }), h("td", { dataset: testid ? { testid } : null }, value));
  }

  function renderCarrierPanel() {
    const panel = $("#carrier-panel");
    const id = S.selected;
    if (!id) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    panel.dataset.carrier = id;
    const info = S.carrierInfo;
    const v = S.frame && S.frame[`c:${id}`];
    const status = info && !info.error ? info.status : v ? v[2] : null;
    const battery = info && !info.error ? info.battery_pct : v ? v[3] : null;
    const flags = (v ? v[5] : info && info.alarms) || "";
    const parts = [
      h("div", { class: "row-between" }, h("h3", { text: t("carrier.title", { id }) }), h("button", { type: "button", class: "link", "data-testid": "carrier-close", onclick: closeCarrier, text: t("carrier.close") })),
    ];
    const table = h("table", { class: "kv" });
    table.append(
      row(t("carrier.status"), status ? tStatus(status) : "—", "carrier-status"),
      row(t("carrier.battery"), battery === null ? "—" : batteryBar(battery), "carrier-battery"),
      row(t("carrier.alarms"), h("span", null, badges(flags)), "carrier-alarms"),
    );
    if (info && info.error) parts.push(table, h("p", { class: "error", text: info.error }));
    else if (!info) parts.push(table, h("p", { class: "muted", text: t("carrier.loading") }));
    else {
      const c = info.container;
      table.append(row(t("carrier.container"), c ? containerLink(c.container_id) : t("carrier.none"), "carrier-container"));
      if (c) table.append(row(t("track.step"), tStep(c.step)), row(t("track.plate"), c.plate), row(t("track.cargo"), tOr(`cargo.${c.cargo}`, c.cargo)));
      const o = info.order || {};
      table.append(
        row(t("carrier.order_id"), o.order_id || t("carrier.no_order"), "carrier-order"),
        row(t("carrier.from"), o.from || "—"),
        row(t("carrier.to"), o.to || "—"),
        row(t("carrier.last_node"), o.last_node || "—"),
        row(t("carrier.base_end"), o.base_end || "—"),
        row(t("carrier.position"), `${fmtNum(info.lat, 5)}, ${fmtNum(info.lon, 5)}`),
      );
      if (info.bridged) table.append(row(t("carrier.bridged"), S.bridged.has(id) ? bridgedText(S.bridged.get(id)) : t("yes"), "carrier-bridged"));
      parts.push(table);
    }
    const actions = h("div", { class: "btns" });
    for (const action of ["pause_carrier", "resume_carrier", "send_to_charger", "send_to_maintenance", "return_to_service"]) {
      actions.append(
        h("button", { type: "button", "data-testid": `panel-${action}`, "data-min-role": "operator", disabled: !can("operator"), title: can("operator") ? null : t("err.forbidden"), onclick: () => sendCommand(action, { carrier_id: id }), text: t(`cmd.${action}`) }),
      );
    }
    parts.push(actions);
    panel.replaceChildren(...parts);
  }

  function updateCarrierPanelLive() {
    // status, battery and alarms follow the frames; the rest is fetched again when the load changes
    const v = S.frame[`c:${S.selected}`];
    if (!v) return;
    const info = S.carrierInfo;
    if (info && !info.error) {
      const load = info.container ? info.container.container_id : null;
      const changed = info.status !== v[2] || load !== v[4] || info.battery_pct !== v[3] || info.alarms !== v[5];
      info.status = v[2];
      info.battery_pct = v[3];
      info.alarms = v[5];
      if (load !== v[4] && !S.fetchingCarrier) {
        S.fetchingCarrier = true;
        fetchCarrier(S.selected).finally(() => (S.fetchingCarrier = false));
      }
      if (changed) {
        const status = $("[data-testid=carrier-status]");
        if (status) status.textContent = tStatus(v[2]);
        const battery = $("[data-testid=carrier-battery]");
        if (battery) battery.replaceChildren(batteryBar(v[3]));
        const alarms = $("[data-testid=carrier-alarms]");
        if (alarms) alarms.replaceChildren(h("span", null, badges(v[5])));
      }
      const bridged = $("[data-testid=carrier-bridged]");
      if (bridged && S.bridged.has(S.selected)) sayIfChanged(bridged, bridgedText(S.bridged.get(S.selected)));
    }
  }

  function containerLink(code) {
    if (!code) return "—";
    return h("button", { type: "button", class: "link mono", title: t("carrier.track"), onclick: () => trackFor(code), text: code });
  }

  function trackFor(q) {
    $("#track-q").value = q;
    showTab("tracking");
    runTrack(q);
  }

  // --- the control room: fleet, yards, KPIs, lanes, commands ----------------------------------

  function clearControl() {
    $("#fleet-body").replaceChildren();
    $("#yards").replaceChildren();
    $("#kpis").replaceChildren();
    $("#lanes-body").replaceChildren();
    $("#cmd-result").replaceChildren();
    $("#cmd-result").removeAttribute("data-state");
    $("#cmd-result").removeAttribute("data-ok");
    $("#cmd-log").replaceChildren();
    $("#cmd-carrier").replaceChildren();
    $("#cmd-lane").replaceChildren();
    delete $("#cmd-speed").dataset.touched;
    S.bridged = new Map();
    S.dirLane = null;
    $("#devices-body").replaceChildren();
    $("#devices-wrap").hidden = true;
    $("#devices-none").hidden = false;
    $("#devices-count").textContent = "";
    $("#devices").dataset.bridged = "false";
    $("#lane-note").textContent = "";
    $("#speed-fixed").hidden = true;
    // what the last user looked at goes with them
    for (const sel of ["#track-results", "#compare", "#runs-body", "#audit-body", "#users-body", "#mgmt-lanes", "#mgmt-resources", "#mgmt-chart", "#mgmt-throughput", "#mgmt-waits", "#mgmt-dwell", "#mgmt-queues"]) $(sel).replaceChildren();
    for (const sel of ["#track-status", "#run-save-result", "#user-add-result", "#mgmt-updated", "#mgmt-title", "#mgmt-balance", "#mgmt-safety", "#mgmt-bottleneck"]) say($(sel), null);
    $("#track-q").value = "";
  }

  function fleetRowFor(id) {
    let tr = document.getElementById(`fleet-${id}`);
    if (tr) return tr;
    tr = h(
      "tr",
      { id: `fleet-${id}`, "data-testid": `fleet-row-${id}`, dataset: { carrier: id }, title: t("fleet.select") },
      h("td", { class: "mono" }, h("button", { type: "button", class: "link mono", "data-testid": `fleet-map-${id}`, onclick: (ev) => { ev.stopPropagation(); showOnMap(id); }, text: id }), h("span", { class: "c-bridge" })),
      h("td", { class: "c-status" }),
      h("td", { class: "c-battery" }),
      h("td", { class: "c-container mono" }),
      h("td", { class: "c-alarms", "data-testid": `alarms-${id}` }),
    );
    tr.addEventListener("click", () => selectForCommand(id));
    // keep the rows in carrier order
    const body = $("#fleet-body");
    const after = $$("tr", body).find((r) => r.dataset.carrier > id);
    body.insertBefore(tr, after || null);
    return tr;
  }

  function updateFleetRow(id) {
    const v = S.frame[`c:${id}`];
    if (!v) {
      const tr = document.getElementById(`fleet-${id}`);
      if (tr) tr.remove();
      return;
    }
    const tr = fleetRowFor(id);
    const old = tr._v || [];
    const [, , status, battery, load, flags] = v;
    if (old[2] !== status) {
      tr.cells[1].textContent = tStatus(status);
      tr.dataset.status = status;
    }
    if (old[3] !== battery) tr.cells[2].replaceChildren(batteryBar(battery));
    if (old[4] !== load) tr.cells[3].replaceChildren(load ? containerLink(load) : "—");
    if (old[5] !== flags) {
      tr.cells[4].replaceChildren(...badges(flags, id));
      tr.cells[4].dataset.flags = flags;
      tr.classList.toggle("has-alarm", SERIOUS.test(flags));
      tr.classList.toggle("has-flags", flags.length > 0);
    }
    const b = S.bridged.get(id);
    const bkey = bridgedKey(b);
    if (tr._b !== bkey) {
      const badge = b
        ? h("span", { class: `badge badge-bridged${b.online ? "" : " link-down"}`, "data-testid": `bridged-${id}`, title: t("fleet.bridged", { protocol: tProto(b.protocol), endpoint: b.endpoint || "—", state: deviceState(b) }) }, bridgeTag(b))
        : null;
      $(".c-bridge", tr).replaceChildren(...(badge ? [badge] : []));
      tr.classList.toggle("bridged", Boolean(b));
      if (b) tr.dataset.bridged = b.protocol || "";
      else delete tr.dataset.bridged;
      tr._b = bkey;
    }
    tr.classList.toggle("chosen", $("#cmd-carrier").value === id);
    tr._v = v;
  }

  function updateFleetCount() {
    const k = S.frame && S.frame.k;
    const total = Object.keys(S.frame).filter((key) => key.startsWith("c:")).length;
    $("#fleet-count").textContent = t("fleet.count", { busy: k ? fmtNum(k.carriers_busy) : "—", total });
  }

  function selectForCommand(id) {
    const sel = $("#cmd-carrier");
    sel.value = id;
    for (const tr of $$("#fleet-body tr")) tr.classList.toggle("chosen", tr.dataset.carrier === id);
  }

  function showOnMap(id) {
    showTab("map");
    const m = M.carriers.get(id);
    if (m) M.map.setView(m.getLatLng(), Math.max(M.map.getZoom(), 17));
    openCarrier(id);
  }

  function buildCommandSelects() {
    if (!S.site) return;
    const carrierSel = $("#cmd-carrier");
    const keep = carrierSel.value;
    carrierSel.replaceChildren(...S.site.carriers.map((id) => h("option", { value: id, text: id })));
    if (keep) carrierSel.value = keep;
    const laneSel = $("#cmd-lane");
    const keepLane = laneSel.value;
    const lanes = [];
    for (let i = 0; i < S.site.lanes; i++) lanes.push(h("option", { value: String(i), text: t("lane.name", { n: i }) }));
    laneSel.replaceChildren(...lanes);
    if (keepLane) laneSel.value = keepLane;
    labelLaneOptions();
    applyStateLocks();
  }

  function labelLaneOptions() {
    // a reversible lane says so in the lane select
    for (const o of $("#cmd-lane").options) {
      const l = S.frame && S.frame[`l:${o.value}`];
      const policy = l ? l[2] : undefined;
      sayIfChanged(o, t(policy === "reversible" ? "lane.option_reversible" : "lane.name", { n: o.value }));
      if (policy && o.dataset.policy !== policy) o.dataset.policy = policy;
    }
  }

  function renderLanes() {
    if (!S.site || !S.frame) return;
    const busy = new Map();
    for (const k of Object.keys(S.frame)) {
      if (k.startsWith("b:")) {
        const lane = k.split(":")[1];
        busy.set(lane, (busy.get(lane) || 0) + 1);
      }
    }
    const body = $("#lanes-body");
    const rows = [];
    for (let i = 0; i < S.site.lanes; i++) {
      const l = S.frame[`l:${i}`];
      const open = !l || l[1] !== false;
      const policy = l && l[2] ? l[2] : "";
      rows.push(
        h(
          "tr",
          { "data-testid": `lane-row-${i}`, dataset: { open: String(open), direction: l ? l[0] : "", policy }, class: open ? "" : "closed" },
          h("td", { text: t("lane.name", { n: i }) }),
          h("td", { "data-testid": `lane-policy-${i}` }, policy ? h("span", { class: `policy policy-${policy}`, text: tOr(`policy.${policy}`, policy) }) : "—"),
          h("td", { text: l ? tDir(l[0]) : "—" }),
          h("td", null, h("span", { class: `badge ${open ? "badge-open" : "badge-closed"}`, text: t(open ? "lane.open" : "lane.closed") })),
          h("td", { class: "num", text: fmtNum(busy.get(String(i)) || 0) }),
        ),
      );
    }
    body.replaceChildren(...rows);
    labelLaneOptions();
    applyStateLocks();
  }

  const YARD_FIELDS = ["trucks", "outside", "awaiting", "stack", "cranes_busy", "parked"];

  function renderYards() {
    if (!S.frame) return;
    const box = $("#yards");
    if (!box.childElementCount) {
      box.replaceChildren(
        ...["vietnam", "china"].map((side) => {
          const dl = h("table", { class: "kv" });
          for (const f of YARD_FIELDS) dl.append(row(t(`yard.${f}`), "—", `yard-${side}-${f}`));
          const canvas = h("canvas", { class: "spark", "data-testid": `spark-yard-${side}`, width: 200, height: 34 });
          return h("div", { class: "yard", "data-testid": `yard-${side}` }, h("h4", { text: t(`yard.${side}`) }), dl, canvas);
        }),
      );
    }
    for (const side of ["vietnam", "china"]) {
      const y = S.frame[`y:${side}`];
      for (const f of YARD_FIELDS) {
        const cell = $(`[data-testid=yard-${side}-${f}]`, box);
        const text = y ? fmtNum(y[f]) : "—";
        if (cell.textContent !== text) cell.textContent = text;
      }
    }
  }

  function drawYardSparks() {
    for (const side of ["vietnam", "china"]) {
      const c = $(`[data-testid=spark-yard-${side}]`);
      if (c) sparkline(c, S.kpiHistory.map((p) => p.yard[side]), side === "vietnam" ? "#c0392b" : "#1f618d");
    }
  }

  const KPI_CARDS = [
    ["delivered_export", (k) => k.export.delivered, fmtNum],
    ["delivered_import", (k) => k.import.delivered, fmtNum],
    ["wait_export", (k) => k.export.wait_mean_s, fmtDur],
    ["wait_import", (k) => k.import.wait_mean_s, fmtDur],
    ["in_yard", (k) => k.export.in_yard + k.import.in_yard, fmtNum],
    ["carriers_busy", (k) => k.carriers_busy, (v) => `${fmtNum(v)}/${fmtNum(S.frame.k.carriers)}`],
    ["late", (k) => k.export.late_perishable + k.import.late_perishable, fmtNum],
    ["safety", (k) => k.safety_violations, fmtNum],
    ["alarms", () => countAlarms(), fmtNum],
  ];

  function countAlarms() {
    let n = 0;
    for (const [k, v] of Object.entries(S.frame)) if (k.startsWith("c:") && SERIOUS.test(v[5])) n += 1;
    return n;
  }

  function sampleKpis() {
    const k = S.frame.k;
    if (!k || !k.export) return;
    const values = {};
    for (const [name, get] of KPI_CARDS) {
      try {
        values[name] = get(k);
      } catch (e) {
        values[name] = null;
      }
    }
    const yard = {};
    for (const side of ["vietnam", "china"]) {
      const y = S.frame[`y:${side}`];
      yard[side] = y ? y.trucks + y.outside : 0;
    }
    S.kpiHistory.push({ t: S.frame.t, values, yard });
    if (S.kpiHistory.length > KPI_HISTORY) S.kpiHistory.shift();
  }

  function renderKpis() {
    const k = S.frame && S.frame.k;
    const box = $("#kpis");
    if (!k || !k.export) return;
    if (box.childElementCount !== KPI_CARDS.length) {
      box.replaceChildren(
        ...KPI_CARDS.map(([name]) =>
          h("div", { class: "kpi", "data-testid": `kpi-${name}` }, h("div", { class: "kpi-label", "data-i18n": `kpi.${name}`, text: t(`kpi.${name}`) }), h("div", { class: "kpi-value" }), h("canvas", { class: "spark", width: 160, height: 30 })),
        ),
      );
    }
    const last = S.kpiHistory[S.kpiHistory.length - 1];
    KPI_CARDS.forEach(([name, , fmt], i) => {
      const card = box.children[i];
      const v = last ? last.values[name] : null;
      card.children[1].textContent = v === null || v === undefined ? "—" : fmt(v);
      card.classList.toggle("bad", (name === "safety" || name === "alarms" || name === "late") && v > 0);
      if (S.tab === "control") sparkline(card.children[2], S.kpiHistory.map((p) => p.values[name]), name === "safety" ? "#c0392b" : "#1f618d");
    });
    if (S.tab === "control") drawYardSparks();
    updateFleetCount();
  }

  function renderControl(full) {
    if (!S.frame) return;
    if (full) {
      for (const tr of $$("#fleet-body tr")) tr._v = tr._b = null;
      for (const key of Object.keys(S.frame)) if (key.startsWith("c:")) updateFleetRow(key.slice(2));
      applyFleetFilter();
      renderYards();
      renderKpis();
      renderLanes();
    }
  }

  function applyFleetFilter() {
    const only = $("#fleet-filter").checked;
    for (const tr of $$("#fleet-body tr")) tr.hidden = only && !tr.classList.contains("has-flags");
  }

  function sparkline(canvas, values, color) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 160;
    const hgt = canvas.clientHeight || 30;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const pts = values.map((v) => (v === null || v === undefined || Number.isNaN(v) ? null : Number(v)));
    const real = pts.filter((v) => v !== null);
    if (real.length < 2) return;
    let lo = Math.min(...real);
    let hi = Math.max(...real);
    if (hi === lo) {
      hi += 1;
      lo = Math.max(0, lo - 1);
    }
    const x = (i) => 1 + (i * (w - 2)) / Math.max(1, pts.length - 1);
    const y = (v) => hgt - 2 - ((v - lo) * (hgt - 4)) / (hi - lo);
    ctx.beginPath();
    let started = false;
    pts.forEach((v, i) => {
      if (v === null) return;
      if (!started) ctx.moveTo(x(i), y(v));
      else ctx.lineTo(x(i), y(v));
      started = true;
    });
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.lineTo(x(pts.length - 1), hgt);
    ctx.lineTo(x(pts.findIndex((v) => v !== null)), hgt);
    ctx.closePath();
    ctx.globalAlpha = 0.12;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
    const lastIndex = pts.length - 1;
    if (pts[lastIndex] !== null) {
      ctx.beginPath();
      ctx.arc(x(lastIndex), y(pts[lastIndex]), 2.2, 0, Math.PI * 2);
      ctx.fillStyle = color;
      ctx.fill();
    }
  }

  // --- commands ---------------------------------------------------------------------------

  function argsFor(action) {
    const args = {};
    if (CARRIER_ACTIONS.has(action)) args.carrier_id = $("#cmd-carrier").value;
    if (LANE_ACTIONS.has(action)) args.lane = Number($("#cmd-lane").value);
    if (action === "set_lane_direction") args.direction = $("#cmd-direction").value;
    if (action === "set_speed") args.speed = Number($("#cmd-speed").value);
    return args;
  }

  function targetOf(args) {
    if (args.carrier_id) return ` ${args.carrier_id}`;
    if (args.lane !== undefined) return ` ${t("lane.name", { n: args.lane })}${args.direction ? " → " + tDir(args.direction) : ""}`;
    if (args.speed !== undefined) return ` ×${fmtNum(args.speed, 1)}`;
    return "";
  }

  function showResult(state, make) {
    const box = $("#cmd-result");
    box.dataset.state = state;
    if (state === "ok" || state === "refused" || state === "error") box.dataset.ok = String(state === "ok");
    else box.removeAttribute("data-ok");
    say(box, make);
  }

  async function sendCommand(action, args) {
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
    S.cmdLog.unshift(entry);
    S.cmdLog.length = Math.min(S.cmdLog.length, 12);
    renderCmdLog();
    if (S.selected && args.carrier_id === S.selected) fetchCarrier(S.selected);
    return entry;
  }

  function renderCmdLog() {
    const list = $("#cmd-log");
    if (!S.cmdLog.length) {
      list.replaceChildren(h("li", { class: "muted", text: t("cmd.log_empty") }));
      return;
    }
    list.replaceChildren(
      ...S.cmdLog.map((e) =>
        h(
          "li",
          { class: e.ok ? "ok" : "not-ok" },
          h("time", { text: fmtTime(e.at) }),
          " ",
          h("b", { text: t(`cmd.${e.action}`) + targetOf(e.args) }),
          " — ",
          h("span", { text: `${t(e.ok ? "cmd.ok" : e.error === "forbidden" ? "cmd.forbidden" : e.error ? "cmd.error" : "cmd.refused")}: ${e.make ? e.make() : replyText(e.code, e.replyArgs, e.detail)}` }),
        ),
      ),
    );
  }

  // --- charts (SVG) -----------------------------------------------------------------------

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function lineChart(series, opts = {}) {
    // series: [{label, color, points: [[x, y], ...]}]; x in hours of the day
    const W = 640;
    const H = opts.height || 220;
    const m = { l: 44, r: 26, t: 10, b: 28 };
    const xs = series.flatMap((sr) => sr.points.map((p) => p[0]));
    const ys = series.flatMap((sr) => sr.points.map((p) => p[1]));
    const wrap = h("div", { class: "chart-box" });
    if (!xs.length) {
      wrap.append(h("p", { class: "muted", text: t("mgmt.no_data") }));
      return wrap;
    }
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1;
    const y1 = niceMax(Math.max(...ys, 0));
    const X = (v) => m.l + ((v - x0) * (W - m.l - m.r)) / (x1 - x0);
    const Y = (v) => H - m.b - (v * (H - m.t - m.b)) / y1;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title || "", "data-testid": opts.testid || null });
    for (let i = 0; i <= 4; i++) {
      const v = (y1 * i) / 4;
      svg.append(s("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), class: "grid" }), s("text", { x: m.l - 6, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, fmtNum(v, v < 10 ? 1 : 0)));
    }
    const span = x1 - x0;
    const step = span <= 3 ? 0.5 : span <= 8 ? 1 : span <= 16 ? 2 : span <= 30 ? 3 : 6;
    for (let v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) {
      const hh = Math.floor(v) % 24;
      const mm = Math.round((v % 1) * 60);
      svg.append(s("line", { x1: X(v), x2: X(v), y1: H - m.b, y2: H - m.b + 4, class: "axis" }), s("text", { x: X(v), y: H - m.b + 16, class: "tick", "text-anchor": "middle" }, `${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}`));
    }
    svg.append(s("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: "axis" }), s("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, class: "axis" }));
    for (const sr of series) {
      if (!sr.points.length) continue;
      const d = sr.points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
      svg.append(s("path", { d, class: "series", stroke: sr.color, "stroke-dasharray": sr.dash || null }, s("title", null, sr.label)));
    }
    wrap.append(svg, h("div", { class: "chart-legend" }, series.map((sr) => h("span", null, h("i", { style: `background:${sr.color}` }), sr.label))));
    return wrap;
  }

  function barChart(items, testid) {
    // items: [{label, value: 0..1, hot}] as horizontal bars, the text at the page's own size
    return h(
      "div",
      { class: "hbars", role: "img", "data-testid": testid || null },
      items.map((it) => {
        const v = Math.max(0, Math.min(1, it.value || 0));
        return h(
          "div",
          { class: `hbar${it.hot ? " hot" : ""}`, title: `${it.label}: ${fmtPct(v)}` },
          h("span", { class: "hbar-label", text: it.label }),
          h("span", { class: "hbar-track" }, h("span", { class: "hbar-fill", style: `width:${(v * 100).toFixed(1)}%` })),
          h("span", { class: "hbar-value num", text: fmtPct(v) }),
        );
      }),
    );
  }

  // --- management ---------------------------------------------------------------------------

  const SERIES_GROUPS = {
    queues: ["vn_trucks_in_yard", "cn_trucks_in_yard", "vn_trucks_outside", "cn_trucks_outside"],
    awaiting: ["vn_awaiting_carrier", "cn_awaiting_carrier"],
    stack: ["vn_stack", "cn_stack"],
    carriers: ["carriers_moving", "carriers_charging", "carriers_broken", "vn_carriers_parked", "cn_carriers_parked"],
    delivered: ["containers_delivered"],
  };

  function seriesLabel(key) {
    const m = /^(vn|cn)_(.*)$/.exec(key);
    if (m) return tOr(`ts.${m[2]}`, key, { side: t(`ts.${m[1]}`) });
    return tOr(`ts.${key}`, key);
  }

  function resLabel(key) {
    let m;
    if ((m = /^lane_(\d+)$/.exec(key))) return t("res.lane", { n: m[1] });
    if ((m = /^(.*)_(vietnam|china)$/.exec(key))) return tOr(`res.${m[1]}`, key, { side: t(`res.side.${m[2]}`) });
    return tOr(`res.${key}`, key);
  }

  async function loadManagement() {
    try {
      const [k, runs] = await Promise.all([api("GET", "/api/kpis"), api("GET", "/api/runs")]);
      S.kpis = k;
      S.kpis.at = Date.now() / 1000;
      S.runs = runs;
    } catch (e) {
      say($("#mgmt-updated"), e.make);
      return;
    }
    renderManagement();
    renderRuns();
  }

  function kvTable(el, header, rows) {
    el.replaceChildren(h("thead", null, h("tr", null, header.map((c) => h("th", { text: c })))), h("tbody", null, rows.map((r) => h("tr", null, h("th", { text: r[0] }), r.slice(1).map((c) => h("td", { class: "num", text: c }))))));
  }

  function renderManagement() {
    const k = S.kpis;
    if (!k) return;
    const sm = k.summary;
    const dirs = ["export", "import"];
    const d = sm.directions || {};
    const now = modelNow() ?? k.t0;
    $("#mgmt-title").textContent = t("mgmt.title", { date: fmtDate(now) });
    say($("#mgmt-updated"), () => t("mgmt.updated", { time: fmtTime(k.at) }));
    $("#mgmt-balance").textContent = t("mgmt.balance", { arrived: fmtNum(sm.containers_arrived), delivered: fmtNum(sm.containers_delivered), in_system: fmtNum(sm.containers_in_system), lost: fmtNum(sm.containers_lost) });
    $("#mgmt-safety").textContent = t("mgmt.safety", { violations: fmtNum(sm.safety_violations), deadlocks: fmtNum(sm.deadlocks), breakdowns: fmtNum(sm.carrier_breakdowns) });
    $("#mgmt-bottleneck").textContent = sm.bottleneck ? t("mgmt.bottleneck", { resource: resLabel(sm.bottleneck.resource), value: fmtPct(sm.bottleneck.utilisation) }) : "";
    const head = ["", ...dirs.map((x) => t(`dirs.${x}`))];
    const per = (f) => dirs.map((x) => (d[x] ? f(d[x]) : "—"));
    kvTable($("#mgmt-throughput"), head, [
      [t("m.delivered"), ...per((x) => fmtNum(x.containers_delivered))],
      [t("m.per_day"), ...per((x) => fmtNum(x.containers_per_day))],
      [t("m.trucks_arrived"), ...per((x) => fmtNum(x.trucks_arrived))],
      [t("m.arrivals_per_hour"), ...per((x) => fmtNum(x.arrivals_per_hour, 1))],
      [t("m.late"), ...per((x) => fmtNum(x.late_perishable))],
      [t("m.energy"), ...per((x) => fmtNum(x.energy_kwh, 1))],
    ]);
    kvTable($("#mgmt-waits"), head, [
      [t("m.wait_mean"), ...per((x) => fmtDur(x.truck_wait_s.mean))],
      [t("m.wait_p50"), ...per((x) => fmtDur(x.truck_wait_s.p50))],
      [t("m.wait_p95"), ...per((x) => fmtDur(x.wait_p95_s))],
      [t("m.wait_max"), ...per((x) => fmtDur(x.truck_wait_s.max))],
    ]);
    kvTable($("#mgmt-dwell"), head, [
      [t("m.wait_mean"), ...per((x) => fmtDur(x.dwell_s.mean))],
      [t("m.wait_p95"), ...per((x) => fmtDur(x.dwell_s.p95))],
      [t("m.wait_max"), ...per((x) => fmtDur(x.dwell_s.max))],
    ]);
    const live = dirs.map((x) => {
      const y = S.frame && S.frame[`y:${x === "export" ? "vietnam" : "china"}`];
      return y ? fmtNum(y.trucks + y.outside) : "—";
    });
    kvTable($("#mgmt-queues"), head, [
      [t("m.queue_mean"), ...per((x) => fmtNum(x.queue_trucks.mean, 1))],
      [t("m.queue_max"), ...per((x) => fmtNum(x.queue_trucks.max))],
      [t("yard.trucks") + " + " + t("yard.outside").toLowerCase(), ...live],
    ]);
    const util = sm.utilisation || {};
    const bottleneck = sm.bottleneck ? sm.bottleneck.resource : null;
    const lanes = Object.keys(util).filter((key) => key.startsWith("lane_")).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    $("#mgmt-lanes").replaceChildren(barChart(lanes.map((key) => ({ label: resLabel(key), value: util[key], hot: key === bottleneck })), "lane-util-chart"));
    const others = Object.keys(util).filter((key) => !key.startsWith("lane_"));
    $("#mgmt-resources").replaceChildren(barChart(others.map((key) => ({ label: resLabel(key), value: util[key], hot: key === bottleneck })), "resource-util-chart"));
    const sel = $("#mgmt-series");
    const keep = sel.value || "queues";
    sel.replaceChildren(...Object.keys(SERIES_GROUPS).map((g) => h("option", { value: g, text: t(`series.${g}`) })));
    sel.value = keep;
    renderMgmtChart();
  }

  function renderMgmtChart() {
    if (!S.kpis) return;
    const rows = S.kpis.timeseries || [];
    const keys = SERIES_GROUPS[$("#mgmt-series").value] || SERIES_GROUPS.queues;
    const series = keys.map((key, i) => ({ label: seriesLabel(key), color: PALETTE[i % PALETTE.length], points: rows.filter((r) => key in r).map((r) => [r.time_h, Number(r[key])]) }));
    $("#mgmt-chart").replaceChildren(lineChart(series, { testid: "mgmt-series-chart", title: t(`series.${$("#mgmt-series").value}`) }));
  }

  // --- saved runs -------------------------------------------------------------------------

  function runLabel(id) {
    if (id === "live") return t("runs.live");
    const r = (S.runs || []).find((x) => String(x.id) === String(id));
    return r ? t("runs.label", { id: r.id, name: r.name }) : String(id);
  }

  function renderRuns() {
    const runs = S.runs || [];
    const body = $("#runs-body");
    if (!runs.length) body.replaceChildren(h("tr", null, h("td", { colspan: 6, class: "muted", text: t("runs.empty") })));
    else
      body.replaceChildren(
        ...runs.map((r) =>
          h(
            "tr",
            { "data-testid": `run-row-${r.id}` },
            h("td", { class: "num", text: r.id }),
            h("td", { text: r.name }),
            h("td", { text: r.scenario }),
            h("td", { text: fmtTime(r.saved_at, true) }),
            h("td", { text: r.saved_by }),
            h("td", { class: "num", text: fmtNum(r.summary && r.summary.containers_delivered) }),
          ),
        ),
      );
    const options = [{ id: "live" }, ...runs].map((r) => h("option", { value: String(r.id), text: runLabel(r.id) }));
    const a = $("#run-a");
    const b = $("#run-b");
    const keepA = a.value;
    const keepB = b.value;
    a.replaceChildren(...options.map((o) => o.cloneNode(true)));
    b.replaceChildren(...options);
    a.value = keepA && [...a.options].some((o) => o.value === keepA) ? keepA : runs.length > 1 ? String(runs[1].id) : "live";
    b.value = keepB && [...b.options].some((o) => o.value === keepB) ? keepB : runs.length ? String(runs[0].id) : "live";
    const seriesSel = $("#run-series");
    const keepS = seriesSel.value || "containers_delivered";
    const keys = Object.values(SERIES_GROUPS).flat();
    seriesSel.replaceChildren(...keys.map((key) => h("option", { value: key, text: seriesLabel(key) })));
    seriesSel.value = keepS;
  }

  async function runData(id) {
    if (id === "live") {
      const k = await api("GET", "/api/kpis");
      return { id: "live", name: t("runs.live"), summary: k.summary, timeseries: k.timeseries };
    }
    if (!S.runCache.has(id)) S.runCache.set(id, await api("GET", `/api/runs/${encodeURIComponent(id)}`));
    return S.runCache.get(id);
  }

  async function compareRuns() {
    const ida = $("#run-a").value;
    const idb = $("#run-b").value;
    if (!ida || !idb) {
      $("#compare").replaceChildren(h("p", { class: "muted", text: t("runs.pick_two") }));
      return;
    }
    try {
      const [a, b] = await Promise.all([runData(ida), runData(idb)]);
      S.compared = { a, b, ida, idb };
    } catch (e) {
      $("#compare").replaceChildren(h("p", { class: "error", text: e.message }));
      return;
    }
    renderCompare();
  }

  const mean = (xs) => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : null);
  const CMP = [
    ["delivered", (sm) => sm.containers_delivered, 0],
    ["export_per_day", (sm) => sm.directions.export.containers_per_day, 1],
    ["import_per_day", (sm) => sm.directions.import.containers_per_day, 1],
    ["wait_mean", (sm) => sm.truck_wait_s.mean, 1],
    ["wait_p95", (sm) => sm.truck_wait_s.p95, 1],
    ["export_queue", (sm) => sm.directions.export.queue_trucks.mean, 2],
    ["import_queue", (sm) => sm.directions.import.queue_trucks.mean, 2],
    ["lane_util", (sm) => 100 * mean(Object.entries(sm.utilisation).filter(([k]) => k.startsWith("lane_")).map(([, v]) => v)), 2],
    ["carrier_util", (sm) => 100 * sm.utilisation.carriers, 1],
    ["energy", (sm) => sm.energy_kwh, 1],
    ["safety", (sm) => sm.safety_violations, 0],
    ["late", (sm) => sm.late_perishable, 0],
  ];

  function metric(get, sm) {
    try {
      const v = get(sm);
      return v === null || v === undefined || Number.isNaN(v) ? null : Number(v);
    } catch (e) {
      return null;
    }
  }

  function renderCompare() {
    const c = S.compared;
    if (!c) return;
    const la = runLabel(c.ida);
    const lb = runLabel(c.idb);
    const table = h("table", { class: "kv compare-table", "data-testid": "compare-table" });
    table.append(h("thead", null, h("tr", null, h("th", { text: t("runs.metric") }), h("th", { text: `A · ${la}` }), h("th", { text: `B · ${lb}` }), h("th", { text: t("runs.diff") }))));
    const tbody = h("tbody");
    const bars = [];
    for (const [name, get, digits] of CMP) {
      const va = metric(get, c.a.summary);
      const vb = metric(get, c.b.summary);
      const diff = va !== null && vb !== null ? vb - va : null;
      tbody.append(h("tr", { "data-testid": `cmp-${name}` }, h("th", { text: t(`cmp.${name}`) }), h("td", { class: "num", text: fmtNum(va, digits) }), h("td", { class: "num", text: fmtNum(vb, digits) }), h("td", { class: `num ${diff > 0 ? "up" : diff < 0 ? "down" : ""}`, text: diff === null ? "—" : `${diff > 0 ? "+" : ""}${fmtNum(diff, digits)}` })));
      bars.push({ label: t(`cmp.${name}`), a: va, b: vb, digits });
    }
    table.append(tbody);
    const key = $("#run-series").value || "containers_delivered";
    const pts = (run) => (run.timeseries || []).filter((r) => key in r).map((r) => [r.time_h, Number(r[key])]);
    const chart = lineChart(
      [
        { label: `A · ${la}`, color: "#1f77b4", points: pts(c.a) },
        { label: `B · ${lb}`, color: "#d62728", points: pts(c.b), dash: "5 3" },
      ],
      { testid: "compare-series-chart", title: seriesLabel(key) },
    );
    $("#compare").replaceChildren(h("div", { class: "grid2" }, h("div", null, table), h("div", null, pairedBars(bars, la, lb), h("h4", { text: seriesLabel(key) }), chart)));
  }

  function pairedBars(items, la, lb) {
    // each measure on its own scale: A and B side by side, as a share of the larger
    const W = 520;
    const rowH = 30;
    const labelW = 200;
    const H = items.length * rowH + 24;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bars", role: "img", "data-testid": "compare-bars" });
    svg.append(s("rect", { x: labelW, y: 4, width: 10, height: 10, fill: "#1f77b4" }), s("text", { x: labelW + 14, y: 13, class: "tick" }, `A · ${la}`), s("rect", { x: labelW + 170, y: 4, width: 10, height: 10, fill: "#d62728" }), s("text", { x: labelW + 184, y: 13, class: "tick" }, `B · ${lb}`));
    items.forEach((it, i) => {
      const y = 22 + i * rowH;
      const top = Math.max(Math.abs(it.a || 0), Math.abs(it.b || 0)) || 1;
      const full = W - labelW - 70;
      const wa = (full * Math.abs(it.a || 0)) / top;
      const wb = (full * Math.abs(it.b || 0)) / top;
      svg.append(
        s("text", { x: labelW - 6, y: y + 16, class: "tick", "text-anchor": "end" }, it.label),
        s("rect", { x: labelW, y: y + 2, width: Math.max(0.5, wa), height: 11, fill: "#1f77b4" }),
        s("text", { x: labelW + wa + 4, y: y + 11, class: "tick small" }, fmtNum(it.a, it.digits)),
        s("rect", { x: labelW, y: y + 14, width: Math.max(0.5, wb), height: 11, fill: "#d62728" }),
        s("text", { x: labelW + wb + 4, y: y + 23, class: "tick small" }, fmtNum(it.b, it.digits)),
      );
    });
    return svg;
  }

  async function saveRun(ev) {
    ev.preventDefault();
    const out = $("#run-save-result");
    const name = $("#run-name").value.trim();
    if (!name) return;
    say(out, null, "");
    delete out.dataset.runId;
    try {
      const r = await api("POST", "/api/runs", { name });
      say(out, () => t("runs.saved", { id: r.id }), "ok");
      out.dataset.runId = r.id;
      $("#run-name").value = "";
      S.runs = await api("GET", "/api/runs");
      renderRuns();
    } catch (e) {
      say(out, e.make, "error");
    }
  }

  // --- tracking -----------------------------------------------------------------------------

  async function runTrack(q) {
    q = (q || "").trim();
    if (!q) return;
    say($("#track-status"), () => t("track.searching"));
    try {
      const r = await api("GET", `/api/track?q=${encodeURIComponent(q)}`);
      S.track = r;
    } catch (e) {
      S.track = null;
      say($("#track-status"), e.make);
      $("#track-results").replaceChildren();
      return;
    }
    renderTrack();
  }

  function renderTrack() {
    const r = S.track;
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
            row(t("track.step"), tStep(c.step), "track-step"),
            row(t("track.location"), tOr(`loc.${c.location}`, c.location), "track-location"),
          );
          if (c.carrier) table.append(row(t("track.carrier"), c.carrier, "track-carrier"));
          if (c.deadline) table.append(row(t("track.deadline"), fmtIso(c.deadline, true)));
          const history = h(
            "ol",
            { class: "timeline", "data-testid": "track-history" },
            c.history.map((e, i) => h("li", { class: i === c.history.length - 1 ? "current" : "" }, h("time", { datetime: e.at, text: fmtIso(e.at, i === 0) }), " ", h("span", { text: tStep(e.step) }))),
          );
          const actions = [];
          if (c.lat !== undefined && c.lon !== undefined) {
            actions.push(
              h("button", {
                type: "button",
                "data-testid": "track-show-map",
                text: t("track.show_map"),
                onclick: () => (c.carrier ? showOnMap(c.carrier) : (showTab("map"), M.map && M.map.setView([c.lat, c.lon], 17))),
              }),
            );
          }
          return h("article", { class: "track-card", "data-testid": "track-result", dataset: { container: c.container_id } }, h("h3", { class: "mono", text: c.container_id }), h("div", { class: "grid2" }, h("div", null, table, actions), h("div", null, h("h4", { text: t("track.history") }), history)));
        }),
    );
  }

  // --- audit and users (admins) -----------------------------------------------------------

  async function loadAudit(older) {
    if (!can("admin")) return;
    const before = older && S.audit.length ? `&before=${S.audit[S.audit.length - 1].id}` : "";
    try {
      const rows = await api("GET", `/api/audit?limit=50${before}`);
      S.audit = older ? S.audit.concat(rows) : rows;
      $("#audit-older").hidden = rows.length < 50;
      S.users = await api("GET", "/api/users");
    } catch (e) {
      $("#audit-body").replaceChildren(h("tr", null, h("td", { colspan: 8, class: "error", text: e.message })));
      return;
    }
    renderAudit();
    renderUsers();
  }

  function bodyText(body) {
    return Object.entries(body || {})
      .filter(([k]) => k !== "action")
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
  }

  function renderAudit() {
    const body = $("#audit-body");
    if (!S.audit.length) {
      body.replaceChildren(h("tr", null, h("td", { colspan: 8, class: "muted", text: t("audit.empty") })));
      return;
    }
    body.replaceChildren(
      ...S.audit.map((e) =>
        h(
          "tr",
          { "data-testid": `audit-row-${e.id}`, class: e.ok ? "" : "not-ok" },
          h("td", { class: "num", text: e.id }),
          h("td", { text: fmtTime(e.at, true) }),
          h("td", { text: e.user }),
          h("td", { text: tRole(e.role) }),
          h("td", { text: tOr(`cmd.${e.action}`, e.action) }),
          h("td", { class: "small", text: bodyText(e.body) }),
          h("td", null, h("span", { class: `badge ${e.ok ? "badge-open" : "badge-closed"}`, text: t(e.ok ? "cmd.ok" : "cmd.refused") })),
          h("td", { class: "small", text: replyText(e.code, e.args, e.result) }),
        ),
      ),
    );
  }

  function renderUsers() {
    const users = S.users || [];
    $("#users-body").replaceChildren(...users.map((u) => h("tr", { "data-testid": `user-row-${u.name}` }, h("td", { text: u.name }), h("td", { text: tRole(u.role) }))));
  }

  async function addUser(ev) {
    ev.preventDefault();
    const out = $("#user-add-result");
    try {
      const u = await api("POST", "/api/users", { name: $("#user-name").value.trim(), password: $("#user-password").value, role: $("#user-role").value });
      say(out, () => t("users.added", { name: u.name, role: tRole(u.role) }), "ok");
      $("#user-name").value = "";
      $("#user-password").value = "";
      loadAudit(false);
    } catch (e) {
      say(out, e.make, "error");
    }
  }

  // --- start --------------------------------------------------------------------------------

  function init() {
    $("#lang").value = S.lang;
    applyI18n();
    $("#lang").addEventListener("change", (ev) => setLang(ev.target.value));
    $("#login-form").addEventListener("submit", onLogin);
    $("#logout").addEventListener("click", logout);
    for (const b of $$("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
    for (const b of $$("#commands [data-action]")) b.addEventListener("click", () => sendCommand(b.dataset.action, argsFor(b.dataset.action)));
    $("#cmd-carrier").addEventListener("change", (ev) => selectForCommand(ev.target.value));
    $("#cmd-lane").addEventListener("change", applyStateLocks);
    $("#fleet-filter").addEventListener("change", applyFleetFilter);
    $("#cmd-speed").addEventListener("input", (ev) => (ev.target.dataset.touched = "1"));
    $("#map-fit").addEventListener("click", fitCorridor);
    $("#mgmt-refresh").addEventListener("click", loadManagement);
    $("#mgmt-series").addEventListener("change", renderMgmtChart);
    $("#run-save").addEventListener("submit", saveRun);
    $("#run-compare").addEventListener("click", compareRuns);
    $("#run-series").addEventListener("change", () => S.compared && renderCompare());
    $("#track-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      runTrack($("#track-q").value);
    });
    $("#audit-refresh").addEventListener("click", () => loadAudit(false));
    $("#audit-older").addEventListener("click", () => loadAudit(true));
    $("#user-add").addEventListener("submit", addUser);
    renderCmdLog();
    if (S.token) {
      api("GET", "/api/me").then(
        (me) => startSession(me.user, me.role),
        () => S.token && endSession(null),
      );
    } else endSession(null);
  }

  init();
})();
