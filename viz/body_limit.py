"""Request bodies bounded before they are parsed.

A JSON body is parsed whole before validation can refuse it: a few megabytes of unknown
keys sent to log-in held the server for most of a minute. This middleware refuses a body
larger than its endpoint takes with 413 — from Content-Length at once, or while it
streams in when the length is not given — so nothing is parsed and no worker waits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_LIMIT = 64 * 1024  # the largest body any endpoint takes is a command or a user
LIMITS = {"/api/login": 4 * 1024}  # a name and a password


class BodyLimit:
    """ASGI middleware: 413 for a request body over its path's limit."""

    def __init__(self, app: ASGIApp, limits: dict[str, int] | None = None, default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limits = LIMITS if limits is None else limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.default)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(send, 400, "Content-Length is not a number")
                    return
                if declared > limit:
                    await _refuse(send, 413, f"request body of {declared} bytes: this endpoint takes at most {limit}")
                    return
        # read the body here, up to the limit, and hand it on whole: an oversized one is
        # refused before any of it is parsed, whether or not its length was declared
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, f"request body over {limit} bytes: this endpoint takes at most {limit}")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], last: Message | None, then: Receive) -> Receive:
    """A receive that gives the body read already, then what the client sends next."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if last is not None:
                return last
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await then()

    return receive


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
