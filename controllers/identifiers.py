"""Identifiers the twin gives its trucks, containers and carriers.

Container codes follow ISO 6346 (owner code, category U, six-digit serial, check
digit); plates follow the Vietnamese (12C-123.45) and Chinese (桂A·12345) formats.
"""

from __future__ import annotations

import random

from controllers.codes import iso6346_check_digit
from controllers.messages import Side

OWNER = {"vietnam": "VNL", "china": "CGX"}  # owner codes of the twin's own containers
VN_PROVINCES = ("12", "14", "29", "30", "51", "15", "20")  # Lạng Sơn is 12
CN_PREFIXES = ("桂A", "桂F", "桂P", "粤B", "湘A", "云A")  # 桂F: Chongzuo, home of Pingxiang


def container_code(side: Side, serial: int) -> str:
    head = f"{OWNER[side]}U{serial % 1_000_000:06d}"
    return head + str(iso6346_check_digit(head))


def carrier_id(index: int) -> str:
    return f"AGV-{index + 1:03d}"


def plate(side: Side, rng: random.Random) -> str:
    """A plausible plate of a truck registered on `side`."""
    if side == "vietnam":
        province = rng.choice(VN_PROVINCES)
        series = rng.choice("CDH")
        return f"{province}{series}-{rng.randrange(100, 1000)}.{rng.randrange(0, 100):02d}"
    return f"{rng.choice(CN_PREFIXES)}·{rng.randrange(10000, 100000)}"
