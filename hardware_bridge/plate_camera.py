"""A gate's plate camera as a bridged device.

The camera is told which trucks are expected at its gate (their declared plates) and
is shown frames; each frame is read in a worker thread — OCR must never hold up the
loop that owns the controllers — and the best plate read is matched against the
declarations: exactly, or through one confusable character with a flag for an officer.
What it made of each frame waits in `inbox` for that loop, as a `CameraResult`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from controllers.messages import Side
from controllers.ports import EventSink
from hardware_bridge.inbox import drain

if TYPE_CHECKING:
    from hardware_bridge.camera import PlateReader

log = logging.getLogger(__name__)
Purpose = Literal["deliver", "pickup"]


@dataclass(frozen=True, slots=True)
class CameraResult:
    """What the camera made of the frame shown for one truck."""

    device_id: str  # the gate's barrier
    yard: Side
    shown: str  # the truck whose arrival triggered the frame
    purpose: Purpose
    truck_id: str | None  # the declared truck the read matched, if any
    plate: str | None  # that truck's declared plate
    needs_officer: bool  # matched only through one confusable character, or ambiguous
    read: str  # the plate as read, normalised where it parsed


class PlateCamera:
    def __init__(self, device_id: str, yard: Side, reader: PlateReader | None = None) -> None:
        from hardware_bridge.camera import PlateReader  # OpenCV and the OCR model load on use

        self.device_id = device_id
        self.yard = yard
        self.reader = reader or PlateReader()
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.frames = 0
        self.read_s: list[float] = []
        self._expected: dict[str, tuple[str, Purpose]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"camera-{device_id}")

    def start(self) -> None:
        """Load the OCR model now rather than at the first truck."""
        self._pool.submit(self.reader.warm_up).result()

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def expect(self, truck_id: str, plate: str, purpose: Purpose) -> None:
        """A declared truck is at the gate."""
        with self._lock:
            self._expected[truck_id] = (plate, purpose)

    def submit(self, truck_id: str, frame: Any) -> Future[None]:
        """Read a frame taken as `truck_id` arrived; the result comes through `inbox`."""
        return self._pool.submit(self._read, truck_id, frame)

    def _read(self, shown: str, frame: Any) -> None:
        from hardware_bridge.camera import CameraInputError, best, match

        started = time.perf_counter()
        try:
            reading = best(self.reader.read(frame, kinds=("plate",)))
        except CameraInputError as exc:  # a broken frame is no read, never a crash
            log.warning("%s: %s", self.device_id, exc)
            reading = None
        self.read_s.append(time.perf_counter() - started)
        self.frames += 1
        with self._lock:
            purpose = self._expected.get(shown, ("", "deliver"))[1]
            truck_of = {plate: truck for truck, (plate, _) in self._expected.items()}
            found = match(reading, list(truck_of)) if reading is not None else None
            plate = found.plate if found is not None else None
            truck = truck_of.get(plate) if plate is not None else None
            needs_officer = found is None or found.needs_officer
            if truck is not None and not needs_officer:
                del self._expected[truck]
        read = "" if reading is None or reading.text is None else reading.text
        self.inbox.put(CameraResult(self.device_id, self.yard, shown, purpose, truck, plate, needs_officer, read))

    def forget(self, truck_id: str) -> None:
        """The truck went through (its plate checked by an officer): expect it no more."""
        with self._lock:
            self._expected.pop(truck_id, None)

    def drain(self, sink: EventSink) -> int:
        return drain(self.inbox, sink)
