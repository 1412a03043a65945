"""Text lines found at any orientation by a learned detector, for frames the cheap finder
cannot read.

The detector is PP-OCR's DB text-detection model that ships inside the rapidocr wheel
(nothing is downloaded). It sees text where the gradient finder is lost: rain streaks
and night noise look like strokes to a gradient, not to a model trained on text. What
it finds is turned into regions to read:

- a line, at whatever angle, cut out level with its perspective removed;
- two lines one above the other, of about the same width, as a two-line plate (the rear
  plates of large Chinese trucks "桂F" over "99780", Vietnamese "12C" over "123.45");
- a column of upright characters (container codes painted down a door post), its
  characters cut apart and laid side by side, since the recogniser reads only rows.

The work is bounded by the model's input size and a number of regions, never by the
clock: a frame gives the same regions on an idle machine and a busy one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

Shape = Literal["line", "two_line", "column"]
DETECTOR_SIDE = 960  # the frame's long side at the model's input: a far plate's characters stay 8 px or more
_lock = threading.Lock()
_detector: TextDetector | None = None


@dataclass(frozen=True, slots=True)
class TextRegion:
    """What to read: one or two level line images, and where in the frame they were."""

    lines: tuple[np.ndarray, ...]  # BGR line images, read one by one
    shape: Shape
    bbox: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    score: float  # the detector's confidence, 0..1
    quad: np.ndarray | None = None  # a line's corners in the frame, clockwise from its top left


def widened(frame: np.ndarray, region: TextRegion, heights: float = 1.5) -> np.ndarray | None:
    """A line region cut again with `heights` of its height more on its right: the box
    round a container's check digit is often left out of the detector's line."""
    if region.quad is None:
        return None
    quad = region.quad.copy()
    across = quad[1] - quad[0]
    across /= max(float(np.linalg.norm(across)), 1e-6)
    _, h = _sides(quad)
    quad[1] += across * heights * h
    quad[2] += across * heights * h
    return _rectify(frame, quad)


class TextDetector:
    """The DB text detector of the rapidocr wheel, run on the whole frame scaled to
    `side` pixels on its long side."""

    def __init__(self, side: int = DETECTOR_SIDE, threads: int = 1) -> None:
        from rapidocr import RapidOCR  # slow import: only when a frame first needs it

        self.engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.use_rec": False,
                "Global.log_level": "error",  # an empty frame is no warning
                "Det.limit_side_len": side,
                "Det.limit_type": "max",
                "Det.box_thresh": 0.4,  # small, blurred plates score lower than print
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def __call__(self, frame: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """(quadrilateral 4×2 in frame pixels, score) of every text line found."""
        out = self.engine(frame, use_det=True, use_cls=False, use_rec=False)
        boxes: Any = getattr(out, "boxes", None)
        scores: Any = getattr(out, "scores", None)
        if boxes is None or len(boxes) == 0:
            return []
        if scores is None or len(scores) != len(boxes):
            scores = [1.0] * len(boxes)
        return [(np.asarray(b, np.float32).reshape(4, 2), float(s)) for b, s in zip(boxes, scores)]


def text_detector() -> TextDetector:
    """The detector, loaded once per process on first use and shared."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = TextDetector()
    return _detector


# ---------------------------------------------------------------- geometry


def _order(quad: np.ndarray) -> np.ndarray:
    """The corners clockwise from the top left."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]
    start = int(np.argmin(quad.sum(axis=1)))
    return np.roll(quad, -start, axis=0)


def _sides(quad: np.ndarray) -> tuple[float, float]:
    """Width (top and bottom sides, averaged) and height of an ordered quadrilateral."""
    w = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    h = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return float(w), float(h)


def _grow(quad: np.ndarray, pad: float) -> np.ndarray:
    """`quad` grown by `pad` of its height on every side: the detector's box hugs the
    ink, the recogniser wants a margin."""
    w, h = _sides(quad)
    centre = quad.mean(axis=0)
    across = (quad[1] - quad[0] + quad[2] - quad[3]) / 2
    down = (quad[3] - quad[0] + quad[2] - quad[1]) / 2
    across /= max(np.linalg.norm(across), 1e-6)
    down /= max(np.linalg.norm(down), 1e-6)
    grown = []
    for corner in quad:
        sx = 1 if np.dot(corner - centre, across) > 0 else -1
        sy = 1 if np.dot(corner - centre, down) > 0 else -1
        grown.append(corner + (sx * across + sy * down) * pad * min(w, h))
    return np.array(grown, np.float32)


def _rectify(frame: np.ndarray, quad: np.ndarray, pad: float = 0.2) -> np.ndarray:
    """The quadrilateral cut out of `frame` as a level rectangle."""
    quad = _grow(quad, pad)
    w, h = _sides(quad)
    w, h = max(8, round(w)), max(8, round(h))
    target = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _bbox(points: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(points.astype(np.float32))
    return int(x), int(y), int(w), int(h)


def _tall(quad: np.ndarray) -> np.ndarray:
    """`quad` ordered so that its first side is the top of a standing column."""
    quad = _order(quad)
    w, h = _sides(quad)
    return quad if h >= w else np.roll(quad, -1, axis=0)


def _upright(quad: np.ndarray) -> np.ndarray:
    """`quad` ordered so that its first side is the text's top: a box leaning past 45°
    is a line written at a steep angle, not a column (columns are told apart by their
    characters, see `_column_cells`)."""
    quad = _order(quad)
    w, h = _sides(quad)
    return quad if w >= h else np.roll(quad, -1, axis=0)


# ---------------------------------------------------------------- ink, and words side by side


def ink_of(image: np.ndarray) -> np.ndarray:
    """1 where the characters of a BGR image are (uint8, else 0): the smaller of Otsu's two
    classes of its grey, dark or light."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return (1 - ink if ink.mean() > 0.5 else ink).astype(np.uint8)


Box = tuple[int, int, int, int]  # x, y, w, h


def side_by_side(boxes: Sequence[Box], taller: float, back: Callable[[int], float]) -> list[list[int]]:
    """Chains of boxes side by side at one height, as indices into `boxes`, each from the
    left: from each box in turn, every box further right that overlaps the last one taken
    by most of the lower one's height, is less than `taller` times as tall (either way),
    and begins less than 1.5 heights after it ends, and at most `back(height)` px before.
    Only chains of two or more."""
    ordered = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    chains: list[list[int]] = []
    for k, first in enumerate(ordered):
        chain = [first]
        for other in ordered[k + 1 :]:
            (x0, y0, w0, h0), (x1, y1, _, h1) = boxes[chain[-1]], boxes[other]
            overlap = min(y0 + h0, y1 + h1) - max(y0, y1)
            gap = x1 - (x0 + w0)
            if overlap > 0.6 * min(h0, h1) and max(h0, h1) < taller * min(h0, h1) and -back(h0) <= gap < 1.5 * max(h0, h1):
                chain.append(other)
        if len(chain) > 1:
            chains.append(chain)
    return chains


# ---------------------------------------------------------------- outlines


def erase_outlines(crop: np.ndarray, min_height: float | None = None) -> np.ndarray:
    """`crop` with the straight sides of outlines that enclose characters painted over:
    the box round a container's check digit (the recogniser reads a boxed digit as a
    symbol, or not at all), the rim of a plate. Only long straight runs are painted, so
    a character that touches the outline keeps its strokes. Outlines shorter than
    `min_height` px (half the crop's height unless given) are left alone."""
    least = 0.5 * crop.shape[0] if min_height is None else min_height
    ink = ink_of(crop)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    erase: np.ndarray = np.zeros(ink.shape, np.uint8)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if h < least or area > 0.45 * w * h:
            continue
        if np.count_nonzero(labels[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4] == i) > 0.1 * area:
            continue  # ink in its middle: a character, not an outline
        inside = [
            j
            for j in range(1, count)
            if j != i and stats[j][0] >= x and stats[j][1] >= y and stats[j][0] + stats[j][2] <= x + w and stats[j][1] + stats[j][3] <= y + h and stats[j][4] > 0.1 * area
        ]
        if not inside:
            continue
        mask = (labels == i).astype(np.uint8)
        sides = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(0.8 * w)), 1)))
        upright = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(0.8 * h)))))
        erase = cv2.bitwise_or(erase, cv2.bitwise_or(sides, upright))
    if not erase.any():
        return crop
    out = crop.copy()
    out[cv2.dilate(erase, np.ones((3, 3), np.uint8)) > 0] = np.median(crop[ink == 0], axis=0)
    return out


# ---------------------------------------------------------------- columns


def _bands(ink: np.ndarray) -> list[tuple[int, int]]:
    """Runs of rows with ink across the middle of a column: its characters, roughly."""
    h, w = ink.shape
    across = ink[:, w // 8 : w - w // 8].mean(axis=1)
    rows = across > 0.08  # blur leaves a trace of ink between rows
    bands: list[tuple[int, int]] = []
    start = None
    for y, on in enumerate([*rows.tolist(), False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start >= max(3, h // 40):
                bands.append((start, y))
            start = None
    return bands


UPRIGHT = 1.25  # a box side is this many characters tall or more


def _column_cells(crop: np.ndarray) -> list[np.ndarray] | None:
    """The characters of a tall crop, top to bottom, if it holds a column of them: ink
    bands separated by clear rows, each about as tall as wide."""
    crop = erase_outlines(crop, 0.5 * crop.shape[1])
    ink = ink_of(crop)
    h, w = ink.shape
    first = _bands(ink)
    if len(first) < 4:
        return None
    typical = float(np.median([b - a for a, b in first]))
    if typical > 1.6 * w or typical < 0.25 * w:
        return None  # not characters of a column this wide
    spans = [np.nonzero(ink[a:b].any(axis=0))[0] for a, b in first]
    char_w = float(np.median([c[-1] - c[0] + 1 for c in spans if len(c)]))
    # the box round the check digit touches the characters next to it, so it is found by
    # its straight sides, longer than any character's strokes, and painted over
    lines = cv2.bitwise_or(
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(1.2 * char_w)), 1))),
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, round(UPRIGHT * typical))))),
    )
    if lines.any():
        lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
        crop = crop.copy()
        crop[lines > 0] = np.median(crop[ink == 0], axis=0)
        ink = ink & (1 - lines)
    bands = _bands(ink)
    if len(bands) < 4:
        return None
    split = []
    for a, b in bands:  # characters run together: cut each where the ink is thinnest
        pieces = round((b - a) / typical)
        if pieces < 2 or b - a < 1.6 * typical:
            split.append((a, b))
            continue
        profile = ink[a:b, w // 8 : w - w // 8].mean(axis=1)
        cuts = [a]
        for k in range(1, pieces):
            near = round(k * (b - a) / pieces)
            lo, hi = max(1, near - round(typical / 3)), min(b - a - 1, near + round(typical / 3))
            cuts.append(a + lo + int(np.argmin(profile[lo:hi])) if hi > lo else a + near)
        cuts.append(b)
        split += list(zip(cuts[:-1], cuts[1:]))
    cells = []
    for a, b in split:
        if b - a < 0.4 * typical:
            continue  # a speck, a scratch
        rows = np.nonzero(ink[a:b].any(axis=1))[0]
        cols = np.nonzero(ink[a:b].any(axis=0))[0]
        if len(cols) == 0:
            continue
        y0, y1 = a + int(rows[0]), a + int(rows[-1]) + 1  # the character itself, not its box's margin
        x0, x1 = max(0, int(cols[0]) - 2), min(w, int(cols[-1]) + 3)
        cells.append(crop[max(0, y0 - 2) : min(h, y1 + 2), x0:x1])
    if not cells:
        return None
    widths = np.array([c.shape[1] for c in cells], np.float32)
    cells = [c for c in cells if c.shape[1] <= 1.8 * float(np.median(widths))]  # a line across, not a character
    return cells if len(cells) >= 4 else None


def lay_in_a_row(cells: Sequence[np.ndarray], height: int = 48) -> np.ndarray:
    """Character images side by side on one line, each scaled to `height`, with the
    column's own background between them."""
    scaled = []
    for cell in cells:
        h, w = cell.shape[:2]
        scaled.append(cv2.resize(cell, (max(4, round(w * height / h)), height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_CUBIC))
    background = np.median(np.vstack([c.reshape(-1, 3) for c in scaled]), axis=0).astype(np.uint8)
    gap = np.empty((height, height // 4, 3), np.uint8)
    gap[:] = background
    parts: list[np.ndarray] = [gap]
    for cell in scaled:
        parts += [cell, gap]
    return np.hstack(parts)


# ---------------------------------------------------------------- regions


def _stacked(upper: tuple[np.ndarray, float], lower: tuple[np.ndarray, float]) -> bool:
    """Two level lines one right under the other, of like width: a two-line plate."""
    (a, _), (b, _) = upper, lower
    ax0, ay0, aw, ah = _bbox(a)
    bx0, by0, bw, bh = _bbox(b)
    if aw < 1.3 * ah or bw < 1.3 * bh:
        return False  # a line of a plate holds two characters at least
    overlap = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    gap = by0 - (ay0 + ah)
    return overlap > 0.5 * min(aw, bw) and -0.5 * ah < gap < 0.8 * max(ah, bh) and 0.25 < aw / max(bw, 1) < 2.0 and max(ah, bh) < 2.5 * min(ah, bh)


def _over(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The top line of a two-line plate as wide as its bottom line: the detector often
    finds only part of it ("·U" without its blurred province character), and a rear
    plate's top line spans the plate."""
    down = lower[3] - lower[0]
    down = down / max(float(np.linalg.norm(down)), 1e-6)
    depth = [float(np.dot(corner - lower[0], down)) for corner in upper]
    t, b = min(depth), max(depth)
    return np.array([lower[0] + down * t, lower[1] + down * t, lower[1] + down * b, lower[0] + down * b], np.float32)


def _columns(boxes: Sequence[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """Columns of upright characters: boxes one under the other at one x and of one
    width (the detector finds a column's characters alone, or in runs of a few), chained,
    as the rotated rectangle round each chain when it is four times as tall as wide."""
    standing = []
    for quad, score in boxes:
        x, y, w, h = _bbox(quad)
        side_w, side_h = _sides(_order(quad))
        if h >= 0.6 * w and w >= 6 and side_h >= 0.6 * side_w:
            standing.append((x, y, w, h, quad, score))
    standing.sort(key=lambda b: b[1])
    used: set[int] = set()
    out = []
    for i, first in enumerate(standing):
        if i in used:
            continue
        chain, members = [first], [i]
        for j in range(i + 1, len(standing)):
            if j in used:
                continue
            x0, y0, w0, h0 = chain[-1][:4]
            x1, y1, w1, h1 = standing[j][:4]
            same_x = abs((x0 + w0 / 2) - (x1 + w1 / 2)) < 0.5 * max(w0, w1)
            same_width = 0.6 < w1 / w0 < 1.6
            if same_x and same_width and -0.5 * min(h0, h1) < y1 - (y0 + h0) < 1.2 * w0:
                chain.append(standing[j])
                members.append(j)
        points = np.vstack([c[4] for c in chain]).astype(np.float32)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
        span_x, span_y = np.ptp(points[:, 0]), np.ptp(points[:, 1])
        if max(rw, rh) >= 4 * min(rw, rh) and span_y > 2 * span_x:  # standing, not a line leaning over
            # the detector often leaves out a column's last characters and its boxed check
            # digit: look two characters further down, half a character up
            tall = _tall(cv2.boxPoints(((cx, cy), (rw, rh), angle)).astype(np.float32))
            down = (tall[3] - tall[0]) / max(float(np.linalg.norm(tall[3] - tall[0])), 1e-6)
            width = min(rw, rh)
            tall[:2] -= down * 0.5 * width
            tall[2:] += down * 2.0 * width
            used.update(members)
            out.append((tall, min(c[5] for c in chain)))
    return out


def _rows(lines: Sequence[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """Lines side by side at one height chained into one, as the rotated rectangle round
    them: the detector finds a container code's owner code, serial and boxed check digit
    as words apart."""
    out = []
    for chain in side_by_side([_bbox(q) for q, _ in lines], 1.5, lambda h: 0.2 * h):
        points = np.vstack([lines[i][0] for i in chain]).astype(np.float32)
        box = cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32)
        out.append((_upright(box), min(lines[i][1] for i in chain)))
    return out


def regions(frame: np.ndarray, found: Sequence[tuple[np.ndarray, float]], limit: int = 12) -> list[TextRegion]:
    """What the detector found in `frame`, as regions to read, likeliest first: two-line
    pairs and columns before the single lines they are made of, larger text first."""
    lines = [(_upright(q), s) for q, s in found]
    out: list[TextRegion] = []
    for quad, score in _columns([(_order(q), s) for q, s in found]):
        column = _column_cells(_rectify(frame, _tall(quad), 0.1))
        if column is not None:
            out.append(TextRegion((lay_in_a_row(column),), "column", _bbox(quad), score))
    # words side by side make one line: "桂" and "A" spaced apart on a rear plate's top line
    every = _rows(lines) + lines
    for upper in every:
        for lower in every:
            if lower is not upper and _stacked(upper, lower):
                both = np.vstack([upper[0], lower[0]])
                top = _over(upper[0], lower[0])
                out.append(TextRegion((_rectify(frame, top), _rectify(frame, lower[0])), "two_line", _bbox(both), min(upper[1], lower[1])))
    for quad, score in every:
        w, h = _sides(quad)
        if h < 6 or w < 10:
            continue
        crop = _rectify(frame, quad)
        x, y, bw, bh = _bbox(quad)
        if bh > 2.2 * bw:  # standing: part of a column (read above), or nothing
            continue
        if w / h < 1.2:
            continue  # a single character or a blob: nothing a plate or code reads as
        out.append(TextRegion((crop,), "line", (x, y, bw, bh), score, quad))
    order = {"two_line": 0, "column": 0, "line": 1}
    out.sort(key=lambda r: (order[r.shape], -r.bbox[3] * min(r.bbox[2], 4 * r.bbox[3])))
    return out[:limit]
