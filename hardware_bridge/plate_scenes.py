"""Synthetic labelled camera frames: licence plates on trucks and container codes on doors.

Every frame is 1280×720, drawn with OpenCV and Pillow and the Noto CJK fonts of Debian's
fonts-noto-cjk (cv2.putText has no CJK glyphs). A plate scene is a truck's front (or its
rear, for two-line plates and trailers) with a grille, lights, a maker's name and a road
sign as clutter; a container scene is a corrugated door with its ISO 6346 code.

Formats (`format` in the labels; the text is always the canonical form that
`controllers.codes.normalise_plate` or `container_code` gives back unchanged):

- Vietnamese, one line (520×110 mm) or two lines (330×165 mm, "12C" or "12-C1" over
  "123.45"), white (private), yellow (commercial) or blue (state): `vn_5digit`
  "12C-123.45" (and "12C1-123.45", the "12-C1" two-line plate), `vn_4digit` "12C-1234",
  `vn_trailer` "12R-123.45", `vn_2letter` "29LD-123.45";
- Chinese (GA 36): `cn_blue` "桂A·12345"; `cn_yellow` the same on yellow, one line at
  the front or two lines (440×220 mm, "桂 A" over "12345") at the rear; `cn_new_energy`
  "桂A·D12345" (gradient green) and "桂A·12345D" (yellow-green); `cn_trailer` "桂A·1234挂";
  `cn_special` learner "桂A·1234学", police "桂A·1234警" (警 red) and the Hong Kong and
  Macau cross-border "粤Z·1234港" / "粤Z·1234澳" (black);
- ISO 6346 codes: `iso6346_horizontal` "CGXU 123456" with the check digit boxed and the
  size/type code under it, small or large; `iso6346_vertical`, one upright character a
  row down a door post, the check digit boxed at the bottom.

Each scene of a set has one primary condition (`CONDITIONS`: clean, tilt, perspective,
motion_blur, gaussian_blur, noise, jpeg_low, night, overexposed, mud, rain, far) plus mild
random jitter; the plate stays readable to a person in all of them. Formats and
conditions are cycled, so every pair comes up within a few hundred scenes.

Named sets: `development` (seed 1, the standard look) to tune a reader on, and `test`
(seed 2, the wide look: more font faces, wider ranges of size, tilt and colour) to report
on. Scene `i` of a set depends only on the seed, the kind and `i`, so a set of any size
starts with the same frames. The same seed gives byte-identical images.

    python -m hardware_bridge.plate_scenes --out DIR --set development|test [--count 300] [--containers 40]
    python -m hardware_bridge.plate_scenes --out DIR --seed 7 [--variety standard|wide]

writes DIR/plate_0000.jpg ..., DIR/container_0000.jpg ... and DIR/labels.csv
(file, kind, country, text, layout, format, colour, condition).

`plate_scenes(count, seed)` and `container_scenes(count, seed)` without a variety give the
basic mix the reader's regression tests use (Vietnamese one-line and "12-C1" two-line
plates and blue Chinese plates, small horizontal codes, mildly degraded at random).
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

from controllers.codes import CN_PROVINCES, iso6346_check_digit, normalise_plate, plate_format
from controllers.identifiers import VN_PROVINCES

WIDTH, HEIGHT = 1280, 720
Country = Literal["vietnam", "china"]
Layout = Literal["one_line", "two_line", "vertical", "horizontal"]
Variety = Literal["basic", "standard", "wide"]
Rect = tuple[int, int, int, int]
BGR = tuple[int, int, int]

CONDITIONS = ("clean", "tilt", "perspective", "motion_blur", "gaussian_blur", "noise", "jpeg_low", "night", "overexposed", "mud", "rain", "far")
PLATE_FORMATS: dict[Country, tuple[str, ...]] = {
    "vietnam": ("vn_5digit", "vn_4digit", "vn_trailer", "vn_2letter"),
    "china": ("cn_blue", "cn_yellow", "cn_new_energy", "cn_trailer", "cn_special"),
}
CONTAINER_FORMATS = ("iso6346_horizontal", "iso6346_vertical")
# the layouts each format is rendered in (the first is the usual one)
LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "vn_5digit": ("one_line", "two_line"),
    "vn_4digit": ("one_line", "two_line"),
    "vn_trailer": ("one_line", "two_line"),
    "vn_2letter": ("one_line", "two_line"),
    "cn_blue": ("one_line",),
    "cn_yellow": ("two_line", "one_line"),
    "cn_new_energy": ("one_line",),
    "cn_trailer": ("two_line", "one_line"),
    "cn_special": ("one_line",),
    "iso6346_horizontal": ("horizontal",),
    "iso6346_vertical": ("vertical",),
}


@dataclass(frozen=True, slots=True)
class SetSpec:
    seed: int
    variety: Variety


SETS: dict[str, SetSpec] = {"development": SetSpec(1, "standard"), "test": SetSpec(2, "wide")}

# Vietnamese province codes seen at Lạng Sơn besides the twin's own (northern provinces).
_VN_CODES = tuple(dict.fromkeys(VN_PROVINCES + ("11", "17", "19", "21", "22", "24", "26", "27", "28", "34", "88", "99")))
_VN_SERIES = "ABCDEFGHKLMNPSTUVXYZ"  # letters Vietnamese plates use (no I, J, O, Q, R, W; R is for trailers)
_VN_PAIRS = ("LD", "KT", "DA", "NN", "NG", "QT", "HC", "TD", "MK", "CD")
_CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # Chinese plates leave out I and O
_FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/**/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/**/NotoSansCJK*.ttc",
)
# face name: (file beside the bold collection, index); index 2 is Simplified Chinese, 7 its monospaced twin
_FACES = {
    "sans": ("NotoSansCJK-Bold.ttc", 2),
    "mono": ("NotoSansCJK-Bold.ttc", 7),
    "sans_regular": ("NotoSansCJK-Regular.ttc", 2),
    "mono_regular": ("NotoSansCJK-Regular.ttc", 7),
}

# plate colours, RGB
_WHITE, _BLACK, _INK = (238, 240, 240), (16, 16, 16), (20, 20, 20)
_VN_YELLOW, _VN_BLUE = (245, 206, 40), (28, 70, 165)
_CN_YELLOW, _CN_RED, _NE_GREEN, _NE_LIGHT = (250, 196, 24), (205, 25, 25), (70, 190, 100), (235, 248, 238)


class FontMissing(FileNotFoundError):
    """The Noto CJK fonts are not installed."""


@dataclass(frozen=True, slots=True)
class Scene:
    image: np.ndarray  # BGR, HEIGHT×WIDTH×3, uint8
    kind: Literal["plate", "container"]
    country: Country | Literal[""]  # "" for containers
    text: str  # the canonical plate or the container code
    layout: Layout
    bbox: Rect  # x, y, w, h of the plate or code in the frame
    format: str = ""
    colour: str = ""  # the plate's colour, or the door's paint
    condition: str = ""  # one of CONDITIONS, or "mild" in the basic mix


@dataclass(frozen=True, slots=True)
class _Look:
    """How far a variety spreads what is drawn around each condition."""

    faces: tuple[tuple[str, float], ...]  # (face, weight)
    size: tuple[float, float]  # factor on each layout's range of plate widths
    tilt_jitter: float  # degrees, every scene
    skew_jitter: float
    colour_jitter: int  # ± per channel of the plate's colours
    harder: float  # 1: the standard range of each condition; more stretches its hard end


_LOOKS: dict[Variety, _Look] = {
    "basic": _Look((("sans", 0.7), ("mono", 0.3)), (1.0, 1.0), 3.0, 0.04, 6, 1.0),
    "standard": _Look((("sans", 1.0),), (1.0, 1.0), 3.0, 0.04, 8, 1.0),
    "wide": _Look((("sans", 0.45), ("mono", 0.3), ("sans_regular", 0.15), ("mono_regular", 0.1)), (0.8, 1.2), 5.0, 0.07, 22, 1.2),
}


# ---------------------------------------------------------------- fonts


@lru_cache(maxsize=1)
def font_path() -> str:
    for pattern in _FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    raise FontMissing("Noto Sans CJK not found under /usr/share/fonts: install Debian's fonts-noto-cjk (.ci/run does it)")


@lru_cache(maxsize=1)
def installed_faces() -> tuple[str, ...]:
    """The faces of _FACES whose collection is installed beside the bold one."""
    folder = Path(font_path()).parent
    return tuple(name for name, (file, _) in _FACES.items() if (folder / file).exists() or name in ("sans", "mono"))


@lru_cache(maxsize=8)
def _font(face: str) -> ImageFont.FreeTypeFont:
    file, index = _FACES[face]
    path = Path(font_path()).parent / file
    return ImageFont.truetype(str(path if path.exists() else font_path()), 96, index=index)


def _pick_face(look: _Look, rng: random.Random) -> str:
    faces = [(f, w) for f, w in look.faces if f in installed_faces()]
    return rng.choices([f for f, _ in faces], [w for _, w in faces])[0]


# ---------------------------------------------------------------- texts


def _province(rng: random.Random) -> str:
    # most Chinese trucks at Hữu Nghị come from Guangxi
    return "桂" if rng.random() < 0.4 else rng.choice(CN_PROVINCES)


def _cn_tail(rng: random.Random, n: int, letters: float) -> str:
    tail = [rng.choice("0123456789") for _ in range(n)]
    if rng.random() < letters:  # many plates carry a letter or two among the digits
        for k in rng.sample(range(n), rng.choice((1, 1, 2))):
            tail[k] = rng.choice(_CN_LETTERS)
    return "".join(tail)


def plate_text(country: Country, rng: random.Random, two_line: bool = False, format: str | None = None) -> str:
    """A random valid plate of `format` (of PLATE_FORMATS) in its canonical form; without
    a format, a Vietnamese one-line plate ("12-C1" series when two_line) or a blue
    Chinese one."""
    if format is None:
        format = "cn_blue" if country == "china" else "vn_5digit"
        if country == "vietnam" and not two_line and rng.random() < 0.15:
            format = "vn_2letter"
    if format not in PLATE_FORMATS[country]:
        raise ValueError(f"format: {format!r} is no plate format of {country} (one of {', '.join(PLATE_FORMATS[country])})")
    if country == "china":
        head = f"{_province(rng)}{rng.choice(_CN_LETTERS)}·"
        if format == "cn_blue":
            return head + _cn_tail(rng, 5, 0.35)
        if format == "cn_yellow":
            return head + _cn_tail(rng, 5, 0.15)
        if format == "cn_new_energy":
            if rng.random() < 0.5:  # small car: D (electric) or F (hybrid) first
                return head + rng.choice("DF") + rng.choice(_CN_LETTERS + "0123456789" * 3) + _cn_tail(rng, 4, 0)
            return head + _cn_tail(rng, 5, 0) + rng.choice("DF")  # large vehicle: D or F last
        if format == "cn_trailer":
            return head + _cn_tail(rng, 4, 0.2) + "挂"
        kind = rng.randrange(3)
        if kind == 2:
            return "粤Z·" + _cn_tail(rng, 4, 0.1) + rng.choice("港澳")
        return head + _cn_tail(rng, 4, 0.1) + ("学" if kind == 0 else "警")
    province = rng.choice(_VN_CODES)
    digits = f"{rng.randrange(0, 1000):03d}.{rng.randrange(0, 100):02d}"
    if format == "vn_4digit":
        return f"{province}{rng.choice(_VN_SERIES)}-{rng.randrange(0, 10000):04d}"
    if format == "vn_trailer":
        return f"{province}R-{digits}"
    if format == "vn_2letter":
        pair = rng.choice(_VN_PAIRS) if rng.random() < 0.6 else rng.choice(_VN_SERIES) + rng.choice(_VN_SERIES)
        return f"{province}{pair}-{digits}"
    digit = str(rng.randrange(1, 10)) if two_line else ""
    return f"{province}{rng.choice(_VN_SERIES)}{digit}-{digits}"


def drawn_as(text: str) -> str | None:
    """The format a canonical plate is drawn in when none is asked for, or None where
    `text` is no canonical plate. The generator's formats are `controllers.codes`' told
    apart further by how a plate looks: a standard Chinese plate is drawn blue (cn_yellow
    on request), and of the plates with a character of use one ending with 挂 is a
    trailer's (cn_trailer), the others cn_special."""
    if normalise_plate(text) != text:
        return None
    found = plate_format(text)
    if found == "cn_standard":
        return "cn_blue"
    if found == "cn_use":
        return "cn_trailer" if text.endswith("挂") else "cn_special"
    return found


def container_text(rng: random.Random) -> str:
    """A random ISO 6346 code with its right check digit."""
    owner = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
    head = f"{owner}{rng.choice('UUUUJZ')}{rng.randrange(0, 1_000_000):06d}"
    return head + str(iso6346_check_digit(head))


# ---------------------------------------------------------------- drawing helpers


@lru_cache(maxsize=4096)
def _text_mask(text: str, size: tuple[int, int], face: str = "sans") -> np.ndarray:
    """`text` stretched to fill `size` (w, h) as a float mask in 0..1: plate fonts are
    condensed, so the glyphs are drawn tight and then resized to the box. Cached (and
    read-only): a plate is drawn at 1 px per mm, so the same cells recur."""
    font = _font(face)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (int(right - left) + 8, int(bottom - top) + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255)
    w, h = max(1, size[0]), max(1, size[1])
    mask = cv2.resize(np.asarray(canvas), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask.setflags(write=False)
    return mask


def _natural_width(text: str, height: int, face: str) -> float:
    left, top, right, bottom = _font(face).getbbox(text)
    return (right - left) * height / max(1, bottom - top)


def _blend(img: np.ndarray, mask: np.ndarray, x: int, y: int, colour: Sequence[float]) -> None:
    """Paint `colour` through `mask` at (x, y), clipped to the image."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, img.shape[1]), min(y + h, img.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = (region * (1 - m) + np.asarray(colour, np.float32) * m).astype(np.uint8)


def _text(img: np.ndarray, text: str, box: Rect, colour: Sequence[float], face: str = "sans") -> None:
    x, y, w, h = box
    _blend(img, _text_mask(text, (max(1, w), max(1, h)), face), x, y, colour)


def _glyph(img: np.ndarray, ch: str, cell: Rect, colour: Sequence[float], face: str = "sans") -> None:
    """One character filling the height of its cell, centred, no wider than the cell."""
    x, y, w, h = cell
    left, top, right, bottom = _font(face).getbbox(ch)
    width = round((right - left) * h / max(1, bottom - top))
    if ch != "1":  # plate fonts are wider than the font's own letters and digits
        width = max(width, round(0.85 * w))
    width = min(w, max(4, width))
    _blend(img, _text_mask(ch, (width, h), face), x + (w - width) // 2, y, colour)


def _bgr(rgb: Sequence[int]) -> BGR:
    return int(rgb[2]), int(rgb[1]), int(rgb[0])


def _jitter(rgb: Sequence[int], rng: random.Random, amount: int) -> BGR:
    """`rgb` as BGR, lighter or darker by up to `amount` and each channel apart by a
    third of that (paint, fading, white balance), so a white plate stays white."""
    common = rng.randint(-amount, amount)
    return _bgr([min(255, max(0, c + common + rng.randint(-amount // 3, amount // 3))) for c in rgb])


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    # standard normal noise drawn once, as 128 + 16·z in uint8: a fresh float field per
    # frame costs more than the rest of the frame; each frame takes its own window of it
    z = np.random.default_rng(6346).standard_normal((HEIGHT + 64, WIDTH + 64, 3), dtype=np.float32)
    tile = np.clip(128 + 16 * z, 0, 255).astype(np.uint8)
    tile.setflags(write=False)
    return tile


def _add_noise(img: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    """`img` (uint8, frame-sized) with gaussian sensor noise of `sigma` grey levels."""
    dy, dx = rng.randrange(64), rng.randrange(64)
    window = _noise_tile()[dy : dy + HEIGHT, dx : dx + WIDTH]
    return cv2.addWeighted(img, 1.0, window, sigma / 16, -128 * sigma / 16)


def _levels(img: np.ndarray, gain: float, offsets: Sequence[float]) -> np.ndarray:
    """`img` × gain + a per-channel offset, clipped, through a lookup table (cheap)."""
    table = np.clip(np.arange(256, dtype=np.float32)[:, None] * gain + np.asarray(offsets, np.float32)[None, :], 0, 255)
    return cv2.LUT(img, table.astype(np.uint8).reshape(256, 1, 3))


# ---------------------------------------------------------------- plates


@dataclass(slots=True)
class _Flat:
    image: np.ndarray  # BGR, front-on, 1 px per mm
    cells: list[Rect]  # where the characters are, so that mud never hides a whole one


def _chars(text: str) -> list[str]:
    return list(text.replace("·", ""))


def _vn_line(plate: np.ndarray, text: str, y: int, h: int, max_w: int, condensed: float, ink: BGR, face: str) -> list[Rect]:
    width = min(max_w, round(_natural_width(text, h, face) * condensed))
    x = (plate.shape[1] - width) // 2
    _text(plate, text, (x, y, width, h), ink, face)
    step = width / max(1, len(text))
    return [(round(x + k * step), y, max(1, round(step)), h) for k in range(len(text))]


def _vn_plate(text: str, layout: Layout, bg: BGR, ink: BGR, face: str) -> _Flat:
    if layout == "two_line":  # 330×165 mm
        plate = np.empty((165, 330, 3), np.uint8)
        plate[:] = bg
        cv2.rectangle(plate, (5, 5), (324, 159), ink, 4, cv2.LINE_AA)
        head, number = text.split("-")
        # "12C1" is the motorbike-style "12-C1"; "12C", "12R" and "29LD" stay whole
        top = f"{head[:2]}-{head[2:]}" if head[-1].isdigit() else head
        cells = _vn_line(plate, top, 16, 62, 230, 0.94, ink, face)
        cells += _vn_line(plate, number, 90, 62, 290, 0.98, ink, face)
        return _Flat(plate, cells)
    plate = np.empty((110, 520, 3), np.uint8)  # 520×110 mm
    plate[:] = bg
    cv2.rectangle(plate, (5, 5), (514, 104), ink, 4, cv2.LINE_AA)
    return _Flat(plate, _vn_line(plate, text, 16, 78, 480, 0.845, ink, face))


def _cn_one_line(text: str, bg: BGR | tuple[BGR, BGR], ink: BGR, rim: BGR, face: str, last_ink: BGR | None = None, split: bool = False) -> _Flat:
    """GA 36 one-line plates: seven 45×90 mm cells on 440×140 mm, 12 mm apart, a dot in
    the wider gap after two; eight 43×90 mm cells on 480×140 mm for new-energy plates.
    `bg` two colours: a top-to-bottom gradient, or with `split` the left two cells in
    the first and the rest in the second (large new-energy plates)."""
    chars = _chars(text)
    eight = len(chars) == 8
    width, cell, gap, wide_gap = (480, 43, 9, 51) if eight else (440, 45, 12, 34)
    plate = np.empty((140, width, 3), np.uint8)
    if isinstance(bg[0], tuple):
        top, bottom = np.asarray(bg[0], np.float32), np.asarray(bg[1], np.float32)
        if split:
            plate[:] = bottom.astype(np.uint8)
            plate[:, : 15 + 2 * cell + gap + wide_gap // 2] = top.astype(np.uint8)
        else:
            t = np.linspace(0, 1, 140, dtype=np.float32)[:, None, None] ** 1.5
            plate[:] = (top * (1 - t) + bottom * t).astype(np.uint8)
    else:
        plate[:] = bg
    cv2.rectangle(plate, (6, 6), (width - 7, 133), rim, 3, cv2.LINE_AA)
    x = (width - (len(chars) * cell + (len(chars) - 2) * gap + wide_gap)) // 2
    cells: list[Rect] = []
    for k, ch in enumerate(chars):
        colour = last_ink if (last_ink is not None and k == len(chars) - 1) else ink
        _glyph(plate, ch, (x, 25, cell, 90), colour, face)
        cells.append((x, 25, cell, 90))
        x += cell + (wide_gap if k == 1 else gap)
    dot_x = cells[1][0] + cell + wide_gap // 2 - 5
    _blend(plate, np.ones((10, 10), np.float32), dot_x, 66, ink)
    return _Flat(plate, cells)


def _cn_two_line(text: str, bg: BGR, ink: BGR, face: str, dot: bool) -> _Flat:
    """GA 36 two-line plates, 440×220 mm: province and letter in 80×60 mm cells on top,
    the five others in 65×110 mm cells below."""
    chars = _chars(text)
    plate = np.empty((220, 440, 3), np.uint8)
    plate[:] = bg
    cv2.rectangle(plate, (6, 6), (433, 213), ink, 3, cv2.LINE_AA)
    cells = [(110, 15, 80, 60), (250, 15, 80, 60)]
    for ch, c in zip(chars[:2], cells):
        _glyph(plate, ch, c, ink, face)
    if dot:
        _blend(plate, np.ones((9, 9), np.float32), 215, 41, ink)
    x = 27
    for ch in chars[2:]:
        _glyph(plate, ch, (x, 92, 65, 110), ink, face)
        cells.append((x, 92, 65, 110))
        x += 80
    return _Flat(plate, cells)


def _colour_of(format: str, text: str, rng: random.Random) -> str:
    """A plate colour for the format, drawn as often as the lane sees it."""
    if format.startswith("vn_"):
        weights = {"vn_5digit": (35, 50, 15), "vn_4digit": (50, 35, 15), "vn_trailer": (30, 70, 0), "vn_2letter": (45, 35, 20)}[format]
        return rng.choices(("white", "yellow", "blue"), weights)[0]
    if format == "cn_new_energy":
        return "yellow_green" if text[-1] in "DF" else "green"
    if format == "cn_special":
        return {"学": "yellow", "警": "white", "港": "black", "澳": "black"}[text[-1]]
    return {"cn_blue": "blue", "cn_yellow": "yellow", "cn_trailer": "yellow"}[format]


def render_plate(text: str, format: str, layout: Layout, colour: str, rng: random.Random, face: str = "sans", jitter: int = 8) -> _Flat:
    """A flat, front-on plate (BGR), about 1 px per mm."""
    if format.startswith("vn_"):
        bg_rgb, ink_rgb = {"white": (_WHITE, _INK), "yellow": (_VN_YELLOW, _INK), "blue": (_VN_BLUE, (245, 245, 245))}[colour]
        return _vn_plate(text, layout, _jitter(bg_rgb, rng, jitter), _jitter(ink_rgb, rng, 6), face)
    dark = _jitter(_INK, rng, 6)
    light = _jitter((245, 245, 245), rng, 6)
    if colour == "blue":
        bg = _bgr((rng.randrange(0, 30), rng.randrange(50, 90), rng.randrange(160, 215)))
        return _cn_one_line(text, _jitter(_rgb(bg), rng, jitter // 2), light, light, face)
    if layout == "two_line":
        return _cn_two_line(text, _jitter(_CN_YELLOW, rng, jitter), dark, face, dot=rng.random() < 0.5)
    if colour == "yellow":
        return _cn_one_line(text, _jitter(_CN_YELLOW, rng, jitter), dark, dark, face)
    if colour == "green":
        return _cn_one_line(text, (_jitter(_NE_LIGHT, rng, jitter // 2), _jitter(_NE_GREEN, rng, jitter)), dark, dark, face)
    if colour == "yellow_green":
        return _cn_one_line(text, (_jitter(_CN_YELLOW, rng, jitter), _jitter(_NE_GREEN, rng, jitter)), dark, dark, face, split=True)
    if colour == "white":  # police: black characters, 警 red
        return _cn_one_line(text, _jitter(_WHITE, rng, jitter // 2), dark, dark, face, last_ink=_jitter(_CN_RED, rng, 10))
    return _cn_one_line(text, _jitter((12, 12, 12), rng, 6), light, light, face)  # black: Hong Kong and Macau


def _rgb(bgr: BGR) -> tuple[int, int, int]:
    return bgr[2], bgr[1], bgr[0]


def _mud(img: np.ndarray, cells: Sequence[Rect], rng: random.Random) -> None:
    """Brown blotches partly over some characters and spatter round them. A blotch is at
    most 0.6 of a character's height across and at most one lies on a character, so none
    is hidden whole."""
    if not cells:
        return
    char_h = min(c[3] for c in cells)
    h, w = img.shape[:2]
    layer: np.ndarray = np.zeros((h, w), np.float32)
    for k in rng.sample(range(len(cells)), min(len(cells), rng.randint(2, 4))):
        x, y, cw, ch = cells[k]
        cx, cy = x + rng.uniform(0.1, 0.9) * cw, y + rng.choice((rng.uniform(0.05, 0.35), rng.uniform(0.65, 0.95))) * ch
        axes = (max(2, round(rng.uniform(0.18, 0.3) * char_h)), max(2, round(rng.uniform(0.12, 0.26) * char_h)))
        cv2.ellipse(layer, (round(cx), round(cy)), axes, rng.uniform(0, 180), 0, 360, rng.uniform(0.5, 0.8), -1, cv2.LINE_AA)
    for _ in range(rng.randint(15, 45)):  # spatter, heaviest along the bottom edge
        cx, cy = rng.uniform(0, w), h * (1 - rng.random() ** 2)
        cv2.circle(layer, (round(cx), round(cy)), rng.randint(1, max(2, char_h // 14)), rng.uniform(0.3, 0.7), -1, cv2.LINE_AA)
    layer = cv2.GaussianBlur(layer, (0, 0), max(0.8, char_h / 50))
    layer[int(h * 0.85) :] = np.maximum(layer[int(h * 0.85) :], rng.uniform(0.15, 0.35))  # grime on the bottom rim
    brown = np.asarray(_bgr((rng.randrange(95, 140), rng.randrange(70, 95), rng.randrange(35, 60))), np.float32)
    img[:] = (img * (1 - layer[..., None]) + brown * layer[..., None]).astype(np.uint8)


def _paste(scene: np.ndarray, patch: np.ndarray, centre: tuple[float, float], width: float, rng: random.Random,
           angle: float, yaw: float = 0.0, pitch: float = 0.0, jitter: float = 0.04) -> Rect:
    """Warp `patch` into `scene`: `width` px wide at `centre`, rotated `angle` degrees, seen
    from the side (`yaw`: the far edge shorter by that share) and from above (`pitch`:
    the top edge narrower), its corners moved up to `jitter` of its width. The plate is
    kept whole inside the frame; its bounding box comes back."""
    scale = width / patch.shape[1]
    small = cv2.resize(patch, (max(2, round(patch.shape[1] * scale)), max(2, round(patch.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    a = math.radians(angle)
    ca, sa = math.cos(a), math.sin(a)
    left, right = h / 2 * (1 - max(0.0, yaw)), h / 2 * (1 - max(0.0, -yaw))
    half_w = w / 2 * (1 - 0.4 * abs(yaw))  # turned away, the plate is also narrower
    top_w = half_w * (1 - pitch)
    corners = [(-top_w, -left), (top_w, -right), (half_w, right), (-half_w, left)]
    dst = []
    for cx, cy in corners:
        cx += rng.uniform(-jitter, jitter) * w * 0.3
        cy += rng.uniform(-jitter, jitter) * w * 0.3
        dst.append((centre[0] + cx * ca - cy * sa, centre[1] + cx * sa + cy * ca))
    xs, ys = [p[0] for p in dst], [p[1] for p in dst]
    # shift back inside the frame whatever the tilt made stick out
    dx = max(0.0, 2 - min(xs)) - max(0.0, max(xs) - (scene.shape[1] - 3))
    dy = max(0.0, 2 - min(ys)) - max(0.0, max(ys) - (scene.shape[0] - 3))
    dst = [(x + dx, y + dy) for x, y in dst]
    x0, y0 = max(0, math.floor(min(p[0] for p in dst))), max(0, math.floor(min(p[1] for p in dst)))
    x1, y1 = min(scene.shape[1], math.ceil(max(p[0] for p in dst)) + 1), min(scene.shape[0], math.ceil(max(p[1] for p in dst)) + 1)
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, np.array([(x - x0, y - y0) for x, y in dst], np.float32))
    size = (x1 - x0, y1 - y0)  # warp into the plate's own region only: much cheaper than the frame
    warped = cv2.warpPerspective(small, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size, flags=cv2.INTER_LINEAR)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    region = scene[y0:y1, x0:x1]
    region[:] = (region * (1 - alpha) + warped * alpha).astype(np.uint8)
    bx0, by0 = max(0, round(min(p[0] for p in dst))), max(0, round(min(p[1] for p in dst)))
    bx1, by1 = min(scene.shape[1], round(max(p[0] for p in dst))), min(scene.shape[0], round(max(p[1] for p in dst)))
    return bx0, by0, bx1 - bx0, by1 - by0


# ---------------------------------------------------------------- scenes


def _background(rng: random.Random, size: tuple[int, int] = (WIDTH, HEIGHT), origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Sky, hills, buildings and the road: the checkpoint behind the truck. `size` is the
    canvas, `origin` where the frame's top left lies on it."""
    cw, ch = size
    ox, oy = origin
    img = np.empty((ch, cw, 3), np.uint8)
    horizon = oy + rng.randrange(180, 320)
    sky_top, sky_low = np.array(_bgr((rng.randrange(90, 160), rng.randrange(150, 200), rng.randrange(200, 250)))), np.array((235, 230, 225))
    t = np.linspace(0, 1, horizon)[:, None, None]
    img[:horizon] = (sky_top * (1 - t) + sky_low * t).astype(np.uint8)
    road = rng.randrange(70, 120)
    img[horizon:] = road
    for _ in range(rng.randrange(2, 6)):  # buildings of the yard
        x, w, h = ox + rng.randrange(-100, WIDTH), rng.randrange(120, 400), rng.randrange(60, 200)
        cv2.rectangle(img, (x, horizon - h), (x + w, horizon), tuple(rng.randrange(90, 230) for _ in range(3)), -1)
        for wx in range(x + 15, x + w - 20, 40):  # windows
            cv2.rectangle(img, (wx, horizon - h + 20), (wx + 18, horizon - h + 40), (60, 60, 60), -1)
    for x in range(ox + rng.randrange(0, 200), ox + WIDTH, rng.randrange(160, 320)):  # lane marks
        cv2.line(img, (x, oy + HEIGHT - 30), (x + 90, oy + HEIGHT - 60), (220, 220, 220), 8, cv2.LINE_AA)
    if rng.random() < 0.7:  # a sign board with text
        x, y = ox + rng.randrange(0, WIDTH - 360), rng.randrange(oy + 10, max(oy + 11, horizon - 110))
        board = _bgr((20, 90, 40)) if rng.random() < 0.5 else _bgr((30, 60, 160))
        cv2.rectangle(img, (x, y), (x + 340, y + 90), board, -1)
        _text(img, rng.choice(["CUA KHAU HUU NGHI", "友谊关口岸", "LANG SON", "TAN THANH", "凭祥", "STOP 停"]), (x + 12, y + 12, 316, 40), (245, 245, 245))
        _text(img, rng.choice(["LANE 3", "CONTAINER", "货车通道", "KIEM TRA"]), (x + 60, y + 58, 220, 24), (245, 245, 245))
    return img


_BODIES = [(180, 40, 30), (30, 30, 170), (235, 235, 235), (20, 140, 230), (40, 110, 40), (60, 60, 60), (200, 130, 40)]


def _truck(img: np.ndarray, rng: random.Random, truck_w: int, plate_h: int, rear: bool) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """A truck's front (cab, windscreen, grille, lights, maker's name) or its rear (box
    doors, tail lights, underrun bar), `truck_w` px wide; returns where on its bumper the
    plate goes and where its lamps are."""
    w = truck_w
    h = int(w * rng.uniform(0.75, 0.95))
    x = rng.randrange(-w // 5, max(-w // 5 + 1, WIDTH - 4 * w // 5))
    y = rng.randrange(-h // 3, max(-h // 3 + 1, HEIGHT - h + 20))
    body = rng.choice(_BODIES)
    cv2.rectangle(img, (x, y), (x + w, y + h), body, -1)
    bumper_y = y + 76 * h // 100
    bumper_h = max(plate_h + 30, h // 6)
    lamps: list[tuple[float, float]] = []
    if rear:
        for dx in (w // 2, w // 4, 3 * w // 4):  # door seams and locking bars
            cv2.line(img, (x + dx, y + 4), (x + dx, bumper_y - 4), (35, 35, 35) if dx == w // 2 else (190, 190, 190), max(2, w // 120))
        for lx in (x + w // 40, x + w - w // 40 - w // 10):  # tail lights
            cv2.rectangle(img, (lx, bumper_y - h // 14), (lx + w // 10, bumper_y - 4), (30, 30, 200), -1)
            lamps.append((lx + w / 20, bumper_y - h / 28))
        if rng.random() < 0.6:  # a rear marking stencilled on the doors
            _text(img, rng.choice(["KEEP DISTANCE", "超限", "车长16米", "TRAILER"]), (x + w // 5, y + h // 3, 3 * w // 5, h // 14), (30, 30, 30) if sum(body) > 500 else (235, 235, 235))
    else:
        cv2.rectangle(img, (x + w // 10, y + h // 12), (x + 9 * w // 10, y + 2 * h // 5), (50, 45, 40), -1)  # windscreen
        cv2.line(img, (x + w // 2, y + h // 12), (x + w // 2, y + 2 * h // 5), (30, 30, 30), 6)
        gy0, gy1 = y + 47 * h // 100, y + 70 * h // 100
        for gy in range(gy0, gy1, max(6, h // 40)):  # grille bars
            cv2.line(img, (x + w // 4, gy), (x + 3 * w // 4, gy), (30, 30, 30) if rng.random() < 0.8 else (190, 190, 190), 3)
        for lx in (x + w // 12, x + 11 * w // 12 - w // 7):  # headlights
            cv2.rectangle(img, (lx, gy0), (lx + w // 7, gy0 + h // 12), (220, 230, 235), -1)
            cv2.rectangle(img, (lx, gy0 + h // 12 + 6), (lx + w // 14, gy0 + h // 12 + 20), (20, 120, 240), -1)
            lamps.append((lx + w / 14, gy0 + h / 24))
        maker = rng.choice(["HOWO", "DONGFENG", "HINO", "THACO", "ISUZU", "FAW", "CHENGLONG", "SHACMAN", "解放", "东风"])
        _text(img, maker, (x + w // 3, y + 42 * h // 100 - h // 30, w // 3, max(4, h // 22)), (240, 240, 240) if sum(body) < 500 else (40, 40, 40))
    cv2.rectangle(img, (x, bumper_y), (x + w, bumper_y + bumper_h), (45, 45, 45), -1)
    cx = x + w / 2 + rng.uniform(-0.2, 0.2) * w
    return (cx, bumper_y + bumper_h / 2), lamps


_DOORS = {"red": (40, 40, 170), "blue": (150, 80, 20), "green": (40, 110, 40), "grey": (160, 160, 160), "orange": (30, 100, 200), "dark": (60, 60, 60), "maroon": (20, 20, 120)}


def _container_door(img: np.ndarray, rng: random.Random, code: str, layout: Layout, letter_h: int, origin: tuple[int, int] = (0, 0),
                    large: bool = False) -> tuple[list[tuple[float, float]], str, list[Rect]]:
    """A container's doors filling most of the frame, the code painted on the right leaf
    (across the doors when `large`, down the door post when vertical). Returns the code's
    corners, the paint's name and the character cells."""
    ox, oy = origin
    paint = rng.choice(list(_DOORS))
    colour = _DOORS[paint]
    x0, y0 = ox + rng.randrange(-80, 120), oy + rng.randrange(-60, 60)
    x1, y1 = ox + rng.randrange(WIDTH - 120, WIDTH + 80), oy + rng.randrange(HEIGHT - 60, HEIGHT + 60)
    cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
    step = rng.randrange(24, 40)
    shade = tuple(min(255, c + 25) for c in colour)
    for cx in range(x0, x1, step):  # corrugation: light and dark stripes
        cv2.rectangle(img, (cx, y0), (cx + step // 3, y1), shade, -1)
    mid = (x0 + x1) // 2
    cv2.line(img, (mid, y0), (mid, y1), (25, 25, 25), 5)
    for rx in (x0 + (mid - x0) // 3, x0 + 2 * (mid - x0) // 3, mid + (x1 - mid) // 3, mid + 2 * (x1 - mid) // 3):  # locking rods
        cv2.line(img, (rx, y0), (rx, y1), (200, 200, 200), 7)
    ink = (245, 245, 245) if sum(colour) < 450 else (20, 20, 20)
    # weights stencilled on the left leaf (before the code: a large code's panel covers them)
    lx = x0 + 60 if x0 + 60 < mid - 300 else mid - 300
    for k, line in enumerate(["MAX GROSS 30480 KG", "TARE 3750 KG", "NET 26730 KG"]):
        _text(img, line, (lx, oy + HEIGHT // 2 + k * 40, 260, 24), ink)
    owner, serial, check = code[:4], code[4:10], code[10]
    size_type = rng.choice(["45G1", "22G1", "42G1", "45R1", "22T1"])
    cw = int(letter_h * 0.62)
    cells: list[Rect] = []
    if layout == "vertical":
        # one upright character a row down the post by the right edge, a gap between
        # owner code and serial, the check digit boxed at the bottom
        pitch = round(letter_h * 1.18)
        col_w = round(letter_h * 0.72)
        total_h = 11 * pitch + pitch // 2 + 10
        if rng.random() < 0.7:  # the right door's post, or the left one's
            tx = rng.randrange(min(x1, ox + WIDTH) - 3 * col_w - 40, min(x1, ox + WIDTH) - col_w - 30)
        else:
            tx = rng.randrange(max(x0, ox) + col_w + 30, max(x0, ox) + 3 * col_w + 40)
        ty = rng.randrange(oy + 20, max(oy + 21, oy + HEIGHT - total_h - 20))
        cv2.rectangle(img, (tx - col_w // 2 - 6, ty - 12), (tx + col_w + col_w // 2 + 6, ty + total_h + 12), colour, -1)  # the post
        y = ty
        for k, ch in enumerate(owner + serial + check):
            if k == 4:
                y += pitch // 2
            if k == 10:
                cv2.rectangle(img, (tx - 5, y - 5), (tx + col_w + 5, y + letter_h + 5), ink, 2, cv2.LINE_AA)
            _glyph(img, ch, (tx, y, col_w, letter_h), ink)
            cells.append((tx, y, col_w, letter_h))
            y += pitch
        if rng.random() < 0.5:  # the size/type code across, below the column
            _text(img, size_type, (tx - col_w, y + 8, 3 * col_w, int(letter_h * 0.7)), ink)
        corners = [(tx - 6.0, ty - 6.0), (tx + col_w + 6.0, ty - 6.0), (tx + col_w + 6.0, y - pitch + letter_h + 6.0), (tx - 6.0, y - pitch + letter_h + 6.0)]
    else:
        total_w = 12 * cw + int(cw * 1.4)
        if large:  # painted big across both leaves
            tx = rng.randrange(ox + 20, max(ox + 21, ox + WIDTH - total_w - 20))
        else:
            tx = rng.randrange(mid + 20, max(mid + 21, min(x1, ox + WIDTH) - total_w - 20))
        ty = rng.randrange(max(oy + 30, y0 + 30), max(oy + 31, min(oy + HEIGHT // 2, oy + HEIGHT - 2 * letter_h - 40)))
        # the markings sit on a panel between the rods and the rails, clear of them
        cv2.rectangle(img, (tx - 24, ty - letter_h // 2 - 10), (tx + total_w + 24, ty + 2 * letter_h + 20 + letter_h // 2), colour, -1)
        _text(img, f"{owner} {serial}", (tx, ty, 11 * cw, letter_h), ink)  # one scale for both groups
        step_x = 11 * cw / 11
        cells = [(round(tx + k * step_x), ty, cw, letter_h) for k in range(11) if k != 4]
        bx = tx + 12 * cw
        cv2.rectangle(img, (bx - 4, ty - 5), (bx + int(cw * 1.4), ty + letter_h + 5), ink, 2, cv2.LINE_AA)
        _text(img, check, (bx + cw // 5, ty, cw, letter_h), ink)
        cells.append((bx + cw // 5, ty, cw, letter_h))
        _text(img, size_type, (tx, ty + letter_h + 20, 4 * cw, int(letter_h * 0.8)), ink)
        right = bx + int(cw * 1.4)
        corners = [(float(tx), ty - 5.0), (float(right), ty - 5.0), (float(right), ty + letter_h + 5.0), (float(tx), ty + letter_h + 5.0)]
    return corners, paint, cells


# ---------------------------------------------------------------- conditions


def _mild(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """The basic mix: low light, blur and sensor noise, each at random."""
    out = img
    if rng.random() < 0.3:  # dusk or night: darker, with a light fall-off across the frame
        gain = rng.uniform(0.3, 0.55)
        light = gain * _falloff(0.35)
        out = cv2.blendLinear(out, np.zeros_like(out), light, 1 - light)
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 1.6))
        else:  # motion blur along the truck's travel
            out = cv2.filter2D(out, -1, _line_kernel(rng.randrange(3, 8), 0.0))
    if rng.random() < 0.6:
        out = _add_noise(out, rng, rng.uniform(2, 12))
    return out


@lru_cache(maxsize=4)
def _falloff(strength: float) -> np.ndarray:
    xs = np.linspace(-1, 1, WIDTH, dtype=np.float32)[None, :]
    ys = np.linspace(-1, 1, HEIGHT, dtype=np.float32)[:, None]
    fall = 1 - strength * (xs**2 + ys**2) / 2
    fall.setflags(write=False)
    return fall


def _line_kernel(n: int, angle: float) -> np.ndarray:
    kernel = np.zeros((n, n), np.float32)
    c = (n - 1) / 2
    dx, dy = math.cos(math.radians(angle)) * c, math.sin(math.radians(angle)) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


def _blobs(points: Sequence[tuple[float, float, float, float]]) -> np.ndarray:
    """Sum of round gaussian lights (x, y, sigma, peak), worked out at a quarter size."""
    ys, xs = np.mgrid[0 : HEIGHT // 4, 0 : WIDTH // 4].astype(np.float32)
    out = np.zeros((HEIGHT // 4, WIDTH // 4), np.float32)
    for x, y, sigma, peak in points:
        s = max(1.0, sigma / 4)
        out += peak * np.exp(-((xs - x / 4) ** 2 + (ys - y / 4) ** 2) / (2 * s * s))
    return cv2.resize(out, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


@dataclass(slots=True)
class _Where:
    """What a condition needs to know of the scene: where the text is and the lamps."""

    centre: tuple[float, float]
    size: float  # the plate's or code's larger side, px
    lamps: list[tuple[float, float]]


def _condition(img: np.ndarray, condition: str, rng: random.Random, where: _Where, look: _Look) -> np.ndarray:
    """The frame after its primary condition (the geometric ones, tilt, perspective and
    far, were applied when the scene was laid out) and the mild jitter every scene gets.
    Worked on uint8 with OpenCV's saturating operations: float copies of a whole frame
    would cost more than drawing it."""
    k = look.harder
    out = img
    sigma = rng.uniform(1.0, 2.0 if condition == "clean" else 3.5)  # sensor noise in every scene
    if condition == "motion_blur":  # along the truck's travel, or the camera shaking
        angle = rng.uniform(-12, 12) if rng.random() < 0.8 else rng.uniform(-90, 90)
        out = cv2.filter2D(out, -1, _line_kernel(rng.randint(5, round(10 * k)), angle))
    elif condition == "gaussian_blur":  # out of focus
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(1.1, 2.1 * k))
    elif condition == "noise":
        sigma = rng.uniform(10, 20 * k)
    elif condition == "night":
        out, sigma = _night(out, rng, where), rng.uniform(4, 9 * k)
    elif condition == "overexposed":
        out = _levels(out, rng.uniform(1.5, min(2.2, 2.0 * k)), [rng.uniform(10, 40)] * 3)
        # bloom round what burns out, mild enough to leave dark strokes dark
        bloom = cv2.GaussianBlur(cv2.subtract(out, np.full_like(out, 200)), (0, 0), 8)
        out = cv2.addWeighted(out, 1.0, bloom, 0.5, 0)
    elif condition == "rain":
        out = _rain(out, rng, k)
    # jitter: exposure and white balance
    out = _levels(out, rng.uniform(0.92, 1.08), [rng.uniform(-4, 4) for _ in range(3)])
    out = _add_noise(out, rng, sigma)
    if condition == "jpeg_low":  # a cheap camera's or a congested link's compression
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(15, 35)])
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
        out = decoded if decoded is not None else out
    return out


def _night(img: np.ndarray, rng: random.Random, where: _Where) -> np.ndarray:
    """Dark with a fall-off, the plate in its lamp's (or a flood light's) pool, glare from
    the lamps and washed-out contrast (the sensor noise comes after)."""
    gain = rng.uniform(0.14, 0.28)
    cx, cy = where.centre
    pool = _blobs([(cx, cy, where.size * rng.uniform(0.9, 1.4), 1.0)])
    light = gain * _falloff(0.5) + rng.uniform(0.32, 0.55) * pool  # at most 0.83
    out = cv2.blendLinear(img, np.zeros_like(img), light, 1 - light)
    glare = []
    for lx, ly in where.lamps:
        # a lamp glares, but never over the plate: its halo stays two sigmas clear
        distance = math.hypot(lx - cx, ly - cy) - where.size / 2
        if distance > 20:
            glare.append((lx, ly, min(rng.uniform(25, 60), distance / 2.2), rng.uniform(180, 255)))
    if not where.lamps or rng.random() < 0.4:  # the yard's flood light in view
        gx, gy = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT * 0.3)
        distance = math.hypot(gx - cx, gy - cy) - where.size / 2
        if distance > 40:
            glare.append((gx, gy, min(rng.uniform(30, 90), distance / 2.2), rng.uniform(150, 255)))
    if glare:
        halo = np.clip(_blobs(glare), 0, 255)
        warm = cv2.merge([halo * 0.9, halo * 0.97, halo]).astype(np.uint8)  # headlights are warm
        out = cv2.add(out, warm)
    black = rng.uniform(6, 18)  # low contrast: the black level lifts
    return _levels(out, 1 - black / 255, [black] * 3)


def _rain(img: np.ndarray, rng: random.Random, k: float) -> np.ndarray:
    """Streaks across the whole frame, a few drops on the lens, dull light."""
    out = _levels(img, rng.uniform(0.72, 0.9), [rng.uniform(8, 25)] * 3)  # overcast, with haze
    streaks: np.ndarray = np.zeros((HEIGHT, WIDTH), np.float32)
    slant = rng.uniform(-25, 25)
    dx, dy = math.sin(math.radians(slant)), math.cos(math.radians(slant))
    for _ in range(rng.randint(350, round(800 * k))):
        x, y, length = rng.uniform(-50, WIDTH + 50), rng.uniform(-50, HEIGHT), rng.uniform(15, 45)
        cv2.line(streaks, (round(x), round(y)), (round(x + dx * length), round(y + dy * length)), rng.uniform(0.15, 0.45), 1, cv2.LINE_AA)
    streaks = cv2.GaussianBlur(streaks, (0, 0), 0.8)
    out = cv2.blendLinear(out, np.full_like(out, 225), 1 - streaks, streaks)
    # a drop on the lens shows the scene blurred and a little brighter
    small = cv2.resize(out, (WIDTH // 4, HEIGHT // 4), interpolation=cv2.INTER_AREA)
    blurred = _levels(cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.0), (WIDTH, HEIGHT)), 1.08, [6] * 3)
    drops: np.ndarray = np.zeros((HEIGHT, WIDTH), np.float32)
    for _ in range(rng.randint(6, 20)):
        cv2.circle(drops, (rng.randrange(WIDTH), rng.randrange(HEIGHT)), rng.randint(4, 14), 0.9, -1, cv2.LINE_AA)
    drops = cv2.GaussianBlur(drops, (0, 0), 1.5)
    return cv2.blendLinear(out, blurred, 1 - drops, drops)


# ---------------------------------------------------------------- plate and container scenes


def _check_text(text: str, country: Country, format: str | None, layout: Layout | None) -> str:
    found = drawn_as(text)
    two_line = layout == "two_line"
    reason = f"text: {text!r} is no canonical {'two-line ' if two_line else ''}plate of {country}"
    if found is None or (found.startswith("cn_") != (country == "china")):
        raise ValueError(reason)
    if format is not None and format != found and not (found == "cn_blue" and format == "cn_yellow"):
        raise ValueError(f"{reason} in format {format}")
    fmt = format or found
    if layout is not None and layout not in LAYOUTS[fmt]:
        raise ValueError(reason)
    return fmt


def plate_scene(country: Country, rng: random.Random, two_line: bool = False, text: str | None = None, *,
                format: str | None = None, layout: Layout | None = None, colour: str | None = None,
                condition: str | None = None, variety: Variety = "basic") -> Scene:
    """A truck carrying a plate of `country` in a 1280×720 frame: random, or `text` in
    canonical form; of `format` (PLATE_FORMATS) in `layout` (LAYOUTS) and `colour`, or
    drawn; under `condition` (CONDITIONS), or a mild random mix in the basic variety and
    a random condition in the others."""
    if variety not in _LOOKS:
        raise ValueError(f"variety: {variety!r} is not one of {', '.join(_LOOKS)}")
    if condition is not None and condition not in CONDITIONS:
        raise ValueError(f"condition: {condition!r} is not one of {', '.join(CONDITIONS)}")
    if format is not None and format not in PLATE_FORMATS[country]:
        raise ValueError(f"format: {format!r} is no plate format of {country} (one of {', '.join(PLATE_FORMATS[country])})")
    if two_line and layout is None:
        layout = "two_line"
    look = _LOOKS[variety]
    if text is None:
        format = format or ("cn_blue" if country == "china" else None)
        if format is None:  # the basic mix: "12-C1" two-line plates, otherwise one-line
            text = plate_text(country, rng, two_line=layout == "two_line")
            format = drawn_as(text) or "vn_5digit"
        else:
            if layout is None:
                layout = _pick_layout(format, rng)
            text = plate_text(country, rng, two_line=layout == "two_line" and rng.random() < 0.5, format=format)
    else:
        format = _check_text(text, country, format, layout)
    if layout is None:
        layout = "two_line" if format in ("cn_trailer",) else "one_line"
    if layout not in LAYOUTS[format]:
        raise ValueError(f"layout: {layout!r} is not one of {format}'s ({', '.join(LAYOUTS[format])})")
    if colour is None:
        colour = "yellow" if format == "cn_blue" and layout == "two_line" else _colour_of(format, text, rng)
    if condition is None:
        condition = "mild" if variety == "basic" else rng.choice(CONDITIONS)
    face = _pick_face(look, rng)
    flat = render_plate(text, format, layout, colour, rng, face, look.colour_jitter)
    if condition == "mud":
        _mud(flat.image, flat.cells, rng)
    plate = flat.image
    img = _background(rng)
    aspect = plate.shape[1] / plate.shape[0]
    mm = plate.shape[1]  # the flat plate is 1 px per mm
    if condition == "far":
        width = rng.uniform(60, 110)
    else:
        lo, hi = (150, 260) if plate.shape[0] == 220 else (120, 230) if layout == "two_line" else (160, 340)
        width = rng.uniform(lo * look.size[0], hi * look.size[1])
    # a truck is about 2.45 m wide: drawn to the plate's scale, within what fits the frame
    truck_w = round(min(1100, max(260, width * 2450 / mm * rng.uniform(0.85, 1.1))))
    if condition != "far":
        truck_w = max(truck_w, min(980, round(width * 2 + 80)))
    rear = layout == "two_line" or format in ("vn_trailer", "cn_trailer")
    (cx, cy), lamps = _truck(img, rng, truck_w, int(width / aspect), rear)
    margin_x, margin_y = width * 0.6 + 10, width / aspect * 0.6 + width * 0.15 + 10
    centre = (min(max(cx, margin_x), WIDTH - margin_x), min(max(cy, margin_y), HEIGHT - margin_y))
    angle = rng.uniform(-look.tilt_jitter, look.tilt_jitter)
    yaw, pitch, jitter = rng.uniform(-1, 1) * look.skew_jitter, rng.uniform(0, look.skew_jitter), look.skew_jitter
    if condition == "mild":  # the basic mix: now and then harder
        hard = rng.random() < 0.4
        angle, jitter = rng.uniform(-9, 9) if hard else rng.uniform(-3, 3), 0.12 if hard else 0.04
        yaw = rng.uniform(-jitter, jitter) * 1.5
    elif condition == "tilt":
        angle = rng.choice((-1, 1)) * rng.uniform(8, 25)
    elif condition == "perspective":
        yaw = rng.choice((-1, 1)) * rng.uniform(0.15, min(0.45, 0.32 * look.harder))
        pitch = rng.uniform(0.03, 0.18)
    elif condition == "clean":
        angle, jitter = angle / 2, jitter / 2
    bbox = _paste(img, plate, centre, width, rng, angle, yaw, pitch, jitter)
    where = _Where((bbox[0] + bbox[2] / 2, bbox[1] + bbox[3] / 2), max(bbox[2], bbox[3]), lamps)
    image = _mild(img, rng) if condition == "mild" else _condition(img, condition, rng, where, look)
    return Scene(image, "plate", country, text, layout, bbox, format, colour, condition)


def _pick_layout(format: str, rng: random.Random) -> Layout:
    layouts = LAYOUTS[format]
    if len(layouts) == 1:
        return layouts[0]
    # the usual layout (listed first) most of the time: Vietnamese two-line plates are a
    # third of those seen; the rear plates of Chinese trucks and trailers are two-line
    usual = 0.65 if format.startswith("vn_") else 0.7
    return layouts[0] if rng.random() < usual else layouts[1]


def container_scene(rng: random.Random, code: str | None = None, *, format: str | None = None,
                    condition: str | None = None, variety: Variety = "basic", large: bool | None = None) -> Scene:
    """A container door with an ISO 6346 code (random, or `code`: four letters and seven
    digits, its check digit right or not) in a 1280×720 frame, painted across (small, or
    `large`) or down the door post (`format` iso6346_vertical)."""
    if variety not in _LOOKS:
        raise ValueError(f"variety: {variety!r} is not one of {', '.join(_LOOKS)}")
    if condition is not None and condition not in CONDITIONS:
        raise ValueError(f"condition: {condition!r} is not one of {', '.join(CONDITIONS)}")
    if format is not None and format not in CONTAINER_FORMATS:
        raise ValueError(f"format: {format!r} is not one of {', '.join(CONTAINER_FORMATS)}")
    look = _LOOKS[variety]
    if code is None:
        code = container_text(rng)
    elif not re.match(r"^[A-Z]{4}\d{7}$", code):
        raise ValueError(f"code: {code!r} is not four letters and seven digits")
    format = format or "iso6346_horizontal"
    layout: Layout = "vertical" if format == "iso6346_vertical" else "horizontal"
    if condition is None:
        condition = "mild" if variety == "basic" else rng.choice(CONDITIONS)
    if large is None:
        large = layout == "horizontal" and variety != "basic" and rng.random() < 0.4
    if condition == "far":
        letter_h = rng.randint(12, 16) if layout == "vertical" else rng.randint(14, 20)
    elif layout == "vertical":
        letter_h = rng.randint(round(26 * look.size[0]), round(44 * look.size[1]))
    elif large:
        letter_h = rng.randint(round(80 * look.size[0]), round(120 * look.size[1]))
    else:
        letter_h = rng.randint(30, 56) if variety == "basic" else rng.randint(round(30 * look.size[0]), round(56 * look.size[1]))
    letter_h = min(letter_h, 48) if layout == "vertical" else letter_h  # eleven rows must fit the frame
    warp = condition in ("tilt", "perspective")
    # a tilted or oblique view is warped from a larger canvas, so no corner is left blank
    pad_x, pad_y = (260, 360) if warp else (0, 0)
    origin = (pad_x, pad_y)
    canvas = _background(rng, (WIDTH + 2 * pad_x, HEIGHT + 2 * pad_y), origin)
    corners, paint, cells = _container_door(canvas, rng, code, layout, letter_h, origin, large)
    if condition == "mud":  # road dirt and rust streaks over the code
        x0, y0 = round(min(c[0] for c in corners)), round(min(c[1] for c in corners))
        x1, y1 = round(max(c[0] for c in corners)), round(max(c[1] for c in corners))
        region = canvas[y0:y1, x0:x1]
        _mud(region, [(x - x0, y - y0, w, h) for x, y, w, h in cells], rng)
    if warp:
        matrix = _view(rng, condition, origin, corners, look)
        img = cv2.warpPerspective(canvas, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        pts = cv2.perspectiveTransform(np.array([corners], np.float32), matrix)[0]
    else:
        img = canvas
        pts = np.array(corners, np.float32)
    x0, y0 = max(0, round(float(pts[:, 0].min()))), max(0, round(float(pts[:, 1].min())))
    x1, y1 = min(WIDTH, round(float(pts[:, 0].max()))), min(HEIGHT, round(float(pts[:, 1].max())))
    bbox = (x0, y0, x1 - x0, y1 - y0)
    if condition == "mild":
        return Scene(_mild(img, rng), "container", "", code, layout, bbox, format, paint, condition)
    where = _Where((x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2), max(x1 - x0, y1 - y0) / (3 if layout == "horizontal" else 2), [])
    return Scene(_condition(img, condition, rng, where, look), "container", "", code, layout, bbox, format, paint, condition)


def _view(rng: random.Random, condition: str, origin: tuple[int, int], corners: list[tuple[float, float]], look: _Look) -> np.ndarray:
    """The homography from the padded canvas to the frame: the camera rolled (tilt) or
    looking at the door from the side and below (perspective), the code kept inside."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    shift = np.array([[1, 0, -origin[0]], [0, 1, -origin[1]], [0, 0, 1]], np.float64)
    if condition == "tilt":  # codes get more than plates: a camera on a crane spreader rolls
        a = math.radians(rng.choice((-1, 1)) * rng.uniform(10, 32))
        ca, sa = math.cos(a), math.sin(a)
        view = np.array([[ca, -sa, cx - ca * cx + sa * cy], [sa, ca, cy - sa * cx - ca * cy], [0, 0, 1]], np.float64)
    else:
        t = rng.choice((-1, 1)) * rng.uniform(0.12, min(0.4, 0.3 * look.harder))
        p = rng.uniform(0.0, 0.12)
        src = np.array([(0, 0), (WIDTH, 0), (WIDTH, HEIGHT), (0, HEIGHT)], np.float32)
        # one side nearer (taller) than the other, the top a little narrower
        lh, rh = HEIGHT * max(0.0, t) / 2, HEIGHT * max(0.0, -t) / 2
        dst = np.array([(WIDTH * p, lh), (WIDTH * (1 - p), rh), (WIDTH, HEIGHT - rh), (0, HEIGHT - lh)], np.float32)
        # the frame's rectangle goes onto that trapezoid; the padding fills in round it
        view = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    matrix = view @ shift
    pts = cv2.perspectiveTransform(np.array([corners], np.float32), matrix)[0]
    dx = max(0.0, 4 - float(pts[:, 0].min())) - max(0.0, float(pts[:, 0].max()) - (WIDTH - 5))
    dy = max(0.0, 4 - float(pts[:, 1].min())) - max(0.0, float(pts[:, 1].max()) - (HEIGHT - 5))
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64) @ matrix


# ---------------------------------------------------------------- sets


def _scene_rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")  # string seeds hash the same in every process


def _cycled(j: int, formats: int, stride: int) -> tuple[int, str]:
    """The format (index) and condition of the j-th scene of a kind: formats in turn,
    the conditions shifted each round, so that every pair comes up within formats × 12
    scenes and every condition within the first few dozen."""
    q, r = divmod(j, formats)
    return r, CONDITIONS[(q + r * stride) % len(CONDITIONS)]


def plan(kind: Literal["plate", "container"], index: int) -> tuple[Country | Literal[""], str, str]:
    """(country, format, condition) of scene `index` of a kind in a standard or wide set:
    plates alternate Vietnam and China, each country's formats and the conditions cycled
    (`_cycled`)."""
    if kind == "container":
        k, condition = _cycled(index, len(CONTAINER_FORMATS), 5)
        return "", CONTAINER_FORMATS[k], condition
    country: Country = "vietnam" if index % 2 == 0 else "china"
    formats = PLATE_FORMATS[country]
    # strides coprime with 12 round by round: 3 for four formats, 2 for five
    k, condition = _cycled(index // 2, len(formats), 3 if country == "vietnam" else 2)
    return country, formats[k], condition


def plate_scenes(count: int, seed: int, variety: Variety = "basic") -> Iterator[Scene]:
    """`count` plate scenes alternating Vietnam and China. The basic variety: Vietnamese
    one-line plates with every third a "12-C1" two-line one, blue Chinese plates, mildly
    degraded. The others: every format and condition in turn (`plan`)."""
    for i in range(count):
        rng = _scene_rng(seed, "plate", i)
        if variety == "basic":
            country: Country = "vietnam" if i % 2 == 0 else "china"
            yield plate_scene(country, rng, two_line=country == "vietnam" and (i // 2) % 3 == 2)
            continue
        where, format, condition = plan("plate", i)
        yield plate_scene(where or "vietnam", rng, format=format, condition=condition, variety=variety)


def container_scenes(count: int, seed: int, variety: Variety = "basic") -> Iterator[Scene]:
    """`count` container doors: small horizontal codes, mildly degraded, in the basic
    variety; otherwise horizontal (small and large) and vertical codes in turn, under
    every condition (`plan`)."""
    for i in range(count):
        rng = _scene_rng(seed, "container", i)
        if variety == "basic":
            yield container_scene(rng)
            continue
        _, format, condition = plan("container", i)
        yield container_scene(rng, format=format, condition=condition, variety=variety)


LABEL_COLUMNS = ("file", "kind", "country", "text", "layout", "format", "colour", "condition")


def write_set(out: Path, count: int, seed: int, containers: int = 0, variety: Variety = "standard") -> Path:
    """Write the scenes as JPEG files (as a camera would send them) and labels.csv."""
    if variety not in _LOOKS:
        raise ValueError(f"variety: {variety!r} is not one of {', '.join(_LOOKS)}")
    out.mkdir(parents=True, exist_ok=True)
    labels = out / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LABEL_COLUMNS)
        for name, scenes in (("plate", plate_scenes(count, seed, variety)), ("container", container_scenes(containers, seed, variety))):
            for i, scene in enumerate(scenes):
                file = f"{name}_{i:04d}.jpg"
                if not cv2.imwrite(str(out / file), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
                    raise OSError(f"{out / file}: could not be written")
                writer.writerow([file, scene.kind, scene.country, scene.text, scene.layout, scene.format, scene.colour, scene.condition])
    return labels


def write_named_set(out: Path, name: str, count: int = 300, containers: int = 40) -> Path:
    """Write the `development` or `test` set (SETS)."""
    if name not in SETS:
        raise ValueError(f"set: {name!r} is not one of {', '.join(SETS)}")
    spec = SETS[name]
    return write_set(out, count, spec.seed, containers, spec.variety)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware_bridge.plate_scenes", description="Write labelled synthetic plate and container-code frames.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the images and labels.csv")
    parser.add_argument("--set", choices=sorted(SETS), help="a named set: development (seed 1, standard look) or test (seed 2, wide look)")
    parser.add_argument("--count", type=_count, default=300, help="plate scenes, half Vietnamese, half Chinese (default 300)")
    parser.add_argument("--containers", type=_count, default=0, help="container-door scenes besides (default 0)")
    parser.add_argument("--seed", type=int, help="seed of an unnamed set (default 1)")
    parser.add_argument("--variety", choices=sorted(_LOOKS), help="look of an unnamed set (default standard)")
    args = parser.parse_args(argv)  # bad flags: argparse prints the reason and exits 2
    if args.set and (args.seed is not None or args.variety is not None):
        parser.error(f"--set {args.set}: fixes the seed and the variety; leave out --seed and --variety")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: exists and is not a folder")
    spec = SETS[args.set] if args.set else SetSpec(1 if args.seed is None else args.seed, args.variety or "standard")
    try:
        labels = write_set(args.out, args.count, spec.seed, args.containers, spec.variety)
    except (FontMissing, OSError) as e:
        print(f"plate_scenes: {e}", file=sys.stderr)
        return 1
    name = f"the {args.set} set" if args.set else f"seed {spec.seed}, {spec.variety}"
    print(f"wrote {args.count} plate and {args.containers} container scenes ({name}), labels in {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
