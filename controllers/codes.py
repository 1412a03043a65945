"""Identifiers read at the gates: licence plates and container codes.

What an OCR engine reads is normalised to the plate formats of both countries and
matched against the declared vehicles:

- Vietnamese: two digits of the province, the series (one or two letters, a digit
  after on motorbike-style plates; R is a trailer's) and four or five digits —
  "12C-123.45", "12C-1234", "29LD-123.45", "12R-123.45"; a two-line plate ("12C" over
  "123.45", or "12-C1" over "123.45") has the same canonical form.
- Chinese (GA 36): province character, registration letter, a dot and five characters
  — "桂A·12345" (blue small vehicles, yellow large ones, on one line or two); new-energy
  green plates have six, D or F first on small vehicles ("桂A·D12345") and last on large
  ones ("桂A·12345D"); four and a character of use on trailers ("桂A·1234挂") and on
  learner, police, Hong Kong and Macau and consulate plates (学 警 港 澳 领).

A read that differs from a declaration by one easily confused character
(0/O/D, 1/I, 8/B, 5/S, 2/Z, V/Y) is matched only with a flag for an officer. Container
codes follow ISO 6346 and their check digit is verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:  # ISO 6346 skips multiples of 11
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1

CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CN_USES = "挂学警港澳领"  # the last character of trailer, learner, police, HK, Macau, consulate plates
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # GA 36 leaves out I and O
CONFUSABLE = [set("0OD"), set("1I"), set("8B"), set("5S"), set("2Z"), set("VY")]
_VN = re.compile(r"^(\d{2})([A-Z]{1,2}\d?)(\d{3})(\d{2})$")
_VN_FOUR = re.compile(r"^(\d{2})([A-Z]{1,2}\d?)(\d{4})$")
_CN_TAIL = rf"[0-9{CN_LETTERS}]"
_CN = re.compile(
    rf"^([{CN_PROVINCES}])([{CN_LETTERS}])"
    rf"({_CN_TAIL}{{5}}|[DF]{_CN_TAIL}\d{{4}}|\d{{5}}[DF]|{_CN_TAIL}{{4}}[{CN_USES}])$"
)
PlateFormat = Literal["vn_5digit", "vn_4digit", "vn_trailer", "vn_2letter", "cn_standard", "cn_new_energy", "cn_use"]
_CONTAINER = re.compile(r"^([A-Z]{3})([UJZ])(\d{6})(\d)$")


def iso6346_check_digit(code10: str) -> int:
    """The check digit of the first ten characters of an ISO 6346 container code."""
    total = 0
    for i, ch in enumerate(code10):
        value = _LETTER_VALUES[ch] if ch.isalpha() else int(ch)
        total += value * (1 << i)
    return total % 11 % 10


def container_code(text: str) -> str | None:
    """The container code in `text` if it is well formed and its check digit right."""
    code = re.sub(r"[\s\-./]", "", text.upper())
    if not _CONTAINER.match(code):
        return None
    return code if iso6346_check_digit(code[:10]) == int(code[10]) else None


def _compact(text: str) -> str:
    """The characters of a plate without spaces and separators, as OCR lines them up."""
    return re.sub(r"[\s\-.·•:_]", "", text.upper())


def normalise_plate(text: str) -> str | None:
    """A plate in its canonical form, or None if it is no Vietnamese or Chinese plate."""
    compact = _compact(text)
    if m := _CN.match(compact):
        return f"{m[1]}{m[2]}·{m[3]}"
    if m := _VN.match(compact):
        return f"{m[1]}{m[2]}-{m[3]}.{m[4]}"
    if m := _VN_FOUR.match(compact):
        return f"{m[1]}{m[2]}-{m[3]}"
    return None


def country_of(plate: str) -> Literal["vietnam", "china"]:
    return "china" if plate[:1] in CN_PROVINCES else "vietnam"


def plate_format(plate: str) -> PlateFormat:
    """Which format a canonical plate (as `normalise_plate` gives it) is written in."""
    if plate[:1] in CN_PROVINCES:
        tail = plate.split("·")[1]
        if len(tail) == 6:
            return "cn_new_energy"
        return "cn_use" if tail[-1] in CN_USES else "cn_standard"
    series = plate[2:].split("-")[0]
    if series == "R":
        return "vn_trailer"
    if len(series) == 2 and series.isalpha():
        return "vn_2letter"
    return "vn_4digit" if "." not in plate else "vn_5digit"


@dataclass(frozen=True, slots=True)
class PlateMatch:
    plate: str | None  # the declared plate matched, if any
    exact: bool
    needs_officer: bool  # matched only through one confusable character


def _one_confusion(read: str, declared: str) -> bool:
    if len(read) != len(declared):
        return False
    diffs = [(a, b) for a, b in zip(read, declared) if a != b]
    return len(diffs) == 1 and any({*diffs[0]} <= group for group in CONFUSABLE)


def match_plate(read: str, declared: list[str]) -> PlateMatch:
    """Match an OCR read against the declared plates of the vehicles expected. The
    characters are compared without separators, so that a misread letter cannot make
    the read parse as another plate format."""
    probe = _compact(read)
    by_chars = {_compact(d): d for d in declared}
    if probe in by_chars:
        return PlateMatch(by_chars[probe], True, False)
    close = [d for chars, d in by_chars.items() if _one_confusion(probe, chars)]
    if len(close) == 1:
        return PlateMatch(close[0], False, True)
    return PlateMatch(None, False, bool(close))  # none, or ambiguous: an officer decides
