"""The gate's plate camera as a device: triggers, capture windows, the vote of a truck's
frames, and the evidence that reaches the truck's record.

The voting rule is tested exactly with a scripted reader (each frame says what it
reads); the real reader reads a few rendered scenes, and a camera-only mixed run
carries the evidence through the controllers to the tracking reply.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import make_scenario, reference_data

from checkpoint.live import LiveTwin
from controllers.messages import PlateEvidence, PlateRead
from controllers.records import TruckLog
from hardware_bridge.camera import PlateReader, Reading, best, check_frame
from hardware_bridge.plate_camera import CameraResult, PlateCamera
from hardware_bridge.plate_crop import thumbnail
from hardware_bridge.plate_scenes import plate_scene
from hardware_bridge.plate_vote import settled, vote

A, B, C = "29C-123.45", "51D-678.90", "30E-246.80"
BOX = (20, 10, 200, 40)


def reading(text: str | None, confidence: float) -> Reading:
    return Reading(text or "~~~", text, "plate" if text else "unknown", confidence, BOX, "vietnam" if text else None)


class Scripted:
    """A reader whose frames say what it reads: a frame of grey level k reads `script[k]`."""

    def __init__(self, script: dict[int, Reading | None]) -> None:
        self.script = script
        self.read_frames = 0

    def warm_up(self) -> None:
        pass

    def read(self, frame: Any, kinds: Any = ("plate", "container")) -> list[Reading]:
        image = check_frame(frame)  # a frame that is no image fails as the real reader's does
        self.read_frames += 1
        got = self.script[int(image[0, 0, 0])]
        return [got] if got is not None else []


def frame(k: int) -> np.ndarray:
    image = np.full((80, 260, 3), k, np.uint8)
    image[20:40, 40:200] = 255 - k  # something to crop
    return image


@pytest.fixture
def cameras() -> Iterator[list[PlateCamera]]:
    made: list[PlateCamera] = []
    yield made
    for cam in made:
        cam.stop()


def scripted(cameras: list[PlateCamera], script: dict[int, Reading | None], **settings: Any) -> PlateCamera:
    cam = PlateCamera("VN-gate", "vietnam", Scripted(script), **settings)  # type: ignore[arg-type]
    cameras.append(cam)
    for truck, plate in (("T1", A), ("T2", B), ("T3", C)):
        cam.expect(truck, plate, "deliver")
    return cam


def result(cam: PlateCamera) -> CameraResult:
    got = cam.inbox.get(timeout=10)
    assert isinstance(got, CameraResult)
    return got


# --- the voting rule ------------------------------------------------------------------------------


def test_the_plate_most_frames_read_wins_and_a_dissent_lowers_its_confidence() -> None:
    v = vote([reading(A, 0.9), reading(B, 0.95), reading(A, 0.8)])
    assert (v.text, v.votes, v.read, v.frames, v.best) == (A, 2, 3, 3, 0)
    assert v.disagreed
    assert v.confidence == pytest.approx((0.9 + 0.8) / 3)
    assert vote([reading(A, 0.9), reading(A, 0.8), reading(A, 0.85)]).confidence == pytest.approx(0.85)


def test_a_tie_goes_to_the_surest_single_read_then_to_the_first() -> None:
    assert vote([reading(A, 0.5), reading(A, 0.5), reading(B, 1.0)]).text == B  # same sum, surer read
    assert vote([reading(B, 0.9), reading(A, 0.9)]).text == B  # all equal: read first


def test_an_unreadable_frame_abstains() -> None:
    v = vote([reading(A, 0.9), None, reading(None, 0.3), reading(A, 0.92)])
    assert (v.text, v.votes, v.read, v.frames, v.best) == (A, 2, 2, 4, 3)
    assert not v.disagreed and v.confidence == pytest.approx(0.91)
    assert vote([None, None]).text is None and vote([]).confidence == 0.0


def test_a_capture_settles_on_k_sure_reads_of_one_plate() -> None:
    assert settled([reading(A, 0.95), reading(B, 0.99), reading(A, 0.91)], agree=2, sure=0.9)
    assert not settled([reading(A, 0.95), reading(A, 0.6)], agree=2, sure=0.9)
    assert settled([reading(A, 0.95)], agree=1, sure=0.9)


# --- capture windows, with a scripted reader -------------------------------------------------------


def test_disagreeing_frames_pick_the_majority_and_flag_an_officer(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(A, 0.93), 2: reading(B, 0.95)}, frames_per_truck=3, agree=3)
    assert cam.trigger("T1", frames=[frame(1), frame(2), frame(1)])
    r = result(cam)
    assert (r.shown, r.truck_id, r.plate, r.read) == ("T1", "T1", A, A)
    assert r.needs_officer and r.evidence.needs_officer
    assert any("disagreed" in why and f"{A} ×2" in why and f"{B} ×1" in why for why in r.evidence.reasons)
    assert (r.evidence.frames, r.evidence.votes, r.evidence.readings) == (3, 2, (A, B, A))
    assert r.evidence.confidence == pytest.approx(2 * 0.93 / 3, abs=1e-3)


def test_agreeing_frames_are_accepted_with_their_evidence(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(B, 0.97), 0: None})
    assert cam.trigger("T2", by="barrier", lane=1, frames=[frame(1), frame(0), frame(1)])
    r = result(cam)
    assert (r.truck_id, r.needs_officer, r.read) == ("T2", False, B)
    ev = r.evidence
    assert (ev.frames, ev.votes, ev.readings, ev.reasons) == (3, 2, (B, "", B), ())
    assert ev.confidence == pytest.approx(0.97) and ev.raw == B
    assert 0 < len(ev.crop_jpeg) <= cam.crop_max_bytes
    assert r.trigger is not None and (r.trigger.by, r.trigger.lane) == ("barrier", 1)


def test_a_clear_plate_stops_the_capture_early(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(A, 0.96), 2: reading(A, 0.7)}, frames_per_truck=5, agree=2, sure=0.9)
    pulled: list[int] = []

    def frames(levels: list[int]) -> Iterator[np.ndarray]:
        for k in levels:
            pulled.append(k)
            yield frame(k)

    cam.trigger("T1", frames=frames([1, 1, 1, 1, 1]))
    r = result(cam)
    assert (r.evidence.frames, r.evidence.votes, len(pulled), r.needs_officer) == (2, 2, 2, False)
    pulled.clear()
    cam.expect("T1", A, "deliver")
    cam.trigger("T1", frames=frames([1, 2, 1, 1, 1]))  # the unsure read does not count towards stopping
    assert (result(cam).evidence.frames, len(pulled)) == (3, 3)


def test_frames_outside_a_window_are_ignored_and_counted(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(C, 0.95)}, frames_per_truck=2, agree=2)
    assert not cam.push(frame(1))  # nobody at the gate
    assert cam.trigger("T3")  # frames come from the stream
    assert not cam.trigger("T3")  # the loop chatters: one window
    assert [cam.push(frame(1)) for _ in range(3)] == [True, True, False]
    r = result(cam)
    assert (r.truck_id, r.evidence.frames, r.needs_officer) == ("T3", 2, False)
    assert not cam.push(frame(1))
    assert (cam.ignored, cam.retriggers, cam.frames) == (3, 1, 2)


def test_a_pushed_frame_goes_to_its_truck_s_window_or_the_oldest(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(A, 0.95), 2: reading(B, 0.95)}, frames_per_truck=1, agree=1)
    cam.trigger("T1")
    cam.trigger("T2")
    assert cam.push(frame(2), truck_id="T2")
    assert cam.push(frame(1))  # no truck named: the one that came first
    got = {r.shown: r for r in (result(cam), result(cam))}
    assert (got["T1"].truck_id, got["T2"].truck_id) == ("T1", "T2")


class Sink:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: Any) -> None:
        self.events.append(event)


def drained(cam: PlateCamera, count: int) -> list[Any]:
    """What the loop gets from the camera, once `count` results are there (its timeouts
    are checked as the loop drains it)."""
    sink = Sink()
    deadline = time.monotonic() + 5
    while len(sink.events) < count and time.monotonic() < deadline:
        cam.drain(sink)
        time.sleep(0.01)
    return sink.events


def test_a_window_short_of_frames_closes_after_window_s(cameras: list[PlateCamera]) -> None:
    cam = scripted(cameras, {1: reading(A, 0.95)}, frames_per_truck=3, agree=3, window_s=0.05)
    cam.trigger("T1")
    cam.push(frame(1))
    (r,) = drained(cam, 1)
    assert (r.truck_id, r.evidence.frames, r.needs_officer) == ("T1", 1, False)
    cam.trigger("T2")  # a window that gets no frame at all: no read, and why
    (r,) = drained(cam, 1)
    assert r.shown == "T2" and r.plate is None and r.needs_officer
    assert "no frame for 0.05 s" in r.evidence.reasons[0]


def test_a_stream_feeds_the_open_window(cameras: list[PlateCamera], tmp_path: Path) -> None:
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), frame(1))
    cam = scripted(cameras, {1: reading(A, 0.95)}, frames_per_truck=2, agree=2)
    cam.trigger("T1")
    cam.watch(tmp_path).join(timeout=10)
    assert (result(cam).evidence.frames, cam.ignored) == (2, 2)


# --- bad input: named, never raised into the loop ---------------------------------------------------


def test_a_trigger_for_an_unknown_truck_is_a_warning(cameras: list[PlateCamera], caplog: pytest.LogCaptureFixture) -> None:
    cam = scripted(cameras, {})
    with caplog.at_level(logging.WARNING):
        assert not cam.trigger("T404")
        assert not cam.trigger("T1", by="laser")  # type: ignore[arg-type]
    assert "T404" in caplog.text and "laser" in caplog.text
    assert cam.unknown_triggers == 1 and cam.inbox.empty()


def test_a_frame_that_is_no_image_abstains_with_a_warning(cameras: list[PlateCamera], caplog: pytest.LogCaptureFixture) -> None:
    cam = scripted(cameras, {1: reading(A, 0.95)}, frames_per_truck=3, agree=3)
    with caplog.at_level(logging.WARNING):
        cam.trigger("T1", frames=[frame(1), "not a frame", frame(1)])
        r = result(cam)
    assert (r.truck_id, r.needs_officer, r.evidence.readings) == ("T1", False, (A, "", A))
    assert "frame 2 of truck T1" in caplog.text and "numpy image" in caplog.text
    assert cam.bad_frames == 1


def test_a_failing_frame_source_ends_the_capture_with_what_it_has(cameras: list[PlateCamera], caplog: pytest.LogCaptureFixture) -> None:
    cam = scripted(cameras, {1: reading(A, 0.95)}, frames_per_truck=3, agree=3)

    def broken() -> Iterator[np.ndarray]:
        yield frame(1)
        raise OSError("the stream dropped")

    with caplog.at_level(logging.WARNING):
        cam.trigger("T1", frames=broken())
        r = result(cam)
        cam.expect("T1", A, "deliver")
        cam.trigger("T1", frames=42)  # type: ignore[arg-type]
        r2 = result(cam)
    assert (r.truck_id, r.evidence.frames) == ("T1", 1)
    assert r2.plate is None and r2.evidence.frames == 0
    assert "the stream dropped" in caplog.text and "no sequence of frames" in caplog.text


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"frames_per_truck": 0}, "frames_per_truck"),
        ({"frames_per_truck": 21}, "frames_per_truck"),
        ({"frames_per_truck": 2.5}, "frames_per_truck"),
        ({"frames_per_truck": 2, "agree": 3}, "agree"),
        ({"sure": 1.5}, "sure"),
        ({"window_s": 0}, "window_s"),
        ({"crop_max_bytes": -1}, "crop_max_bytes"),
    ],
)
def test_bad_settings_are_refused_by_name(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        PlateCamera("VN-gate", "vietnam", Scripted({}), **settings)  # type: ignore[arg-type]


# --- the real reader on rendered scenes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    r = PlateReader()
    r.warm_up()
    return r


@pytest.fixture(scope="module")
def good_frames(reader: PlateReader) -> list[np.ndarray]:
    """Rendered frames of plate A that the reader reads right and surely."""
    rng = random.Random(5)
    out = []
    for _ in range(16):
        image = plate_scene("vietnam", rng, text=A).image
        got = best(reader.read(image, kinds=("plate",)))
        if got is not None and got.text == A and got.confidence >= 0.9:
            out.append(image)
        if len(out) == 3:
            return out
    pytest.fail(f"fewer than 3 of 16 rendered scenes of {A} read right")


def test_real_frames_agree_and_a_blank_frame_does_not_spoil_the_vote(
    cameras: list[PlateCamera], reader: PlateReader, good_frames: list[np.ndarray], tmp_path: Path
) -> None:
    cam = PlateCamera("VN-gate", "vietnam", reader, frames_per_truck=3, agree=2, crop_dir=tmp_path / "crops")
    cameras.append(cam)
    cam.expect("T1", A, "deliver")
    cam.expect("T2", B, "pickup")
    blank = np.zeros_like(good_frames[0])
    cam.trigger("T1", frames=[good_frames[0], blank, good_frames[1], good_frames[2]])
    r = result(cam)
    ev = r.evidence
    assert (r.truck_id, r.plate, r.needs_officer) == ("T1", A, False)
    assert (ev.frames, ev.votes, ev.readings) == (3, 2, (A, "", A))  # stopped on the second sure read
    assert ev.confidence >= 0.9
    assert 0 < len(ev.crop_jpeg) <= 4096
    thumb = cv2.imdecode(np.frombuffer(ev.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert thumb is not None and thumb.shape[1] > 2 * thumb.shape[0]  # a plate's shape
    assert Path(ev.crop_path).is_file() and Path(ev.crop_path).parent == tmp_path / "crops"


def test_the_crop_is_size_capped(good_frames: list[np.ndarray]) -> None:
    crop = good_frames[0]  # the whole frame: far over any cap at full size
    for cap in (4096, 2000, 1000):
        data = thumbnail(crop, cap)
        assert 0 < len(data) <= cap
    assert thumbnail(crop, 10) == b""  # nothing fits: no crop rather than a big one


def test_submit_still_reads_one_frame_as_a_capture(cameras: list[PlateCamera], reader: PlateReader, good_frames: list[np.ndarray]) -> None:
    cam = PlateCamera("VN-gate", "vietnam", reader)
    cameras.append(cam)
    cam.expect("T1", A, "deliver")
    cam.submit("T1", good_frames[0]).result(timeout=10)
    r = result(cam)
    assert (r.shown, r.truck_id, r.needs_officer, r.evidence.frames) == ("T1", "T1", False, 1)


# --- the evidence with the truck's record --------------------------------------------------------------


def test_the_truck_log_keeps_the_latest_trucks() -> None:
    log = TruckLog(limit=2)
    ev = PlateEvidence(A, A, 0.97, 3, 3, False, crop_jpeg=b"\xff\xd8")
    for truck in ("T1", "T2", "T3"):
        log.record(PlateRead("VN-gate", "vietnam", truck, A, "deliver", ev), 10.0)
    assert [r.truck_id for r in log] == ["T2", "T3"] and log.get("T1") is None
    rec = log.get("T3")
    assert rec is not None and rec.evidence == ev and rec.at == 10.0


def test_the_camera_s_evidence_reaches_the_truck_record_and_the_tracking_reply() -> None:
    data = reference_data()
    data["devices"] = {"cameras": [{"yard": "vietnam", "frames_per_truck": 3, "agree": 2}]}
    live = LiveTwin(make_scenario(data), seed=3)
    mixed, world = live.mixed, live.world
    trucks = world.controller.trucks
    mixed.start()
    try:
        deadline = time.monotonic() + 25
        seen = None
        while seen is None and time.monotonic() < deadline:
            world.env.run(until=world.env.now + 20)  # the model runs ahead; the camera reads as it can
            for source in mixed.sources:
                source.drain(mixed.mirrors.events)
            seen = next((r for r in trucks if r.evidence is not None and r.yard == "vietnam"), None)
            time.sleep(0.02)
        assert seen is not None, "no truck came through the bridged camera"
        ev = seen.evidence
        assert ev is not None and ev.frames >= 1 and 0.0 <= ev.confidence <= 1.0
        assert len(ev.crop_jpeg) <= 4096
        container = next(c for c in world.containers.values() if seen.truck_id in (c.truck_id, c.pickup_truck_id))
        (item,) = live.track(container.container_id)
        (gate,) = [g for g in item["gate_reads"] if g["truck_id"] == seen.truck_id]
        cam = gate["camera"]
        assert (cam["confidence"], cam["frames"], cam["votes"], cam["needs_officer"]) == (ev.confidence, ev.frames, ev.votes, ev.needs_officer)
        assert (cam["crop"] or "data:image/jpeg;base64,").startswith("data:image/jpeg;base64,")
        assert ev.crop_jpeg == b"" or cam["crop"] is not None
        assert gate["plate"] == container.plate and gate["at"] is not None
    finally:
        mixed.close()
