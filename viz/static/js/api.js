// The REST API: fetch with the session's Bearer token; errors as ApiError, whose message
// is made again in the language of the moment.

import { t } from "./i18n.js";

let token = sessionStorage.getItem("cr.token");
let expired = () => {};

export const getToken = () => token;

export function setToken(value) {
  token = value || null;
  if (token) sessionStorage.setItem("cr.token", token);
  else sessionStorage.removeItem("cr.token");
}

/** What to do when the server no longer takes the token (a 401 on a request with one). */
export function onExpired(fn) {
  expired = fn;
}

export class ApiError extends Error {
  // `make` gives the message in the language of the moment (it is shown again on a switch)
  constructor(status, make) {
    super(make());
    this.status = status;
    this.make = make;
  }
}

function detailOf(data) {
  if (!data) return "";
  if (typeof data.detail === "string") return data.detail;
  if (Array.isArray(data.detail)) return data.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return "";
}

export async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
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
  if (res.status === 401 && path !== "/api/login" && token) {
    expired("login.expired");
    throw new ApiError(401, () => t("login.expired"));
  }
  if (!res.ok) {
    const detail = detailOf(data) || res.statusText;
    const status = res.status;
    throw new ApiError(status, () => (status === 403 ? `${t("err.forbidden")} (${detail})` : t("err.http", { status, detail })));
  }
  return data;
}
