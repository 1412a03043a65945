// For admins: the audit log (every command, refused ones too, with its reply said by code)
// and the users.

import { api } from "./api.js";
import { $, h, say } from "./dom.js";
import { fmtNum, fmtTime } from "./format.js";
import { laneName, t, tDir, tOr, tRole } from "./i18n.js";
import { replyText } from "./replies.js";
import { can } from "./session.js";

const PAGE = 50;

let audit = []; // newest first
let users = null;

export async function loadAudit(older) {
  if (!can("admin")) return;
  const before = older && audit.length ? `&before=${audit[audit.length - 1].id}` : "";
  try {
    const rows = await api("GET", `/api/audit?limit=${PAGE}${before}`);
    audit = older ? audit.concat(rows) : rows;
    $("#audit-older").hidden = rows.length < PAGE;
    users = await api("GET", "/api/users");
  } catch (e) {
    $("#audit-body").replaceChildren(h("tr", null, h("td", { colspan: 8, class: "error", text: e.message })));
    return;
  }
  renderAudit();
  renderUsers();
}

function bodyValue(k, v) {
  // what a command asked for, as the page says it (lanes numbered from 1)
  if (k === "lane" && v !== null && v !== undefined) return laneName(v);
  if (k === "direction") return tDir(v);
  if (k === "speed") return `×${fmtNum(v, 1)}`;
  if (k === "role") return tRole(v);
  return v;
}

function bodyText(body) {
  return Object.entries(body || {})
    .filter(([k]) => k !== "action")
    .map(([k, v]) => `${k}: ${bodyValue(k, v)}`)
    .join(", ");
}

function renderAudit() {
  const body = $("#audit-body");
  if (!audit.length) {
    body.replaceChildren(h("tr", null, h("td", { colspan: 8, class: "muted", text: t("audit.empty") })));
    return;
  }
  body.replaceChildren(
    ...audit.map((e) =>
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
  $("#users-body").replaceChildren(...(users || []).map((u) => h("tr", { "data-testid": `user-row-${u.name}` }, h("td", { text: u.name }), h("td", { text: tRole(u.role) }))));
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

export function initAdmin() {
  $("#audit-refresh").addEventListener("click", () => loadAudit(false));
  $("#audit-older").addEventListener("click", () => loadAudit(true));
  $("#user-add").addEventListener("submit", addUser);
}

export function rerenderAdmin() {
  if (audit.length) renderAudit();
  if (users) renderUsers();
}

export function clearAdmin() {
  audit = [];
  users = null;
  $("#audit-body").replaceChildren();
  $("#users-body").replaceChildren();
  say($("#user-add-result"), null);
}
