"""The websocket fan-out of state frames.

Each frame's delta is queued for every client through a bounded queue of its own: a
client that falls behind loses frames and gets a whole frame when it catches up, and
never holds the others back. A client that reconnects with `since=SEQ` gets the deltas
it missed while they are still kept.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field

from viz.frames import Frame, delta

HISTORY = 64  # deltas kept for clients that reconnect
QUEUE = 16  # frames a client may fall behind before it is skipped to a whole frame


@dataclass(eq=False)
class Client:
    """One websocket client: the frames waiting for it, and the last one it has."""

    queue: asyncio.Queue[tuple[int, str]] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    last_seq: int = -1
    skipped: int = 0


class FrameHub:
    def __init__(self) -> None:
        self.seq = 0
        self.frame: Frame = {}
        self._key: tuple[int, str] | None = None
        self.history: deque[tuple[int, str]] = deque(maxlen=HISTORY)
        self.clients: set[Client] = set()

    def publish(self, new: Frame) -> None:
        """Make `new` the current frame and queue its delta for every client."""
        change = delta(self.frame, new)
        self.seq += 1
        self.frame = new
        self._key = None
        message = json.dumps({"type": "delta", "seq": self.seq, "base": self.seq - 1, "data": change}, ensure_ascii=False)
        self.history.append((self.seq, message))
        for client in list(self.clients):
            try:
                client.queue.put_nowait((self.seq, message))
            except asyncio.QueueFull:  # a slow client: drop its backlog, it gets a whole frame
                client.skipped += client.queue.qsize()
                while not client.queue.empty():
                    client.queue.get_nowait()
                client.queue.put_nowait((self.seq, message))

    def key_frame(self) -> tuple[int, str]:
        """The whole current frame as a message (built once per frame, on demand)."""
        if self._key is None or self._key[0] != self.seq:
            message = json.dumps({"type": "key", "seq": self.seq, "data": self.frame}, ensure_ascii=False)
            self._key = (self.seq, message)
        return self._key

    def backlog(self, since: int) -> list[str] | None:
        """The deltas after frame `since`, if all are still kept (a reconnecting client)."""
        if since == self.seq:
            return []
        kept = [m for s, m in self.history if s > since]
        if not kept or self.history[0][0] > since + 1:
            return None
        return kept

    def next_messages(self, client: Client, item: tuple[int, str]) -> list[str]:
        """What to send a client for a queued frame: the delta if it follows on from what
        the client has, else the whole frame."""
        seq, message = item
        if seq <= client.last_seq:
            return []
        if seq == client.last_seq + 1:
            client.last_seq = seq
            return [message]
        key_seq, key = self.key_frame()
        client.last_seq = key_seq
        return [key]
