"""A gate's plate camera as a bridged device.

A capture window ties frames to a truck. A trigger — the loop detector in front of the
barrier, or the barrier's own event — opens one (`trigger`), and the camera takes up
to `frames_per_truck` frames for it: pulled from the frames handed over with the
trigger (the twin renders a truck's frames as the camera asks for them), or pushed in
from a stream (`push`; `watch` feeds one from `hardware_bridge.camera.frames`: files,
a folder, a video, RTSP). A pushed frame that finds no open window is ignored and
counted. A window that gets no more frames closes after `window_s`.

Frames are read in a worker thread — OCR must never hold up the loop that owns the
controllers — and a window's readings are voted into one (`hardware_bridge.plate_vote`
states the rule); a capture stops early once one plate has been read `agree` times
with confidence `sure`. The voted reading is matched against the declared plates
(`expect`): exactly, or through one confusable character with a flag for an officer;
frames that disagree, or a low confidence, flag it too. What came of each window waits
in `inbox` for that loop as a `CameraResult`, with the evidence an officer sees
(`controllers.messages.PlateEvidence`: confidence, frames and votes, each frame's read,
a JPEG of the plate of a few KB).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from controllers.messages import PlateEvidence, Side
from controllers.ports import EventSink
from hardware_bridge.inbox import drain
from hardware_bridge.plate_crop import CROP_MAX_BYTES
from hardware_bridge.plate_vote import Vote, describe, settled, vote

if TYPE_CHECKING:
    import numpy as np

    from controllers.codes import PlateMatch
    from hardware_bridge.camera import PlateReader, Reading

log = logging.getLogger(__name__)
Purpose = Literal["deliver", "pickup"]
TriggerSource = Literal["loop", "barrier", "manual"]  # a loop detector, the barrier's event, a person
MAX_FRAMES = 20  # per truck: more would hold the lane up for nothing
MAX_WINDOWS = 16  # open at once; the oldest is closed beyond (a detector that never stops triggering)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What opened a capture window."""

    truck_id: str | None  # None: whoever is at the gate (the read tells which declared truck)
    by: TriggerSource
    lane: int | None = None  # the gate lane of the loop or barrier, if it says


@dataclass(frozen=True, slots=True)
class CameraResult:
    """What the camera made of the frames taken for one truck."""

    device_id: str  # the gate's barrier
    yard: Side
    shown: str  # the truck whose arrival triggered the capture, "" if the trigger named none
    purpose: Purpose
    truck_id: str | None  # the declared truck the read matched, if any
    plate: str | None  # that truck's declared plate
    needs_officer: bool  # frames disagreed, low confidence, one confusable character, ambiguous, no read
    read: str  # the voted plate as read, normalised
    evidence: PlateEvidence
    trigger: Trigger | None = None


@dataclass(eq=False)
class _Window:
    number: int
    trigger: Trigger
    wanted: int
    opened: float  # time.monotonic()
    pulled: bool  # its frames come with the trigger, not from the stream
    taken: int = 0  # frames accepted
    reads: list[Reading | None] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    crops: dict[str, tuple[float, np.ndarray]] = field(default_factory=dict)  # text -> surest read's region
    closing: bool = False  # no more frames: its close is queued
    closed: bool = False


class PlateCamera:
    def __init__(
        self,
        device_id: str,
        yard: Side,
        reader: PlateReader | None = None,
        *,
        frames_per_truck: int = 3,
        agree: int = 2,
        sure: float = 0.9,
        min_confidence: float = 0.5,
        window_s: float = 10.0,
        crop_dir: str | Path | None = None,
        crop_max_bytes: int = CROP_MAX_BYTES,
    ) -> None:
        """`frames_per_truck` frames at most per capture; it stops once `agree` frames
        read the same plate with confidence `sure` or more; a vote below
        `min_confidence` goes to an officer; a window with frames still missing closes
        `window_s` wall seconds after its trigger; each truck's plate crop is kept as a
        JPEG of at most `crop_max_bytes`, and full size under `crop_dir` if given."""
        if not isinstance(frames_per_truck, int) or not 1 <= frames_per_truck <= MAX_FRAMES:
            raise ValueError(f"frames_per_truck: must be a whole number in 1..{MAX_FRAMES}, got {frames_per_truck!r}")
        if not isinstance(agree, int) or not 1 <= agree <= frames_per_truck:
            raise ValueError(f"agree: must be a whole number in 1..frames_per_truck ({frames_per_truck}), got {agree!r}")
        for name, value in (("sure", sure), ("min_confidence", min_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be a confidence in 0..1, got {value!r}")
        if not window_s > 0:
            raise ValueError(f"window_s: must be positive, got {window_s!r}")
        if not 0 <= crop_max_bytes <= 65536:
            raise ValueError(f"crop_max_bytes: must be in 0..65536, got {crop_max_bytes!r}")
        if reader is None:
            from hardware_bridge.camera import PlateReader  # OpenCV and the OCR model load on use

            reader = PlateReader()
        self.device_id = device_id
        self.yard = yard
        self.reader = reader
        self.frames_per_truck = frames_per_truck
        self.agree = agree
        self.sure = sure
        self.min_confidence = min_confidence
        self.window_s = window_s
        self.crop_dir = Path(crop_dir) if crop_dir is not None else None
        self.crop_max_bytes = crop_max_bytes
        self.inbox: queue.Queue[Any] = queue.Queue()
        # what the camera did, for the run's figures
        self.frames = 0  # frames read
        self.ignored = 0  # pushed frames that found no open window
        self.skipped = 0  # frames taken for a window that had settled before they were read
        self.bad_frames = 0  # frames that were no usable image
        self.unknown_triggers = 0  # triggers naming a truck this gate does not expect
        self.retriggers = 0  # triggers for a truck whose window is still open
        self.captures = 0  # windows closed, each one result
        self.read_s: deque[float] = deque(maxlen=10_000)
        self._expected: dict[str, tuple[str, Purpose]] = {}
        self._windows: dict[int, _Window] = {}  # open ones, oldest first
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"camera-{device_id}")
        self._stopping = threading.Event()
        self._feeds: list[threading.Thread] = []

    def start(self) -> None:
        """Load the OCR model now rather than at the first truck."""
        self._pool.submit(self.reader.warm_up).result()

    def stop(self) -> None:
        self._stopping.set()
        for feed in self._feeds:
            feed.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the trucks at the gate -------------------------------------------------------------

    def expect(self, truck_id: str, plate: str, purpose: Purpose) -> None:
        """A declared truck is at the gate."""
        with self._lock:
            self._expected[truck_id] = (plate, purpose)

    def forget(self, truck_id: str) -> None:
        """The truck went through (its plate checked by an officer): expect it no more."""
        with self._lock:
            self._expected.pop(truck_id, None)

    # --- triggers and frames ------------------------------------------------------------------

    def trigger(
        self,
        truck_id: str | None = None,
        *,
        by: TriggerSource = "loop",
        lane: int | None = None,
        frames: Iterable[Any] | None = None,
    ) -> bool:
        """A truck is at the camera: open a capture window for it. Its frames come from
        `frames` when given (taken as the camera needs them, in its worker), else from
        `push`. False, with a warning, for a trigger naming a truck the gate does not
        expect or an unknown kind of trigger; False for a second trigger while the
        truck's window is still open (loop detectors chatter)."""
        if by not in get_args(TriggerSource):
            log.warning("%s: a trigger by %r, which is none of %s: ignored", self.device_id, by, ", ".join(get_args(TriggerSource)))
            return False
        with self._lock:
            if truck_id is not None and truck_id not in self._expected:
                self.unknown_triggers += 1
                log.warning("%s: a %s trigger for truck %r, which this gate does not expect: ignored", self.device_id, by, truck_id)
                return False
            if truck_id is not None and any(w.trigger.truck_id == truck_id and not w.closing for w in self._windows.values()):
                self.retriggers += 1
                return False
            window = self._open(Trigger(truck_id, by, lane), self.frames_per_truck, pulled=frames is not None)
            overflow = self._overflow()
        for old in overflow:
            self._submit(self._close, old, "a newer trigger took its place")
        if frames is not None:
            self._submit(self._pull, window, frames)
        return True

    def push(self, frame: Any, truck_id: str | None = None) -> bool:
        """A frame from the camera's stream: taken by the open window (the truck's, if
        named; else the oldest, the truck in front), or ignored and counted."""
        with self._lock:
            expired = self._expired()
            window = next(
                (w for w in self._windows.values()
                 if not w.pulled and not w.closing and w.taken < w.wanted and truck_id in (None, w.trigger.truck_id)),
                None,
            )
            if window is None:
                self.ignored += 1
            else:
                window.taken += 1
        for old in expired:
            self._submit(self._close, old, f"no frame for {self.window_s:g} s")
        if window is None:
            return False
        self._submit(self._take, window, frame)
        return True

    def submit(self, truck_id: str, frame: Any) -> Future[None]:
        """Read one frame taken as `truck_id` arrived, as a capture of its own; the result
        comes through `inbox`."""
        with self._lock:
            window = self._open(Trigger(truck_id, "manual"), 1, pulled=True)
        return self._pool.submit(self._pull, window, (frame,))

    def watch(self, source: str | Path | int, fps: float | None = None) -> threading.Thread:
        """Push every frame of `source` (see `hardware_bridge.camera.frames`) from a thread
        of its own until the source ends or the camera stops; `fps` paces a file or
        folder as a camera would (a live stream paces itself). A missing or unusable
        source fails here."""
        from hardware_bridge.camera import frames

        if fps is not None and not 0 < fps <= 120:
            raise ValueError(f"fps: must be in (0, 120] or None, got {fps!r}")
        stream = frames(source)
        thread = threading.Thread(target=self._feed, args=(stream, str(source), fps), name=f"camera-{self.device_id}-feed", daemon=True)
        self._feeds.append(thread)
        thread.start()
        return thread

    def drain(self, sink: EventSink) -> int:
        with self._lock:
            expired = self._expired()
        for old in expired:
            self._submit(self._close, old, f"no frame for {self.window_s:g} s")
        return drain(self.inbox, sink)

    # --- windows (the lock held) ------------------------------------------------------------

    def _open(self, trigger: Trigger, wanted: int, pulled: bool) -> _Window:
        window = _Window(next(self._numbers), trigger, wanted, time.monotonic(), pulled)
        self._windows[window.number] = window
        return window

    def _overflow(self) -> list[_Window]:
        waiting = [w for w in self._windows.values() if not w.closing and not w.pulled]
        out = waiting[: max(0, len(waiting) - MAX_WINDOWS)]
        for w in out:
            w.closing = True
        return out

    def _expired(self) -> list[_Window]:
        now = time.monotonic()
        out = [w for w in self._windows.values() if not w.closing and not w.pulled and now - w.opened > self.window_s]
        for w in out:
            w.closing = True
        return out

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._pool.submit(fn, *args)
        except RuntimeError:  # stopped: the run is over
            log.warning("%s: stopped, %s not done", self.device_id, fn.__name__)

    def _who(self, window: _Window) -> str:
        truck = window.trigger.truck_id
        return f"truck {truck}" if truck else f"capture {window.number} ({window.trigger.by} trigger)"

    # --- the worker ---------------------------------------------------------------------------

    def _feed(self, stream: Iterable[tuple[str, Any]], label: str, fps: float | None) -> None:
        try:
            for _, frame in stream:
                if self._stopping.is_set():
                    return
                self.push(frame)
                if fps is not None and self._stopping.wait(1 / fps):
                    return
        except Exception as exc:  # a broken stream ends the feed, never the camera
            log.warning("%s: frames from %s stopped: %s", self.device_id, label, exc)

    def _pull(self, window: _Window, frames: Iterable[Any]) -> None:
        try:
            source = iter(frames)
        except TypeError as exc:
            log.warning("%s: the frames given for %s are no sequence of frames: %s", self.device_id, self._who(window), exc)
            source = iter(())
        while not window.closed and len(window.reads) < window.wanted:
            try:
                frame = next(source)
            except StopIteration:
                break
            except Exception as exc:  # a source that fails ends the capture with what it has
                log.warning("%s: the frames for %s stopped: %s", self.device_id, self._who(window), exc)
                break
            with self._lock:
                window.taken += 1
            self._read(window, frame)
            if settled(window.reads, self.agree, self.sure):
                break
        self._close(window, "" if window.reads else "no frame came")

    def _take(self, window: _Window, frame: Any) -> None:
        if window.closed:
            self.skipped += 1
            return
        self._read(window, frame)
        if settled(window.reads, self.agree, self.sure) or len(window.reads) >= window.wanted:
            self._close(window, "")

    def _read(self, window: _Window, frame: Any) -> None:
        from hardware_bridge.camera import CameraInputError, best
        from hardware_bridge.plate_crop import cut

        started = time.perf_counter()
        number = len(window.reads) + 1
        readings: list[Reading] = []
        try:
            readings = self.reader.read(frame, kinds=("plate",))
        except CameraInputError as exc:  # a broken frame is no read, never a crash
            self.bad_frames += 1
            log.warning("%s: frame %d of %s: %s", self.device_id, number, self._who(window), exc)
        except Exception:  # nor is a reader that fails on one frame
            self.bad_frames += 1
            log.exception("%s: reading frame %d of %s failed", self.device_id, number, self._who(window))
        self.read_s.append(time.perf_counter() - started)
        self.frames += 1
        reading = best(readings)
        # the region to show the officer: the surest read of each plate, or of a plate seen but unreadable
        seen = reading or next((r for r in readings if r.text is None), None)
        window.reads.append(reading)
        window.raw.append(seen.raw if seen is not None else "")
        if seen is None:
            return
        key = seen.text or ""
        kept = window.crops.get(key)
        if kept is None or seen.confidence > kept[0]:
            try:
                window.crops[key] = (seen.confidence, cut(frame, seen.bbox))
            except (ValueError, CameraInputError) as exc:
                log.debug("%s: no crop of frame %d of %s: %s", self.device_id, number, self._who(window), exc)

    def _close(self, window: _Window, why: str) -> None:
        from hardware_bridge.camera import match

        with self._lock:
            if window.closed:
                return
            window.closed = window.closing = True
            self._windows.pop(window.number, None)
        v = vote(window.reads)
        reading = window.reads[v.best] if v.best is not None else None
        with self._lock:
            shown = window.trigger.truck_id or ""
            truck_of = {plate: truck for truck, (plate, _) in self._expected.items()}
            found = match(reading, list(truck_of)) if reading is not None else None
            plate = found.plate if found is not None else None
            truck = truck_of.get(plate) if plate is not None else None
            purpose = self._expected.get(shown, self._expected.get(truck or "", ("", "deliver")))[1]
            reasons = self._reasons(v, found, why)
            if truck is not None and not reasons:
                del self._expected[truck]
        evidence = self._evidence(window, v, reading, reasons)
        self.captures += 1
        self.inbox.put(
            CameraResult(self.device_id, self.yard, shown, purpose, truck, plate, bool(reasons), v.text or "", evidence, window.trigger)
        )

    def _reasons(self, v: Vote, found: PlateMatch | None, why: str) -> tuple[str, ...]:
        """Why an officer must look at this truck's plate, in words; none: accepted."""
        if v.text is None:
            said = f"no plate read in {v.frames} frame{'s' if v.frames != 1 else ''}"
            return (f"{said}: {why}" if why else said,)
        out = []
        if v.disagreed:
            out.append(f"the frames disagreed: {describe(v)}")
        if v.confidence < self.min_confidence:
            out.append(f"confidence {v.confidence:.2f} is below {self.min_confidence:.2f}")
        if found is None or found.plate is None:
            several = found is not None and found.needs_officer
            out.append(f"{v.text} matches {'more than one' if several else 'no'} declared plate")
        elif found.needs_officer:
            out.append(f"{v.text} matches {found.plate} only through a confusable character")
        return tuple(out)

    def _evidence(self, window: _Window, v: Vote, reading: Reading | None, reasons: tuple[str, ...]) -> PlateEvidence:
        from hardware_bridge.plate_crop import save, thumbnail

        kept = window.crops.get(v.text or "")
        jpeg, path = b"", ""
        if kept is not None:
            crop = kept[1]
            jpeg = thumbnail(crop, self.crop_max_bytes)
            if self.crop_dir is not None:
                name = f"{self.device_id}-{window.trigger.truck_id or 'unknown'}-{window.number}"
                try:
                    path = str(save(crop, self.crop_dir, name))
                except OSError as exc:  # a full disk loses the full-size copy, not the read
                    log.warning("%s: %s", self.device_id, exc)
        readings = tuple(r.text or "" if r is not None else "" for r in window.reads)
        raw = reading.raw if reading is not None else next((r for r in window.raw if r), "")
        return PlateEvidence(
            v.text or "", raw, round(v.confidence, 3), v.frames, v.votes, bool(reasons), reasons, readings, jpeg, path
        )
