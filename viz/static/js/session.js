// Who is logged in, and what their role allows.

export const ROLES = ["viewer", "operator", "engineer", "admin"];

let user = null;
let role = null;

export const currentUser = () => user;
export const currentRole = () => role;

export function setSession(name, newRole) {
  user = name;
  role = newRole;
}

export function clearSession() {
  user = null;
  role = null;
}

/** Does the user's role reach `needed` (viewer < operator < engineer < admin)? */
export function can(needed) {
  return role !== null && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
