"""Synthetic labelled camera frames: licence plates on trucks and container codes on doors.

Every frame is 1280×720, drawn with OpenCV and Pillow and the Noto CJK fonts of Debian's
fonts-noto-cjk (cv2.putText has no CJK glyphs). A plate scene has a truck front with a
grille, lights, a maker's name and a road sign as clutter; the plate is at a random
place and scale, rotated and seen in perspective, and the frame is blurred, noisy or
dark at random. Plates are

- Vietnamese one-line, "12C-123.45" on white or yellow (commercial) plates;
- Vietnamese two-line, "12-C1" over "123.45" (canonical "12C1-123.45");
- Chinese blue plates with white characters, "桂A·12345", with a province character.

A container scene is a corrugated door with an ISO 6346 code ("CGXU 123456" and its
boxed check digit), the size/type code under it and other markings. Scene `i` of a set
depends only on the seed and `i`, so a set of any size starts with the same frames.

    python -m hardware_bridge.plate_scenes --out DIR --count 300 --seed 1 [--containers 20]

writes DIR/plate_0000.jpg ... and DIR/labels.csv (file, kind, country, text, layout).
"""

from __future__ import annotations

import argparse
import csv
import glob
import math
import random
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from controllers.codes import CN_PROVINCES, country_of, iso6346_check_digit, normalise_plate
from controllers.identifiers import VN_PROVINCES

WIDTH, HEIGHT = 1280, 720
Country = Literal["vietnam", "china"]
Layout = Literal["one_line", "two_line", "container"]

# Vietnamese province codes seen at Lạng Sơn besides the twin's own (northern provinces).
_VN_CODES = tuple(dict.fromkeys(VN_PROVINCES + ("11", "17", "19", "21", "22", "24", "26", "27", "28", "34", "88", "99")))
_VN_SERIES = "ABCDEFGHKLMNPSTUVXYZ"  # letters Vietnamese plates use (no I, J, O, Q, R, W)
_CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # Chinese plates leave out I and O
_FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/**/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/**/NotoSansCJK*.ttc",
)


class FontMissing(FileNotFoundError):
    """The Noto CJK fonts are not installed."""


@dataclass(frozen=True, slots=True)
class Scene:
    image: np.ndarray  # BGR, HEIGHT×WIDTH×3, uint8
    kind: Literal["plate", "container"]
    country: Country | Literal[""]  # "" for containers
    text: str  # the canonical plate or the container code
    layout: Layout
    bbox: tuple[int, int, int, int]  # x, y, w, h of the plate or code in the frame


@lru_cache(maxsize=1)
def font_path() -> str:
    for pattern in _FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    raise FontMissing("Noto Sans CJK not found under /usr/share/fonts: install Debian's fonts-noto-cjk (.ci/run does it)")


@lru_cache(maxsize=8)
def _font(index: int) -> ImageFont.FreeTypeFont:
    # index 2 of the collection is the Simplified Chinese face, 7 its monospaced twin
    return ImageFont.truetype(font_path(), 96, index=index)


# ---------------------------------------------------------------- plate texts


def plate_text(country: Country, rng: random.Random, two_line: bool = False) -> str:
    """A random valid plate in its canonical form."""
    if country == "china":
        tail = [rng.choice("0123456789") for _ in range(5)]
        if rng.random() < 0.35:  # many plates carry a letter or two among the digits
            for k in rng.sample(range(5), rng.choice((1, 1, 2))):
                tail[k] = rng.choice(_CN_LETTERS)
        return f"{rng.choice(CN_PROVINCES)}{rng.choice(_CN_LETTERS)}·{''.join(tail)}"
    province = rng.choice(_VN_CODES)
    digits = f"{rng.randrange(0, 1000):03d}.{rng.randrange(0, 100):02d}"
    if two_line:
        return f"{province}{rng.choice(_VN_SERIES)}{rng.randrange(1, 10)}-{digits}"
    series = rng.choice(_VN_SERIES) + (rng.choice(_VN_SERIES) if rng.random() < 0.15 else "")
    return f"{province}{series}-{digits}"


def container_text(rng: random.Random) -> str:
    """A random ISO 6346 code with its right check digit."""
    owner = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
    head = f"{owner}{rng.choice('UUUUJZ')}{rng.randrange(0, 1_000_000):06d}"
    return head + str(iso6346_check_digit(head))


# ---------------------------------------------------------------- drawing helpers


def _text_mask(text: str, size: tuple[int, int], mono: bool = False) -> np.ndarray:
    """`text` stretched to fill `size` (w, h) as a float mask in 0..1: plate fonts are
    condensed, so the glyphs are drawn tight and then resized to the box."""
    font = _font(7 if mono else 2)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (int(right - left) + 8, int(bottom - top) + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255)
    w, h = max(1, size[0]), max(1, size[1])
    return cv2.resize(np.asarray(canvas), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _blend(img: np.ndarray, mask: np.ndarray, x: int, y: int, colour: Sequence[int]) -> None:
    """Paint `colour` through `mask` at (x, y), clipped to the image."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, img.shape[1]), min(y + h, img.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = (region * (1 - m) + np.asarray(colour, np.float32) * m).astype(np.uint8)


def _text(img: np.ndarray, text: str, box: tuple[int, int, int, int], colour: Sequence[int], mono: bool = False) -> None:
    x, y, w, h = box
    _blend(img, _text_mask(text, (w, h), mono), x, y, colour)


def _glyph(img: np.ndarray, ch: str, cell: tuple[int, int, int, int], colour: Sequence[int], mono: bool = False) -> None:
    """One character filling the height of its cell, centred, no wider than the cell."""
    x, y, w, h = cell
    font = _font(7 if mono else 2)
    left, top, right, bottom = font.getbbox(ch)
    width = round((right - left) * h / max(1, bottom - top))
    if ch != "1":  # plate fonts are wider than the font's own letters and digits
        width = max(width, round(0.85 * w))
    width = min(w, max(4, width))
    _blend(img, _text_mask(ch, (width, h), mono), x + (w - width) // 2, y, colour)


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


# ---------------------------------------------------------------- plates


def render_plate(text: str, country: Country, two_line: bool, rng: random.Random) -> np.ndarray:
    """A flat, front-on plate (BGR), about 1 px per mm."""
    mono = rng.random() < 0.3
    if country == "china":
        plate = np.empty((140, 440, 3), np.uint8)
        plate[:] = _bgr((rng.randrange(0, 30), rng.randrange(50, 90), rng.randrange(160, 215)))
        cv2.rectangle(plate, (6, 6), (433, 133), (235, 235, 235), 3, cv2.LINE_AA)
        # seven 45×90 mm character cells, 12 mm apart, a dot in the wider gap after two
        x = 15
        for k, ch in enumerate(text.replace("·", "")):
            _glyph(plate, ch, (x, 25, 45, 90), (245, 245, 245), mono)
            x += 45 + (34 if k == 1 else 12)
        _blend(plate, np.ones((10, 10), np.float32), 15 + 2 * 45 + 12 + 12, 66, (245, 245, 245))
        return plate
    background = _bgr((245, 206, 40)) if rng.random() < 0.4 else (238, 240, 240)  # yellow: commercial
    ink = (20, 20, 20)
    if two_line:
        plate = np.empty((165, 330, 3), np.uint8)
        plate[:] = background
        cv2.rectangle(plate, (5, 5), (324, 159), ink, 4, cv2.LINE_AA)
        head, digits = text.split("-")
        top = f"{head[:2]}-{head[2:]}"
        _text(plate, top, (58, 16, 214, 62), ink, mono)
        _text(plate, digits, (30, 90, 270, 62), ink, mono)
        return plate
    plate = np.empty((110, 520, 3), np.uint8)
    plate[:] = background
    cv2.rectangle(plate, (5, 5), (514, 104), ink, 4, cv2.LINE_AA)
    _text(plate, text, (24, 16, 472, 78), ink, mono)
    return plate


def _paste(scene: np.ndarray, patch: np.ndarray, centre: tuple[float, float], width: float, rng: random.Random, tilt: float, skew: float) -> tuple[int, int, int, int]:
    """Warp `patch` into `scene`: `width` px wide at `centre`, rotated up to `tilt`
    degrees and its corners moved up to `skew` of its width (perspective)."""
    scale = width / patch.shape[1]
    small = cv2.resize(patch, (max(2, round(patch.shape[1] * scale)), max(2, round(patch.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    angle = math.radians(rng.uniform(-tilt, tilt))
    ca, sa = math.cos(angle), math.sin(angle)
    # a yaw (one side shorter) and independent corner jitter make the perspective
    yaw = rng.uniform(-skew, skew) * h
    corners = [(-w / 2, -h / 2 - yaw), (w / 2, -h / 2 + yaw), (w / 2, h / 2 - yaw), (-w / 2, h / 2 + yaw)]
    dst = []
    for cx, cy in corners:
        cx += rng.uniform(-skew, skew) * w * 0.3
        cy += rng.uniform(-skew, skew) * w * 0.3
        dst.append((centre[0] + cx * ca - cy * sa, centre[1] + cx * sa + cy * ca))
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    warped = cv2.warpPerspective(small, matrix, (scene.shape[1], scene.shape[0]), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (scene.shape[1], scene.shape[0]), flags=cv2.INTER_LINEAR)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    scene[:] = (scene * (1 - alpha) + warped * alpha).astype(np.uint8)
    xs, ys = [p[0] for p in dst], [p[1] for p in dst]
    return round(min(xs)), round(min(ys)), round(max(xs) - min(xs)), round(max(ys) - min(ys))


# ---------------------------------------------------------------- scenes


def _background(rng: random.Random) -> np.ndarray:
    """Sky, hills, buildings and the road: the checkpoint behind the truck."""
    img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    horizon = rng.randrange(180, 320)
    sky_top, sky_low = np.array(_bgr((rng.randrange(90, 160), rng.randrange(150, 200), rng.randrange(200, 250)))), np.array((235, 230, 225))
    t = np.linspace(0, 1, horizon)[:, None, None]
    img[:horizon] = (sky_top * (1 - t) + sky_low * t).astype(np.uint8)
    road = rng.randrange(70, 120)
    img[horizon:] = road
    for _ in range(rng.randrange(2, 6)):  # buildings of the yard
        x, w, h = rng.randrange(-100, WIDTH), rng.randrange(120, 400), rng.randrange(60, 200)
        cv2.rectangle(img, (x, horizon - h), (x + w, horizon), tuple(rng.randrange(90, 230) for _ in range(3)), -1)
        for wx in range(x + 15, x + w - 20, 40):  # windows
            cv2.rectangle(img, (wx, horizon - h + 20), (wx + 18, horizon - h + 40), (60, 60, 60), -1)
    for x in range(rng.randrange(0, 200), WIDTH, rng.randrange(160, 320)):  # lane marks
        cv2.line(img, (x, HEIGHT - 30), (x + 90, HEIGHT - 60), (220, 220, 220), 8, cv2.LINE_AA)
    if rng.random() < 0.7:  # a sign board with text
        x, y = rng.randrange(0, WIDTH - 360), rng.randrange(10, max(11, horizon - 110))
        board = _bgr((20, 90, 40)) if rng.random() < 0.5 else _bgr((30, 60, 160))
        cv2.rectangle(img, (x, y), (x + 340, y + 90), board, -1)
        _text(img, rng.choice(["CUA KHAU HUU NGHI", "友谊关口岸", "LANG SON", "TAN THANH", "凭祥", "STOP 停"]), (x + 12, y + 12, 316, 40), (245, 245, 245))
        _text(img, rng.choice(["LANE 3", "CONTAINER", "货车通道", "KIEM TRA"]), (x + 60, y + 58, 220, 24), (245, 245, 245))
    return img


def _truck(img: np.ndarray, rng: random.Random, plate_w: int, plate_h: int) -> tuple[float, float]:
    """A truck front (cab, windscreen, grille, lights, bumper, maker's name); returns
    where on its bumper the plate goes."""
    w = rng.randrange(max(520, plate_w * 2 + 80), 980)
    h = int(w * rng.uniform(0.75, 0.95))
    x = rng.randrange(-w // 5, WIDTH - 4 * w // 5)
    y = rng.randrange(-h // 3, HEIGHT - h + 20)
    body = rng.choice([(180, 40, 30), (30, 30, 170), (235, 235, 235), (20, 140, 230), (40, 110, 40), (60, 60, 60), (200, 130, 40)])
    cv2.rectangle(img, (x, y), (x + w, y + h), body, -1)
    cv2.rectangle(img, (x + w // 10, y + h // 12), (x + 9 * w // 10, y + 2 * h // 5), (50, 45, 40), -1)  # windscreen
    cv2.line(img, (x + w // 2, y + h // 12), (x + w // 2, y + 2 * h // 5), (30, 30, 30), 6)
    gy0, gy1 = y + 47 * h // 100, y + 70 * h // 100
    for gy in range(gy0, gy1, max(6, h // 40)):  # grille bars
        cv2.line(img, (x + w // 4, gy), (x + 3 * w // 4, gy), (30, 30, 30) if rng.random() < 0.8 else (190, 190, 190), 3)
    for lx in (x + w // 12, x + 11 * w // 12 - w // 7):  # headlights
        cv2.rectangle(img, (lx, gy0), (lx + w // 7, gy0 + h // 12), (220, 230, 235), -1)
        cv2.rectangle(img, (lx, gy0 + h // 12 + 6), (lx + w // 14, gy0 + h // 12 + 20), (20, 120, 240), -1)
    maker = rng.choice(["HOWO", "DONGFENG", "HINO", "THACO", "ISUZU", "FAW", "CHENGLONG", "SHACMAN", "解放", "东风"])
    _text(img, maker, (x + w // 3, y + 42 * h // 100 - h // 30, w // 3, h // 22), (240, 240, 240) if sum(body) < 500 else (40, 40, 40))
    bumper_y = y + 76 * h // 100
    cv2.rectangle(img, (x, bumper_y), (x + w, bumper_y + max(plate_h + 30, h // 6)), (45, 45, 45), -1)
    cx = x + w / 2 + rng.uniform(-0.2, 0.2) * w
    return cx, bumper_y + max(plate_h + 30, h // 6) / 2


def _container_door(img: np.ndarray, rng: random.Random, code: str) -> tuple[int, int, int, int]:
    """A container's doors filling most of the frame, the code painted on the right leaf."""
    colour = rng.choice([(40, 40, 170), (150, 80, 20), (40, 110, 40), (160, 160, 160), (30, 100, 200), (60, 60, 60), (20, 20, 120)])
    x0, y0 = rng.randrange(-80, 120), rng.randrange(-60, 60)
    x1, y1 = rng.randrange(WIDTH - 120, WIDTH + 80), rng.randrange(HEIGHT - 60, HEIGHT + 60)
    cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
    step = rng.randrange(24, 40)
    for cx in range(x0, x1, step):  # corrugation: light and dark stripes
        shade = tuple(min(255, c + 25) for c in colour)
        cv2.rectangle(img, (cx, y0), (cx + step // 3, y1), shade, -1)
    mid = (x0 + x1) // 2
    cv2.line(img, (mid, y0), (mid, y1), (25, 25, 25), 5)
    for rx in (x0 + (mid - x0) // 3, x0 + 2 * (mid - x0) // 3, mid + (x1 - mid) // 3, mid + 2 * (x1 - mid) // 3):  # locking rods
        cv2.line(img, (rx, y0), (rx, y1), (200, 200, 200), 7)
    ink = (245, 245, 245) if sum(colour) < 450 else (20, 20, 20)
    letter_h = rng.randrange(30, 56)
    cw = int(letter_h * 0.62)
    tx = rng.randrange(mid + 20, max(mid + 21, x1 - 15 * cw - 20))
    ty = rng.randrange(max(30, y0 + 30), HEIGHT // 2)
    owner, serial, check = code[:4], code[4:10], code[10]
    # the markings sit on a panel between the rods and the rails, clear of them
    total_w = 4 * cw + cw + 6 * cw + cw + int(cw * 1.4)
    cv2.rectangle(img, (tx - 24, ty - letter_h // 2 - 10), (tx + total_w + 24, ty + 2 * letter_h + 20 + letter_h // 2), colour, -1)
    _text(img, f"{owner} {serial}", (tx, ty, 11 * cw, letter_h), ink)  # one scale for both groups
    bx = tx + 12 * cw
    cv2.rectangle(img, (bx - 4, ty - 5), (bx + int(cw * 1.4), ty + letter_h + 5), ink, 2, cv2.LINE_AA)
    _text(img, check, (bx + cw // 5, ty, cw, letter_h), ink)
    _text(img, rng.choice(["45G1", "22G1", "42G1", "45R1", "22T1"]), (tx, ty + letter_h + 20, 4 * cw, int(letter_h * 0.8)), ink)
    # weights stencilled on the left leaf
    lx = x0 + 60 if x0 + 60 < mid - 300 else mid - 300
    for k, line in enumerate(["MAX GROSS 30480 KG", "TARE 3750 KG", "NET 26730 KG"]):
        _text(img, line, (lx, HEIGHT // 2 + k * 40, 260, 24), ink)
    return tx, ty - 5, bx + int(cw * 1.4) - tx, letter_h + 10


def _degrade(img: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """Low light, blur and sensor noise, each at random."""
    out = img.astype(np.float32)
    if rng.random() < 0.3:  # dusk or night: darker, with a light fall-off across the frame
        gain = rng.uniform(0.3, 0.55)
        xs = np.linspace(-1, 1, WIDTH)[None, :]
        ys = np.linspace(-1, 1, HEIGHT)[:, None]
        fall = 1 - 0.35 * (xs**2 + ys**2) / 2
        out *= (gain * fall)[..., None]
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            sigma = rng.uniform(0.6, 1.6)
            out = cv2.GaussianBlur(out, (0, 0), sigma).astype(np.float32)
        else:  # motion blur along the truck's travel
            n = rng.randrange(3, 8)
            kernel = np.zeros((n, n), np.float32)
            kernel[n // 2, :] = 1.0 / n
            out = cv2.filter2D(out, -1, kernel).astype(np.float32)
    if rng.random() < 0.6:
        out += nrng.normal(0, rng.uniform(2, 12), out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def plate_scene(country: Country, rng: random.Random, two_line: bool = False, text: str | None = None) -> Scene:
    """A truck carrying a plate of `country` (random, or `text` in canonical form) in a
    1280×720 frame."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    if text is None:
        text = plate_text(country, rng, two_line)
    elif normalise_plate(text) != text or country_of(text) != country or (two_line and not re.match(r"^\d\d[A-Z]\d-\d{3}\.\d\d$", text)):
        raise ValueError(f"text: {text!r} is no canonical {'two-line ' if two_line else ''}plate of {country}")
    plate = render_plate(text, country, two_line, rng)
    img = _background(rng)
    aspect = plate.shape[1] / plate.shape[0]
    width = rng.uniform(120, 230) if two_line else rng.uniform(160, 340)
    cx, cy = _truck(img, rng, int(width), int(width / aspect))
    margin_x, margin_y = width * 0.6 + 10, width / aspect * 0.6 + width * 0.15 + 10  # room for tilt
    centre = (min(max(cx, margin_x), WIDTH - margin_x), min(max(cy, margin_y), HEIGHT - margin_y))
    hard = rng.random() < 0.4
    bbox = _paste(img, plate, centre, width, rng, tilt=9 if hard else 3, skew=0.12 if hard else 0.04)
    return Scene(_degrade(img, rng, nrng), "plate", country, text, "two_line" if two_line else "one_line", bbox)


def container_scene(rng: random.Random, code: str | None = None) -> Scene:
    """A container door with an ISO 6346 code (random, or `code`: four letters and
    seven digits, its check digit right or not) in a 1280×720 frame."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    if code is None:
        code = container_text(rng)
    elif not re.match(r"^[A-Z]{4}\d{7}$", code):
        raise ValueError(f"code: {code!r} is not four letters and seven digits")
    img = _background(rng)
    bbox = _container_door(img, rng, code)
    return Scene(_degrade(img, rng, nrng), "container", "", code, "container", bbox)


def _scene_rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")  # string seeds hash the same in every process


def plate_scenes(count: int, seed: int) -> Iterator[Scene]:
    """`count` plate scenes alternating Vietnam and China; every third Vietnamese plate
    is a two-line one."""
    for i in range(count):
        rng = _scene_rng(seed, "plate", i)
        if i % 2 == 0:
            yield plate_scene("vietnam", rng, two_line=(i // 2) % 3 == 2)
        else:
            yield plate_scene("china", rng)


def container_scenes(count: int, seed: int) -> Iterator[Scene]:
    for i in range(count):
        yield container_scene(_scene_rng(seed, "container", i))


def write_set(out: Path, count: int, seed: int, containers: int = 0) -> Path:
    """Write the scenes as JPEG files (as a camera would send them) and labels.csv."""
    out.mkdir(parents=True, exist_ok=True)
    labels = out / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "kind", "country", "text", "layout"])
        for name, scenes in (("plate", plate_scenes(count, seed)), ("container", container_scenes(containers, seed))):
            for i, scene in enumerate(scenes):
                file = f"{name}_{i:04d}.jpg"
                if not cv2.imwrite(str(out / file), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
                    raise OSError(f"{out / file}: could not be written")
                writer.writerow([file, scene.kind, scene.country, scene.text, scene.layout])
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware_bridge.plate_scenes", description="Write labelled synthetic plate and container-code frames.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the images and labels.csv")
    parser.add_argument("--count", type=int, default=300, help="plate scenes, half Vietnamese, half Chinese (default 300)")
    parser.add_argument("--containers", type=int, default=0, help="container-door scenes besides (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)  # bad flags: argparse prints the reason and exits 2
    if args.count < 0 or args.containers < 0:
        parser.error("--count and --containers must be 0 or more")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: exists and is not a folder")
    try:
        labels = write_set(args.out, args.count, args.seed, args.containers)
    except (FontMissing, OSError) as e:
        print(f"plate_scenes: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.count} plate and {args.containers} container scenes, labels in {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
