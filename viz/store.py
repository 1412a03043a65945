"""The control room's one SQLite file: users, log-in tokens, the audit log and saved runs.

Passwords are hashed with argon2; tokens are random and stored only as their SHA-256,
so a copy of the file lets nobody log in. Every write is one transaction; the file
lives in the data folder given to `checkpoint serve` (nothing to install by hand).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["viewer", "operator", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "engineer", "admin")  # each can do what the one before can
TOKEN_TTL_S = 12 * 3600  # one shift

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    ok INTEGER NOT NULL,
    result TEXT NOT NULL,
    code TEXT NOT NULL DEFAULT '',
    args TEXT NOT NULL DEFAULT '{}',
    scenario TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scenario TEXT NOT NULL,
    saved_at REAL NOT NULL,
    saved_by TEXT NOT NULL,
    summary TEXT NOT NULL,
    timeseries TEXT NOT NULL
);
"""


class UserError(ValueError):
    """A user that cannot be created as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role

    def can(self, role: Role) -> bool:
        """Whether this user has at least the rights of `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """Users, tokens, the audit log and saved runs in one SQLite file.

    Two servers may share a data directory: each names its `scenario`, which every audit
    entry it writes carries, so that their entries stay apart."""

    def __init__(self, path: Path, scenario: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.scenario = scenario
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()
        self._lock = threading.Lock()
        self._hasher = PasswordHasher()

    def _add_missing_columns(self) -> None:
        """A file made before the audit log had its reply code, args and scenario gets them (empty for old rows)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(audit)")}
        for column, default in (("code", "''"), ("args", "'{}'"), ("scenario", "''")):
            if column not in have:
                self._db.execute(f"ALTER TABLE audit ADD COLUMN {column} TEXT NOT NULL DEFAULT {default}")

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            cur = self._db.execute(sql, args)
            return int(cur.lastrowid or 0)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- users ------------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: Role) -> User:
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise UserError(f"user name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
        if role not in ROLES:
            raise UserError(f"role {role!r}: one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        try:
            self._write(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                (name, self._hasher.hash(password), role, time.time()),
            )
        except sqlite3.IntegrityError:
            raise UserError(f"user {name!r} exists already") from None
        return User(name, role)

    def remove_user(self, name: str) -> None:
        """Remove a user and its tokens; the last admin stays."""
        rows = self._rows("SELECT role FROM users WHERE name = ?", (name,))
        if not rows:
            raise UserError(f"no user {name!r}")
        if rows[0][0] == "admin" and len(self._rows("SELECT 1 FROM users WHERE role = 'admin'")) == 1:
            raise UserError(f"user {name!r} is the last admin: add another admin first")
        self._write("DELETE FROM users WHERE name = ?", (name,))

    def set_password(self, name: str, password: str) -> None:
        """A new password; the user's tokens are revoked, so every session logs in again."""
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        if not self._rows("SELECT 1 FROM users WHERE name = ?", (name,)):
            raise UserError(f"no user {name!r}")
        with self._lock:
            self._db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (self._hasher.hash(password), name))
            self._db.execute("DELETE FROM tokens WHERE user = ?", (name,))

    def users(self) -> list[User]:
        return [User(n, r) for n, r in self._rows("SELECT name, role FROM users ORDER BY name")]

    def has_admin(self) -> bool:
        return bool(self._rows("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1"))

    def check_password(self, name: str, password: str) -> User | None:
        rows = self._rows("SELECT password_hash, role FROM users WHERE name = ?", (name,))
        if not rows:
            self._hasher.hash(password)  # the same work as for a real user: no timing tell
            return None
        stored, role = rows[0]
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, role)

    # --- tokens -----------------------------------------------------------------------

    def issue_token(self, user: User, ttl_s: float = TOKEN_TTL_S) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE expires_at < ?", (now,))
            self._db.execute(
                "INSERT INTO tokens (token_sha256, user, expires_at) VALUES (?, ?, ?)",
                (_sha256(token), user.name, now + ttl_s),
            )
        return token

    def user_for_token(self, token: str) -> User | None:
        rows = self._rows(
            "SELECT u.name, u.role FROM tokens t JOIN users u ON u.name = t.user "
            "WHERE t.token_sha256 = ? AND t.expires_at >= ?",
            (_sha256(token), time.time()),
        )
        return User(*rows[0]) if rows else None

    def revoke_token(self, token: str) -> None:
        self._write("DELETE FROM tokens WHERE token_sha256 = ?", (_sha256(token),))

    # --- the audit log ----------------------------------------------------------------

    def record(
        self, user: User, action: str, body: dict[str, Any], ok: bool, result: str,
        code: str = "", args: dict[str, Any] | None = None,
    ) -> int:
        """One command: who, when, what, and what came of it (in English, and as a reply
        code with its args, so the page can say it in the reader's language)."""
        return self._write(
            "INSERT INTO audit (at, user, role, action, body, ok, result, code, args, scenario)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(), user.name, user.role, action, json.dumps(body, ensure_ascii=False), int(ok), result,
                code, json.dumps(args or {}, ensure_ascii=False), self.scenario,
            ),
        )

    def audit(self, limit: int = 100, before_id: int | None = None, scenario: str | None = None) -> list[dict[str, Any]]:
        """The newest entries first; `before_id` pages further back; `scenario` keeps one server's."""
        rows = self._rows(
            "SELECT id, at, user, role, action, body, ok, result, code, args, scenario FROM audit"
            " WHERE id < ? AND (? IS NULL OR scenario = ?) ORDER BY id DESC LIMIT ?",
            (before_id if before_id is not None else 2**62, scenario, scenario, limit),
        )
        return [
            {
                "id": i, "at": at, "user": u, "role": r, "action": a, "body": json.loads(b), "ok": bool(ok),
                "result": res, "code": code, "args": json.loads(args), "scenario": scenario,
            }
            for i, at, u, r, a, b, ok, res, code, args, scenario in rows
        ]

    # --- saved runs -------------------------------------------------------------------

    def save_run(self, name: str, scenario: str, user: User, summary: dict[str, Any], timeseries: list[dict[str, float]]) -> int:
        return self._write(
            "INSERT INTO runs (name, scenario, saved_at, saved_by, summary, timeseries) VALUES (?, ?, ?, ?, ?, ?)",
            (name, scenario, time.time(), user.name, json.dumps(summary, ensure_ascii=False), json.dumps(timeseries)),
        )

    def runs(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, name, scenario, saved_at, saved_by, summary FROM runs ORDER BY id DESC")
        return [
            {"id": i, "name": n, "scenario": s, "saved_at": at, "saved_by": by, "summary": json.loads(summary)}
            for i, n, s, at, by, summary in rows
        ]

    def run(self, run_id: int) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id, name, scenario, saved_at, saved_by, summary, timeseries FROM runs WHERE id = ?", (run_id,)
        )
        if not rows:
            return None
        i, n, s, at, by, summary, series = rows[0]
        return {
            "id": i, "name": n, "scenario": s, "saved_at": at, "saved_by": by,
            "summary": json.loads(summary), "timeseries": json.loads(series),
        }
