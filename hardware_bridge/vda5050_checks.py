"""What an incoming VDA 5050 message must be, beyond its schema, before master control uses it.

The schemas say a battery charge is a number and a headerId an integer; they let through
NaN (Python's JSON reader takes it), infinity, a charge of -50 or 1e308, a negative or
huge headerId, a timestamp that is no time. Here each field is held to what the
standard's text means:

- every number finite, wherever it is; strings and lists bounded;
- headerId, orderUpdateId, lastNodeSequenceId and every sequenceId a whole number in
  0..2^32-1 (uint32: 3.0 says so of headerId, and counters wrap there); a whole float
  such as 5.0 is taken, and written back as an int;
- timestamp an ISO 8601 date and time;
- batteryCharge (3.0: stateOfCharge) in 0..100 percent;
- a position in the site's map within a sane distance of the site's nodes, anywhere
  else within 1000 km of the map's origin.

`HeaderOrder` keeps each topic's headerIds in order (a replayed or late message is not
taken), and `jump_problem` tells a position no vehicle could have driven to in the
time since the last one (a teleport). Each check answers with a `Problem`, or None.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controllers.vehicle_map import VehicleMap
from hardware_bridge.vda5050 import robot_position, speaks_v3

UINT32 = 1 << 32  # headerIds and sequence ids are uint32 and wrap to 0
MAX_ID_CHARS = 256  # ids, names and versions; the site's own are a few dozen characters
MAX_TEXT_CHARS = 4096  # descriptions, for people to read
MAX_ITEMS = 1000  # entries of any list: far above any order this site sends
MAX_EXACT = 1 << 53  # integers beyond are not exact as floats: no count or measure a vehicle reports
SITE_MARGIN_M = 1000.0  # how far beyond the site's outermost nodes a vehicle may say it is
FAR_M = 1_000_000.0  # any map: a position further from its origin is no position
# headerIds a vehicle may send that the link does not hear, between two it does
MAX_AHEAD = 10_000
# a restarted vehicle counts from 0 (or 1) again; room for what it sent before the link heard it
RESTART_HEADER_MAX = 1000
# plausibility of a jump: the vehicle's top speed (its factsheet's; else this), with a margin
DEFAULT_SPEED_MPS = 10.0  # 36 km/h: above any container carrier on this site
SPEED_MARGIN = 1.5
JITTER_S = 1.0  # messages held up by the network and delivered in a burst
SLACK_M = 5.0  # localisation noise

# the warnings a vehicle's states carry while the link refuses its messages, as errorTypes
REFUSED, OUT_OF_ORDER, TELEPORT, FOREIGN_ORDER = "messageRefused", "messageOutOfOrder", "teleport", "foreignOrder"
LINK_WARNINGS = (REFUSED, OUT_OF_ORDER, TELEPORT, FOREIGN_ORDER)

_IDS = frozenset({
    "headerId", "orderUpdateId", "lastNodeSequenceId", "sequenceId", "referenceStateHeaderId",
})
_TEXTS = frozenset({"errorDescription", "infoDescription", "resultDescription", "actionResult", "actionDescription"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message is not taken: `code` the operator's warning (one of LINK_WARNINGS),
    `key` what it is about (for logs: one line per vehicle and key), `text` in words."""

    code: str
    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Area:
    """Where positions in the site's map may lie: its nodes' bounding box with a margin."""

    map_id: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


def site_area(site: VehicleMap | None, margin_m: float = SITE_MARGIN_M) -> Area | None:
    if site is None or not site.nodes:
        return None
    xs = [p.x for p in site.nodes.values()]
    ys = [p.y for p in site.nodes.values()]
    return Area(site.map_id, min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m)


def _refused(key: str, text: str) -> Problem:
    return Problem(REFUSED, key, text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _at(path: str) -> str:
    return path if len(path) <= 120 else "..." + path[-117:]


def _walk(message: dict[str, Any]) -> Problem | None:
    """Every number finite, every string, key and list bounded, every id a uint32;
    iterative, as a message may nest as deep as the JSON reader allows."""
    stack: list[tuple[str, str, Any]] = [("", "", message)]
    while stack:
        path, name, value = stack.pop()
        if name in _IDS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return _refused(name, f"{_at(path)}: {_show(value)} is not a whole number")
        if isinstance(value, dict):
            for k, v in value.items():
                if len(k) > MAX_ID_CHARS:
                    return _refused("key", f"{_at(path)}: a key of {len(k)} characters, more than {MAX_ID_CHARS}")
                stack.append((f"{path}/{k}", k, v))
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                return _refused("list", f"{_at(path)}: {len(value)} entries, more than {MAX_ITEMS}")
            stack.extend((f"{path}/{i}", name, v) for i, v in enumerate(value))
        elif isinstance(value, str):
            limit = MAX_TEXT_CHARS if name in _TEXTS else MAX_ID_CHARS
            if len(value) > limit:
                return _refused("string", f"{_at(path)}: {len(value)} characters, more than {limit}")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if name in _IDS and not 0 <= value < UINT32:
                return _refused(name, f"{_at(path)}: {_show(value)} is not a whole number in 0..{UINT32 - 1}")
            if abs(value) > MAX_EXACT:
                return _refused("number", f"{_at(path)}: {_show(value)} is beyond any number a vehicle reports")
        elif isinstance(value, float):
            if not math.isfinite(value):
                key = name if name in _IDS or name in ("batteryCharge", "stateOfCharge") else "number"
                return _refused(key, f"{_at(path)}: {value} is not a finite number")
            if name in _IDS and not (value.is_integer() and 0 <= value < UINT32):
                return _refused(name, f"{_at(path)}: {_show(value)} is not a whole number in 0..{UINT32 - 1}")
    return None


def _whole(message: Any) -> None:
    """The ids that came as whole floats (5.0) written back as ints."""
    stack = [message]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if k in _IDS and isinstance(v, float):
                    value[k] = int(v)
                elif isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, (dict, list)))


def _timestamp(text: Any) -> Problem | None:
    if not isinstance(text, str):
        return None  # the schema asks for it where it must be
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return _refused("timestamp", f"timestamp {text[:40]!r} is no ISO 8601 time")
    if "T" not in text and " " not in text:
        return _refused("timestamp", f"timestamp {text[:40]!r} is a date without a time")
    return None


def _position(at: dict[str, Any], area: Area | None) -> Problem | None:
    x, y = at.get("x"), at.get("y")
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
        return None  # the schema asks for both
    if area is not None and at.get("mapId") == area.map_id:
        if not (area.x_min <= x <= area.x_max and area.y_min <= y <= area.y_max):
            return _refused("position", f"position ({x:.0f}, {y:.0f}) is more than {SITE_MARGIN_M:.0f} m off the site's map")
    elif abs(x) > FAR_M or abs(y) > FAR_M:
        return _refused("position", f"position ({x:.0f}, {y:.0f}) in map {str(at.get('mapId'))[:40]!r} is further than {FAR_M:.0f} m")
    return None


def message_problem(topic: str, message: dict[str, Any], area: Area | None = None) -> Problem | None:
    """Why a schema-valid message of `topic` is not to be used, or None. Whole floats in
    id fields are written back as ints."""
    problem = _walk(message) or _timestamp(message.get("timestamp"))
    if problem is not None:
        return problem
    _whole(message)
    if topic == "state":
        battery, key = ("powerSupply", "stateOfCharge") if speaks_v3(message) else ("batteryState", "batteryCharge")
        charge = message[battery][key]  # both required by the schema
        if not 0 <= charge <= 100:
            return _refused(key, f"{key} {_show(charge)} is not in 0..100 %")
    at = robot_position(message)
    return _position(at, area) if at is not None else None


@dataclass
class HeaderOrder:
    """The last headerId taken on each topic of one vehicle, and when.

    A message is newer when its headerId is ahead of the last one by 1..MAX_AHEAD, counted
    modulo 2^32 (the count wraps: after 4294967295 comes 0). After the vehicle was lost or
    came back online, or after a silence of `gap_s`, a restarted vehicle may count from a
    small number again: then a headerId up to RESTART_HEADER_MAX is taken too, and any
    ahead by less than half the count (serial-number arithmetic, as RFC 1982)."""

    gap_s: float
    last: dict[str, tuple[int, float]] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)  # topics whose count may start again

    def problem(self, topic: str, header_id: int, now: float) -> Problem | None:
        if topic not in self.last:
            return None
        before, at = self.last[topic]
        ahead = (header_id - before) % UINT32
        if 0 < ahead <= MAX_AHEAD:
            return None
        restarted = topic in self.fresh or now - at > self.gap_s
        if restarted and (0 < ahead < UINT32 // 2 or header_id <= RESTART_HEADER_MAX):
            return None
        if ahead == 0:
            why = f"{topic} headerId {header_id} again"
        elif ahead >= UINT32 // 2:
            why = f"{topic} headerId {header_id} older than {before}, the last taken"
        else:
            why = f"{topic} headerId {header_id} is {ahead} ahead of {before}, the last taken"
        return Problem(OUT_OF_ORDER, f"{topic} headerId", why)

    def take(self, topic: str, header_id: int, now: float) -> None:
        self.last[topic] = (header_id, now)
        self.fresh.discard(topic)

    def restart(self) -> None:
        """The vehicle was lost or came online again: each topic's count may start anew."""
        self.fresh = set(self.last)


@dataclass(frozen=True, slots=True)
class Fix:
    """A position a vehicle reported, in which map, and when it came (link clock)."""

    x: float
    y: float
    map_id: str
    at: float


def reach_m(speed_mps: float, elapsed_s: float) -> float:
    """The furthest a vehicle of top speed `speed_mps` may plausibly be from where it was."""
    return speed_mps * SPEED_MARGIN * (max(0.0, elapsed_s) + JITTER_S) + SLACK_M


def jump_problem(last: Fix | None, new: Fix, speed_mps: float) -> Problem | None:
    """A position further from the last than the vehicle could have driven since."""
    if last is None or last.map_id != new.map_id:
        return None
    distance = math.hypot(new.x - last.x, new.y - last.y)
    elapsed = new.at - last.at
    limit = reach_m(speed_mps, elapsed)
    if distance <= limit:
        return None
    return Problem(TELEPORT, "teleport", f"its position jumped {distance:.0f} m in {max(0.0, elapsed):.2f} s, "
                                         f"more than the {limit:.0f} m it can drive at {speed_mps:g} m/s")


class LogOnce:
    """Logs a problem the first time per key, then at most once every `every_s` with how
    many were not logged between: a flood of bad messages is not a flood of log lines."""

    MAX_KEYS = 1000  # keys can come from the network: the oldest are forgotten

    def __init__(self, logger: logging.Logger, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self._seen: dict[Hashable, list[float]] = {}  # key -> [when last logged, how many since]

    def warning(self, key: Hashable, text: str, exc_info: bool = False) -> None:
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= self.MAX_KEYS:
                del self._seen[next(iter(self._seen))]
            self._seen[key] = [now, 0]
            self.logger.warning("%s", text, exc_info=exc_info)
        elif now - seen[0] >= self.every_s:
            self.logger.warning("%s (%d more like it in the last %.0f s)", text, int(seen[1]), now - seen[0], exc_info=exc_info)
            seen[0], seen[1] = now, 0
        else:
            seen[1] += 1


ALARM_HOLD_S = 60.0  # how long the operator is shown a warning after the last message refused
_SAID = {
    REFUSED: "refused at the link",
    OUT_OF_ORDER: "dropped at the link as replayed or out of order",
    TELEPORT: "refused at the link as a teleport",
    FOREIGN_ORDER: "refused at the link: they name an order master control never sent it",
}


@dataclass
class Alarm:
    """The messages of one vehicle refused for one kind of reason, while they go on."""

    code: str
    text: str  # the latest one's reason
    count: int
    last_at: float

    def words(self, now: float) -> str:
        """As the vehicle's errors are worded for the operator: level, type, description."""
        return f"WARNING {self.code}: {self.count} of its messages {_SAID[self.code]}, the latest {max(0.0, now - self.last_at):.0f} s ago: {self.text}"


def raise_alarm(alarms: dict[str, Alarm], problem: Problem, now: float, hold_s: float = ALARM_HOLD_S) -> None:
    alarm = alarms.get(problem.code)
    if alarm is None or now - alarm.last_at > hold_s:
        alarms[problem.code] = Alarm(problem.code, problem.text, 1, now)
    else:
        alarm.text, alarm.count, alarm.last_at = problem.text, alarm.count + 1, now


def live_alarms(alarms: dict[str, Alarm], now: float, hold_s: float = ALARM_HOLD_S) -> list[Alarm]:
    """The alarms still shown; those past `hold_s` are forgotten."""
    for code in [c for c, a in alarms.items() if now - a.last_at > hold_s]:
        del alarms[code]
    return list(alarms.values())
