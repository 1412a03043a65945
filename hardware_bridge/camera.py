"""Plate and container-code reading from camera frames.

Frames come from an image file, a folder of images, or a video or stream that
cv2.VideoCapture opens (`frames`). Reading a frame takes up to three steps, the dear
ones only where the cheap ones failed:

1. a cheap finder on a copy downscaled to 640 px: horizontal gradients (characters
   are dense vertical strokes), closed into text-line blobs, chained when side by side,
   kept when their size and shape fit a plate or a code line, and ranked by stroke
   density, contrast, plate colour and length;
2. recognition of the best candidates, until one reads surely: each is cut from the
   full frame and turned level; two-line plates are cut into their lines; the straight
   sides of a plate's rim or of the box round a check digit are painted over; the text
   is read by the recognition model that ships inside the rapidocr wheel;
3. where nothing read surely, the text detector of the same wheel
   (`hardware_bridge.text_finder`) on the whole frame: lines at any angle, two-line
   plates, columns of upright characters down a container's door post.

The work is bounded by counts (candidates, line reads), not by the clock, so a frame
reads the same on a busy machine as on an idle one. Most frames end at step 2 for a
few tens of milliseconds of CPU; one that needs the detector costs a few hundred
(benchmarks/plates.py measures both).

What is read is normalised to a plate (`controllers.codes.normalise_plate`) or an ISO
6346 container code with its check digit verified (`controllers.codes.container_code`).
Where a format allows only digits (or only letters) a look-alike is put right (O→0 in
a plate's number, 8→B in a container's owner code), and a stroke read at the edge of
a plate is dropped, two such edits at most. `match` compares a reading with the
declared plates: exact, or through one confusable character with a flag for an
officer.

    reader = PlateReader()
    for name, frame in frames("gate_cam/"):
        for reading in reader.read(frame):
            print(name, reading.text, match(reading, declared).needs_officer)
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from controllers.codes import CN_PROVINCES, CN_USES, PlateMatch, container_code, country_of, match_plate, normalise_plate
from hardware_bridge.text_finder import erase_outlines, ink_of, regions, side_by_side, text_detector, widened

Kind = Literal["plate", "container", "unknown"]
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".webm"})


class CameraInputError(ValueError):
    """A frame or a frame source that cannot be used; the message names it and why."""


class SourceNotFound(FileNotFoundError):
    """A frame source (file or folder) that does not exist."""


@dataclass(frozen=True, slots=True)
class Reading:
    raw: str  # what the recogniser read, lines joined by a space
    text: str | None  # the canonical plate or container code, None if it is neither
    kind: Kind  # "unknown" when the text fits no format
    confidence: float  # the recogniser's mean character probability, 0..1
    bbox: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    country: Literal["vietnam", "china"] | None = None  # of a plate


@dataclass(frozen=True, slots=True)
class Candidate:
    """A region of the frame the finder thinks holds a plate or a line of code."""

    box: tuple[tuple[float, float], tuple[float, float], float]  # cv2 rotated rect, frame pixels
    score: float
    colour: Literal["blue", "light", "other"]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        x, y, w, h = cv2.boundingRect(cv2.boxPoints(self.box).astype(np.float32))
        return int(x), int(y), int(w), int(h)


# ---------------------------------------------------------------- frames and sources


def check_frame(frame: Any, where: str = "frame") -> np.ndarray:
    """`frame` as a BGR uint8 image, or CameraInputError saying what is wrong with it."""
    if not isinstance(frame, np.ndarray):
        raise CameraInputError(f"{where}: expected a numpy image array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise CameraInputError(f"{where}: expected 8-bit pixels (uint8), got {frame.dtype}")
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    elif frame.ndim != 3 or frame.shape[2] != 3:
        raise CameraInputError(f"{where}: expected an H×W×3 BGR (or grey, or BGRA) image, got shape {frame.shape}")
    if frame.shape[0] < 32 or frame.shape[1] < 32:
        raise CameraInputError(f"{where}: image of {frame.shape[1]}×{frame.shape[0]} px is too small (32×32 at least)")
    return np.ascontiguousarray(frame)


def load_image(path: str | Path) -> np.ndarray:
    """One image file as a BGR frame."""
    path = Path(path)
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file")
    if not path.is_file():
        raise CameraInputError(f"{path}: not a file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CameraInputError(f"{path}: not a readable image (OpenCV could not decode it)")
    return check_frame(image, str(path))


def frames(source: str | Path | int) -> Iterator[tuple[str, np.ndarray]]:
    """(name, BGR frame) from an image file, a folder of images (sorted by name), a
    video file, a stream URL (rtsp://, http://) or a camera index. A missing or empty
    source fails here, at once; an image that cannot be decoded fails when its turn
    comes, naming the file."""
    if isinstance(source, int):
        return _video(source, f"camera {source}")
    text = str(source)
    if "://" in text:
        return _video(text, text)
    path = Path(source)
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CameraInputError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return ((file.name, load_image(file)) for file in files)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return _video(str(path), path.name)
    return iter([(path.name, load_image(path))])


def _video(target: str | int, label: str) -> Iterator[tuple[str, np.ndarray]]:
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        capture.release()
        raise CameraInputError(f"{label}: OpenCV could not open it as a video")
    return _video_frames(capture, label)


def _video_frames(capture: Any, label: str) -> Iterator[tuple[str, np.ndarray]]:
    try:
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield f"{label}#{index:06d}", check_frame(frame, f"{label} frame {index}")
            index += 1
        if index == 0:
            raise CameraInputError(f"{label}: the video has no frame that could be decoded")
    finally:
        capture.release()


# ---------------------------------------------------------------- the recogniser


_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALLOWED = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ·-. " + CN_PROVINCES + CN_USES)
OCR_THREADS = 1
_engine_lock = threading.Lock()
_engine: Recogniser | None = None


class Recogniser:
    """RapidOCR's text-line recognition model (PP-OCR rec, shipped in the rapidocr wheel),
    decoded over the characters plates and codes use only: digits, capitals, the
    province characters and separators. Where the model's first choice at a step is
    another character (a Chinese character that looks like a province's, a lower-case
    letter) the best allowed one takes its place, instead of the read going wrong.

    This reaches into rapidocr's recogniser for its ONNX session and its character
    list; if a rapidocr release moves them, reads go through the public call instead,
    unconstrained."""

    def __init__(self, threads: int = 1) -> None:
        from rapidocr import RapidOCR  # slow import: only when a frame is first read

        params = {
            "Global.use_det": False,
            "Global.use_cls": False,
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self.engine = RapidOCR(params=params)
        self.session: Any = None
        try:
            rec = self.engine._load_rec_model()
            characters = list(rec.postprocess_op.character)
            self.height = int(rec.rec_image_shape[1])
            self.min_width = int(rec.rec_image_shape[1]) * 10 // 3  # PaddleOCR pads to 320 px; 160 reads as well, faster
            self.session = rec.session
        except (AttributeError, TypeError, IndexError):
            return
        self.characters = characters
        allowed = np.array([c in _ALLOWED for c in characters])
        allowed[0] = False  # index 0 is CTC's blank
        self.allowed = allowed
        self.province = np.array([c in CN_PROVINCES for c in characters], np.float32)

    @property
    def constrained(self) -> bool:
        return self.session is not None

    def __call__(self, line: np.ndarray) -> tuple[str, float]:
        """Text and confidence (mean character probability) of one text-line image."""
        if self.session is None:
            out = self.engine(line, use_det=False, use_cls=False, use_rec=True)
            txts, scores = getattr(out, "txts", None), getattr(out, "scores", None)
            return (str(txts[0]), float(scores[0])) if txts and scores else ("", 0.0)
        h, w = line.shape[:2]
        width = max(1, min(round(w * self.height / h), 1600))
        resized = cv2.resize(line, (width, self.height), interpolation=cv2.INTER_AREA if h > self.height else cv2.INTER_LINEAR)
        batch = np.zeros((1, 3, self.height, max(width, self.min_width)), np.float32)
        batch[0, :, :, :width] = resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
        probs = np.asarray(self.session(batch))[0]  # steps × characters, softmax
        first = probs.argmax(axis=1)
        fallback = np.where(self.allowed, probs, 0.0).argmax(axis=1)
        chosen = np.where((first == 0) | self.allowed[first], first, fallback)
        text, scores, steps, previous = [], [], [], 0
        for step, index in enumerate(chosen):
            if index != 0 and index != previous:
                text.append(self.characters[index])
                scores.append(float(probs[step, index]))
                steps.append(step)
            previous = index
        core = [c for c in text if c.isalnum()]
        if len(core) == 6 and core[0] in _LETTERS and steps[0] > 0:
            # a Chinese plate whose province character the model passed over (small,
            # squeezed into its cell, dark): the likeliest province before the letter
            lead = probs[: steps[0]] * self.province
            step, index = (int(i) for i in np.unravel_index(int(lead.argmax()), lead.shape))
            if lead[step, index] >= 0.01:
                text.insert(0, self.characters[index])
                scores.insert(0, float(lead[step, index]))
        elif len(core) in (7, 8) and core[0] in _LETTERS and core[1] in _LETTERS and text[0] == core[0]:
            # two letters and five or six more is a Chinese plate whose province character
            # was read as a Latin letter (闽 as M): the likeliest province at that place
            around = probs[max(0, steps[0] - 1) : steps[0] + 2] * self.province
            step, index = (int(i) for i in np.unravel_index(int(around.argmax()), around.shape))
            if around[step, index] >= 0.01:
                text[0] = self.characters[index]
                scores[0] = float(around[step, index])
        return "".join(text).strip(), float(np.mean(scores)) if scores else 0.0


def ocr_engine() -> Recogniser:
    """The recogniser, created once per process on first use (loading the model takes
    a while) and shared by every reader. It runs on OCR_THREADS threads: on a small
    shared CPU one thread per read is steadier than two that spin against the rest of
    the bridge."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Recogniser(OCR_THREADS)
    return _engine


def recognise(line: np.ndarray) -> tuple[str, float]:
    """Text and confidence of one text-line image (BGR)."""
    return ocr_engine()(line)


# ---------------------------------------------------------------- normalising


_TO_DIGIT = str.maketrans({"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "T": "7", "Z": "2", "S": "5", "B": "8", "G": "6", "A": "4"})
# a province's two digits take only the look-alikes a plate font really confuses: a
# container code cut short ("TAPZ 007237") must not turn into plate 74PZ0-072.37
_TO_PROVINCE = str.maketrans({"O": "0", "D": "0", "I": "1", "Z": "2", "S": "5", "B": "8"})
_CODE_LIKE = re.compile(r"^[A-Z]{3}[UJZ]\d{5,7}$")  # an owner code and a serial: no plate
_CODE_HEAD = re.compile(r"^[A-Z]{3}[UJZ]\d{6}$")  # a container code without its check digit
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"})
_CN_TAIL = str.maketrans({"O": "0", "I": "1"})  # Chinese plates leave out O and I
_CN_LETTER = str.maketrans({"0": "D", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"})
_HANZI = CN_PROVINCES + CN_USES
_KEEP = re.compile(rf"[A-Z0-9{_HANZI}]")
_CN_LEAD = str.maketrans({"挂": "桂"})  # a plate starts with its province, never with 挂
_EDGE = "1I"  # what the edge of a plate or the box of a check digit is read as
STOP_CONFIDENCE = 0.75  # a plate or code read this surely ends the search of a frame (stop_at_first)
MAX_EDITS = 2  # a read needing more trims and look-alike swaps than this is no read


def _chars(raw: str) -> str:
    """The plate or code characters of a read, without separators and stray marks."""
    return "".join(_KEEP.findall(raw.upper()))


def _trims(chars: str) -> list[tuple[str, int, int]]:
    """A line as read, and without a stroke at either edge: (chars, trims, trims on
    the left)."""
    out = [(chars, 0, 0)]
    if len(chars) > 3 and chars[0] in _EDGE:
        out.append((chars[1:], 1, 1))
    if len(chars) > 3 and chars[-1] in _EDGE:
        out.append((chars[:-1], 1, 0))
        if chars[0] in _EDGE:
            out.append((chars[1:-1], 2, 1))
    return out


def _prefix(line: str) -> int | None:
    """How many characters come before the dash or dot after a plate's series ("12C-",
    "桂A·"), if the read shows one: a misread extra or missing character must not
    shift characters from one part of a plate to the other."""
    m = re.match(rf"^[^A-Z0-9{_HANZI}]*((?:[A-Z0-9{_HANZI}][^A-Z0-9{_HANZI}·\-]*)+?)\s*[·\-]", line.upper())
    return len(_chars(m[1])) if m else None


def _cents(line: str) -> int | None:
    """How many characters follow the dot of a Vietnamese plate's number ("123.45"),
    if the read shows that dot after the dash: a number cut short ("668.5") must not
    pass for a four-digit plate."""
    m = re.search(r"[-·][^.]*\.([^.]*)$", line)
    return len(_chars(m[1])) if m else None


def _swaps(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def _parses(chars: str) -> Iterator[tuple[str, Kind, int]]:
    """(canonical text, kind, look-alike swaps) of every format `chars` fits once
    look-alikes are put right where a format allows only digits (or only letters)."""
    if chars[:1] in CN_USES:
        chars = chars.translate(_CN_LEAD)[:1] + chars[1:]
    if len(chars) == 13 and chars[10] in _EDGE and chars[12] in _EDGE:
        # the sides of the box round the check digit, read as strokes either side of it
        for text, kind, _ in _parses(chars[:10] + chars[11]):
            if kind == "container":
                yield text, kind, 2
    if len(chars) == 11 and chars[0] not in CN_PROVINCES:
        fixed = chars[:4].translate(_TO_LETTER) + chars[4:].translate(_TO_DIGIT)
        code = container_code(fixed)
        if code:  # the check digit vouches for the swaps
            yield code, "container", 0
    if chars[:1] in CN_PROVINCES:
        if len(chars) < 7:
            return
        fixed = chars[0] + chars[1:2].translate(_CN_LETTER) + chars[2:].translate(_CN_TAIL)
        plate = normalise_plate(fixed)
        if plate:
            yield plate, "plate", _swaps(chars, fixed)
        return
    if _CODE_LIKE.match(chars):
        return
    for digits in (5, 4):  # Vietnamese: two digits, the series, four or five digits
        if digits + 3 <= len(chars) <= digits + 5:
            fixed = chars[:2].translate(_TO_PROVINCE) + chars[2:-digits] + chars[-digits:].translate(_TO_DIGIT)
            plate = normalise_plate(fixed)
            if plate:
                yield plate, "plate", _swaps(chars, fixed)


def interpret(lines: str | Sequence[str], blue: bool = False) -> tuple[str | None, Kind]:
    """The canonical plate or container code in a read (one string, or the lines of a
    two-line plate), and which it is: the reading that needs the fewest edits. `blue`:
    read on a blue plate, which in China is an ordinary one with five characters after
    the dot (six are a green new-energy plate's), so a sixth is the plate's rim."""
    raw = [line for line in ([lines] if isinstance(lines, str) else lines) if _chars(line)]
    parts = [_chars(line) for line in raw]
    if len(parts) == 2 and not (2 <= len(parts[0]) <= 6 and 4 <= len(parts[1]) <= 7):
        # two lines are a plate's: "12C" or "12-C1" over "123.45" in Vietnam, the
        # province and letter over five characters on a large Chinese truck's rear
        return None, "unknown"
    best: tuple[int, str, Kind] | None = None
    for combo in itertools.product(*[_trims(p) for p in parts]):
        chars, edits = "".join(c for c, _, _ in combo), sum(n for _, n, _ in combo)
        if len(combo) == 2:
            prefix: int | None = len(combo[0][0])  # the top line is the part before the dash
            cents = _cents("-" + raw[1])
        else:
            prefix = _prefix(raw[0]) if raw else None
            prefix = None if prefix is None else prefix - combo[0][2]
            cents = _cents(raw[0]) if raw else None
        if cents is not None and combo[-1][1] > combo[-1][2]:
            cents -= 1  # a stroke trimmed off the end
        for text, kind, swaps in _parses(chars):
            if kind == "plate" and prefix is not None and len(_chars(re.split(r"[·\-]", text)[0])) != prefix:
                continue
            if kind == "plate" and cents is not None and not re.search(rf"\.[0-9]{{{cents}}}$", text):
                continue
            if blue and kind == "plate" and "·" in text and len(text.split("·")[1]) != 5:
                continue
            if edits + swaps <= MAX_EDITS and (best is None or edits + swaps < best[0]):
                best = (edits + swaps, text, kind)
    return (best[1], best[2]) if best else (None, "unknown")


def column_code(raw: str) -> tuple[str | None, Kind]:
    """The container code in the characters of a column, laid in a row: a column holds
    no plate, and may run on into the size/type code under it, so every eleven
    characters in turn are tried and the check digit decides."""
    chars = _chars(raw)
    for start in range(max(1, len(chars) - 10)):
        for text, kind, _ in _parses(chars[start : start + 11]):
            if kind == "container":
                return text, kind
    return None, "unknown"


# ---------------------------------------------------------------- the finder


def _colour(hsv: np.ndarray) -> Literal["blue", "light", "other"]:
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    blue = np.mean((h > 95) & (h < 130) & (s > 90) & (v > 40))
    light = np.mean((s < 70) & (v > np.percentile(v, 40)) | ((h > 15) & (h < 35) & (s > 90)))
    if blue > 0.35:
        return "blue"
    if light > 0.45:
        return "light"
    return "other"


def _level(rect: tuple[tuple[float, float], tuple[float, float], float]) -> tuple[tuple[float, float], tuple[float, float], float]:
    """A rotated rectangle with its long side as width and its angle in -45..45 degrees:
    OpenCV's own angle convention has changed between versions."""
    (cx, cy), (w, h), angle = rect
    if w < h:
        w, h, angle = h, w, angle + 90
    angle = (angle + 90) % 180 - 90
    return (cx, cy), (w, h), angle


Piece = tuple[tuple[int, int, int, int], np.ndarray]
Rect = tuple[tuple[float, float], tuple[float, float], float]


def _box(b: Sequence[int]) -> tuple[int, int, int, int]:
    return int(b[0]), int(b[1]), int(b[2]), int(b[3])


def _rect(r: Sequence[Any]) -> Rect:
    """OpenCV's rotated rectangle as plain floats."""
    (cx, cy), (w, h), angle = r
    return (float(cx), float(cy)), (float(w), float(h)), float(angle)


def _rows(pieces: list[Piece]) -> list[list[Piece]]:
    """Chains of blobs side by side at one height: the groups of a container code
    ("CGXU 123456 7") or a plate whose characters did not close into one blob."""
    return [[pieces[i] for i in chain] for chain in side_by_side([box for box, _ in pieces], 1.6, lambda h: 2)]


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def find_candidates(frame: np.ndarray, work_width: int = 640, limit: int = 6) -> list[Candidate]:
    """Regions that may hold a plate or a code line, best first, in frame pixels."""
    scale = work_width / frame.shape[1]
    small = cv2.resize(frame, (work_width, round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0)
    grad = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3))
    # strokes stand well above the noise floor (the median gradient, mostly noise) and
    # not far below the strongest edges, so the threshold follows noise and light
    threshold = max(6.0 * float(np.median(grad)), 0.25 * float(np.percentile(grad, 99.5)), 20.0)
    strokes: np.ndarray = (grad > threshold).astype(np.uint8) * 255
    # long vertical lines (door rods, pillars, a plate's own sides) are no characters and
    # would weld a text line to whatever they run through
    rods = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 45)))
    strokes = cv2.bitwise_and(strokes, cv2.bitwise_not(rods))
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    height, width = strokes.shape
    groups: list[list[Piece]] = []
    # a small closing makes text lines; a larger one joins the two lines of a plate and
    # characters that blur or darkness broke up
    for kernel, chain in (((9, 5), True), ((15, 9), False)):
        blobs = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        blobs = cv2.morphologyEx(blobs, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
        contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        pieces: list[Piece] = [(_box(cv2.boundingRect(c)), np.asarray(c)) for c in contours]
        pieces = [(b, c) for b, c in pieces if b[3] >= 7 and b[2] >= 6 and b[3] <= height * 0.35 and b[2] <= width * 0.45]
        groups += [[p] for p in pieces] + (_rows(pieces) if chain else [])
    found: list[tuple[Candidate, tuple[int, int, int, int]]] = []
    for group in groups:
        points = np.vstack([c for _, c in group])
        x, y, w, h = cv2.boundingRect(points)
        if w < 24 or w > width * 0.6:
            continue
        (cx, cy), (rw, rh), angle = _level(_rect(cv2.minAreaRect(points)))
        if rh < 7 or not 1.3 <= rw / rh <= (9.0 if len(group) == 1 else 14.0) or abs(angle) > 25:
            continue
        fill = sum(cv2.contourArea(c) for _, c in group) / max(rw * rh, 1)
        density = float(np.mean(strokes[y : y + h, x : x + w] > 0))
        if fill < (0.4 if len(group) == 1 else 0.3) or density < 0.15:
            continue
        contrast = float(np.std(gray[y : y + h, x : x + w])) / 64
        colour = _colour(hsv[y : y + h, x : x + w])
        # a plate's background colour, and a long line of characters, speak for a region
        score = density + min(contrast, 1.0) + fill * 0.5 + (0.5 if colour != "other" else 0.0) + 0.3 * min(len(group) - 1, 2)
        inv = 1 / scale
        found.append((Candidate(((cx * inv, cy * inv), (rw * inv, rh * inv), angle), score, colour), (x, y, w, h)))
    found.sort(key=lambda f: -f[0].score)
    kept: list[tuple[Candidate, tuple[int, int, int, int]]] = []
    for candidate, box in found:  # the same region found by both closings: keep the better
        if all(_iou(box, other) < 0.7 for _, other in kept):
            kept.append((candidate, box))
    return [c for c, _ in kept[:limit]]


# ---------------------------------------------------------------- cutting a candidate out


def _level_crop(frame: np.ndarray, box: tuple[tuple[float, float], tuple[float, float], float], pad: float) -> np.ndarray:
    """The rotated rectangle `box`, grown by `pad` of its height on each side, cut out
    level."""
    (cx, cy), (w, h), angle = box
    w, h = w + 2 * pad * h, h + 2 * pad * h
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += w / 2 - cx
    matrix[1, 2] += h / 2 - cy
    return cv2.warpAffine(frame, matrix, (max(8, round(w)), max(8, round(h))), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _lines(crop: np.ndarray) -> list[np.ndarray]:
    """The text lines of a level crop: one, or two for a two-line plate (about 2:1,
    with a band free of ink across its middle)."""
    h, w = crop.shape[:2]
    if w / h > 2.8:
        return [crop]
    top, left = h // 6, w // 8  # the crop's margins hold the bumper around the plate
    rows = ink_of(crop[top : h - top, left : w - left]).mean(axis=1)
    n = len(rows)
    lo, hi = int(n * 0.3), int(n * 0.7)
    split = lo + int(np.argmin(rows[lo:hi]))
    if rows[split] > 0.25 * float(np.median(rows[n // 6 : n - n // 6])):
        return [crop]
    return [crop[: top + split], crop[top + split :]]


def _squeeze_fix(crop: np.ndarray) -> np.ndarray:
    """A blue Chinese plate widened: GA 36 squeezes the province character into a
    45×90 mm cell, and the recogniser knows Chinese characters about square."""
    return cv2.resize(crop, (round(crop.shape[1] * 1.6), crop.shape[0]), interpolation=cv2.INTER_LINEAR)


def _to_height(line: np.ndarray, height: int = 48) -> np.ndarray:
    """A line scaled to the recogniser's input height."""
    h, w = line.shape[:2]
    size = (max(8, round(w * height / h)), height)
    return cv2.resize(line, size, interpolation=cv2.INTER_AREA if h > height else cv2.INTER_CUBIC)


# ---------------------------------------------------------------- the reader


class PlateReader:
    """Reads plates and container codes in frames. The recognition model is loaded on
    the first read and shared by all readers in the process; so is the text detector,
    loaded the first time a frame needs it.

    The work per frame is bounded by counts, never by the clock, so that a frame gives
    the same reading on an idle machine and a busy one: at most `max_candidates` regions
    of the cheap finder, then (if none read surely) one pass of the text detector and
    its regions, `max_reads` line reads in all."""

    def __init__(self, max_candidates: int = 6, work_width: int = 640, stop_at_first: bool = True, detector: bool = True, max_reads: int = 16) -> None:
        if max_candidates < 1:
            raise ValueError(f"max_candidates: must be 1 or more, got {max_candidates}")
        if not 160 <= work_width <= 4096:
            raise ValueError(f"work_width: must be in 160..4096 px, got {work_width}")
        if not 1 <= max_reads <= 64:
            raise ValueError(f"max_reads: must be in 1..64, got {max_reads}")
        self.max_candidates = max_candidates
        self.work_width = work_width
        # a gate camera sees one truck: the first confident plate or code ends the search
        self.stop_at_first = stop_at_first
        # the learned detector finds what the gradient finder misses (columns, rain,
        # night), at several times its cost: only for frames the finder could not read
        self.detector = detector
        self.max_reads = max_reads
        self.detected = 0  # frames that needed the detector, for the lane's figures

    def warm_up(self) -> None:
        """Load the models and run them once, so that the first real frame is not slow."""
        recognise(np.full((48, 160, 3), 255, np.uint8))
        if self.detector:
            text_detector()(np.full((64, 64, 3), 255, np.uint8))

    def read(self, frame: np.ndarray, kinds: Sequence[Kind] = ("plate", "container")) -> list[Reading]:
        """The plates and codes in `frame`, most confident first. Regions are read best
        first until one reads surely (stop_at_first) or `max_reads` lines have been
        read. When no region reads as a plate or code, the best region comes back with
        text None (kind "unknown"), so that a lane can tell "nothing seen" from "seen
        but unreadable"."""
        frame = check_frame(frame)
        if not kinds or any(k not in ("plate", "container") for k in kinds):
            raise ValueError(f"kinds: expected some of 'plate', 'container', got {list(kinds)}")
        work = min(self.work_width, frame.shape[1])
        readings: list[Reading] = []
        unread: list[Reading] = []
        reads = 0

        def take(reading: Reading) -> bool:
            """Keep a reading; True when it ends the search."""
            if reading.text is None:
                unread.append(Reading(reading.raw, None, "unknown", reading.confidence, reading.bbox))
                return False
            if reading.kind not in kinds:
                return False
            if all(r.text != reading.text for r in readings):
                readings.append(reading)
            return self.stop_at_first and reading.confidence >= STOP_CONFIDENCE

        done = False
        for candidate in find_candidates(frame, work, self.max_candidates):
            lines = self._candidate_lines(frame, candidate)
            if reads + len(lines) > self.max_reads:
                break
            reads += len(lines)
            if done := take(self._read_lines(lines, candidate.colour, candidate.bbox)):
                break
        if not done and self.detector and reads < self.max_reads:
            self.detected += 1
            for region in regions(frame, text_detector()(frame)):
                colour = _colour(cv2.cvtColor(region.lines[0], cv2.COLOR_BGR2HSV))
                lines = list(region.lines)
                if region.shape == "line" and colour == "blue":
                    lines = [_squeeze_fix(lines[0])]
                elif region.shape == "line" and colour != "blue":
                    h, w = lines[0].shape[:2]
                    lines = _lines(lines[0]) if w / h < 2.6 else lines
                if reads + len(lines) > self.max_reads:
                    break
                reads += len(lines)
                reading = self._read_lines(lines, colour, region.bbox, column=region.shape == "column")
                if reading.text is None and _CODE_HEAD.match(_chars(reading.raw)) and reads < self.max_reads:
                    wider = widened(frame, region)  # the owner code and serial read: find the check digit
                    if wider is not None:
                        reads += 1
                        reading = self._read_lines([wider], colour, region.bbox)
                if take(reading):
                    break
        readings.sort(key=lambda r: -r.confidence)
        return readings or unread[:1]

    def _candidate_lines(self, frame: np.ndarray, candidate: Candidate) -> list[np.ndarray]:
        (_, _), (w, h), _ = candidate.box
        crop = _level_crop(frame, candidate.box, 0.25)
        if candidate.colour == "blue":
            return [_squeeze_fix(crop)]
        # about 2:1 and not blue may be a two-line plate: read line by line
        return _lines(crop) if w / h < 2.6 else [crop]

    def _read_lines(self, lines: Sequence[np.ndarray], colour: str, bbox: tuple[int, int, int, int], column: bool = False) -> Reading:
        reads = [recognise(_to_height(erase_outlines(line))) for line in lines]
        raw = " ".join(text for text, _ in reads)
        if column:
            text, kind = column_code(raw)
            return Reading(raw, text, kind, min(c for _, c in reads), bbox)
        text, kind = interpret([text for text, _ in reads], blue=colour == "blue")
        country = country_of(text) if kind == "plate" and text else None
        return Reading(raw, text, kind, min(c for _, c in reads), bbox, country)

    def read_candidate(self, frame: np.ndarray, candidate: Candidate) -> Reading:
        """Read one candidate region of `frame`."""
        return self._read_lines(self._candidate_lines(frame, candidate), candidate.colour, candidate.bbox)

    def read_source(self, source: str | Path | int) -> Iterator[tuple[str, list[Reading]]]:
        """(frame name, readings) for every frame of a source (see `frames`)."""
        for name, frame in frames(source):
            yield name, self.read(frame)


def best(readings: Sequence[Reading], kind: Kind = "plate") -> Reading | None:
    """The most confident reading of `kind`, if any."""
    of_kind = [r for r in readings if r.kind == kind and r.text]
    return max(of_kind, key=lambda r: r.confidence) if of_kind else None


def match(reading: Reading, declared: Sequence[str]) -> PlateMatch:
    """Match a reading against the declared plates (or container codes). A plate may
    differ by one confusable character and then needs an officer; a container code is
    matched exactly, its check digit having caught misreads already; an unreadable
    plate matches nothing and needs an officer."""
    if reading.kind == "container" and reading.text:
        hit = reading.text in declared
        return PlateMatch(reading.text if hit else None, hit, False)
    if reading.text is None:
        return PlateMatch(None, False, True)
    return match_plate(reading.text, list(declared))
