"""The plate's region of a frame, kept as evidence: cut out, and encoded as a small JPEG.

The evidence travels with the truck's record to the control room and stays there while
the truck is remembered, so its size is capped (`CROP_MAX_BYTES`): the thumbnail is
shrunk and its JPEG quality lowered until it fits. A full-size copy may be written to
a folder for an officer who needs to look closer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CROP_MAX_BYTES = 4096  # a thumbnail of a plate reads well in 2–4 KB
THUMB_WIDTH = 200  # px, before any shrinking to fit
_QUALITIES = (80, 65, 50, 35)


def cut(frame: Any, bbox: tuple[int, int, int, int], pad: float = 0.15) -> np.ndarray:
    """The region `bbox` (x, y, w, h) of `frame`, grown by `pad` of its size on each side
    and clipped to the frame: a copy, so that the frame can go."""
    from hardware_bridge.camera import check_frame

    image = check_frame(frame)
    x, y, w, h = bbox
    dx, dy = round(w * pad), round(h * pad)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(image.shape[1], x + w + dx), min(image.shape[0], y + h + dy)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"bbox {bbox} lies outside the {image.shape[1]}×{image.shape[0]} frame")
    return image[y0:y1, x0:x1].copy()


def thumbnail(crop: np.ndarray, max_bytes: int = CROP_MAX_BYTES, width: int = THUMB_WIDTH) -> bytes:
    """`crop` as a JPEG of at most `max_bytes`: narrower and coarser until it fits; b""
    if even a tiny one does not."""
    import cv2  # OpenCV loads on use: the camera device module imports this one

    if max_bytes <= 0:
        return b""
    h, w = crop.shape[:2]
    target = min(width, w)
    while target >= 16:
        size = (target, max(8, round(h * target / w)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA) if target < w else crop
        for quality in _QUALITIES:
            ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and len(data) <= max_bytes:
                return data.tobytes()
        target = target * 2 // 3
    return b""


def save(crop: np.ndarray, folder: Path, name: str) -> Path:
    """Write `crop` full size as `folder/name.jpg` (the name made safe for a file system)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".jpg")
    if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise OSError(f"{path}: OpenCV could not write the crop")
    return path
