"""Events from protocol threads, waiting for the loop that owns the controllers."""

from __future__ import annotations

import queue

from controllers.messages import Event
from controllers.ports import EventSink


def drain(inbox: queue.Queue[Event], sink: EventSink) -> int:
    """Hand every waiting event to `sink` (the runtime), in arrival order; how many."""
    count = 0
    while True:
        try:
            event = inbox.get_nowait()
        except queue.Empty:
            return count
        sink.publish(event)
        count += 1
