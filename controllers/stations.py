"""The yard stations' health, as the controllers keep it: scanners that are down, and
weighbridges whose readings drift.

Weighing. A reading within the tolerance of the declared weight is accepted; any other
sends the truck to physical inspection, where it is weighed again. A weighbridge can
drift (its zero or its span moves): its readings then sit to one side of the
declarations truck after truck, where honest declarations scatter round the truth.
The controllers keep each weighbridge's last `window` deviations (reading against
declaration, relative, each clipped to `clip` times the tolerance so that one
misdeclared truck weighs little); their mean is the weighbridge's apparent drift. Once
`min_readings` are in and the drift is beyond `drift_share` of the tolerance, the
weighbridge is suspect, with an alarm: a truck is then accepted only if its reading is
within the tolerance both as read and corrected for the drift. So a drift can neither
wave through a truck whose declaration is off (its corrected reading is outside) nor
lose one (a reading pushed outside goes to inspection like any other). Once the
apparent drift is back within half that share the weighbridge is trusted again, with
an alarm saying so.

Scanners. `ScannerState` reports a yard's scanners down and back; outages may overlap
(several scanners, a random fault and an injected one), so a scanner device is down
while any outage it reported lasts. Every container must still be scanned: its truck
waits at the scanner, nothing is routed round it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from controllers.gates import DeviceAlarm
from controllers.messages import ScannerState, WeighDecision, WeightReading


@dataclass(slots=True)
class WeighbridgeRecord:
    deviations: deque[float]  # the latest relative deviations, reading against declaration
    suspect: bool = False
    drift: float = 0.0  # the apparent drift, relative (0.03: readings 3% above the declarations)
    margin: float = 0.0  # how uncertain that drift is (twice its standard error)
    agree: float = 1.0  # the share of the window the drift is seen from
    readings: int = 0
    rejected: int = 0
    calm: int = 0  # readings in a row, while suspect, that say it reads true again


@dataclass(slots=True)
class StationWatch:
    tolerance_pct: float
    window: int = 16
    min_readings: int = 8
    reach: float = 1.5  # tolerances from the centre within which a deviation counts as an honest one's
    drift_share: float = 0.5  # suspect beyond this share of the tolerance
    agree_share: float = 0.5  # ... or when fewer of the window agree with a drift than this share
    weighbridges: dict[str, WeighbridgeRecord] = field(default_factory=dict)
    scanners_down: dict[str, int] = field(default_factory=dict)  # scanner device -> outages in force
    alarms: deque[DeviceAlarm] = field(default_factory=lambda: deque(maxlen=1000))
    drift_alarms: int = 0  # times a weighbridge became suspect

    # --- weighing ---------------------------------------------------------------------

    def weigh(self, reading: WeightReading, now: float) -> WeighDecision:
        """Accept the truck's weight, or send it to inspection."""
        tolerance = self.tolerance_pct / 100
        rec = self.weighbridges.get(reading.device_id)
        if rec is None:
            rec = self.weighbridges[reading.device_id] = WeighbridgeRecord(deque(maxlen=self.window))
        rec.readings += 1
        measured, declared = reading.measured_kg, reading.declared_kg
        if not (math.isfinite(measured) and math.isfinite(declared)) or declared <= 0 or measured < 0:
            rec.rejected += 1  # nothing to judge by: inspected, and nothing learnt of the weighbridge
            return WeighDecision(reading.device_id, reading.truck_id, False)
        deviation = measured / declared - 1
        rec.deviations.append(min(deviation, 10.0))  # a reading ten times the declaration says enough
        self._judge_drift(reading.device_id, rec, now)
        ok = abs(deviation) <= tolerance + 1e-12
        if rec.suspect:  # judged as read, and as corrected for the drift seen, less its uncertainty
            ok = ok and abs((1 + deviation) / (1 + rec.drift) - 1) <= tolerance - rec.margin + 1e-12
        if not ok:
            rec.rejected += 1
        return WeighDecision(reading.device_id, reading.truck_id, ok)

    def _judge_drift(self, device_id: str, rec: WeighbridgeRecord, now: float) -> None:
        if len(rec.deviations) < self.min_readings:
            return
        tolerance = self.tolerance_pct / 100
        centre, error, rec.agree = _centre(list(rec.deviations), self.reach * tolerance)
        rec.drift = max(-0.9, centre)  # a weighbridge that reads nothing is broken, not drifting
        # most readings far from the declarations: no drift can be told apart from them, so
        # while that lasts nothing is accepted on its reading alone
        rec.margin = 2 * error if rec.agree >= self.agree_share else tolerance
        limit = self.drift_share * tolerance
        off = abs(rec.drift) > limit or rec.agree < self.agree_share
        if not rec.suspect and off:
            rec.suspect, rec.calm = True, 0
            self.drift_alarms += 1
            seen = (
                f"readings {rec.drift:+.1%} against the declarations"
                if rec.agree >= self.agree_share
                else f"{1 - rec.agree:.0%} of the readings far from their declarations"
            )
            text = (
                f"drift suspected: {seen} over the last {len(rec.deviations)} trucks; a truck is accepted "
                "only if its reading is within the tolerance as read and as corrected, the others are inspected"
            )
            self.alarms.append(DeviceAlarm(device_id, "fault", text, now))
        elif rec.suspect:
            rec.calm = rec.calm + 1 if abs(rec.drift) <= limit / 2 and rec.agree >= self.agree_share else 0
            if rec.calm < self.window:  # trusted again once it has read true for a whole window
                return
            rec.suspect, rec.calm = False, 0
            text = f"readings back within {rec.drift:+.1%} of the declarations for {self.window} trucks"
            self.alarms.append(DeviceAlarm(device_id, "back", text, now))

    def suspect(self) -> dict[str, float]:
        """The weighbridges whose readings drift now, with the drift seen (relative)."""
        return {d: r.drift for d, r in self.weighbridges.items() if r.suspect}

    # --- scanners ---------------------------------------------------------------------

    def on_scanner(self, state: ScannerState, now: float) -> None:
        device = state.device_id
        count = self.scanners_down.get(device, 0)
        if state.fault:
            self.scanners_down[device] = count + 1
            if count == 0:
                self.alarms.append(DeviceAlarm(device, "fault", "scanner down: its trucks wait to be scanned", now))
        elif count > 0:
            if count == 1:
                del self.scanners_down[device]
                self.alarms.append(DeviceAlarm(device, "back", "scanner back", now))
            else:
                self.scanners_down[device] = count - 1


def _centre(values: list[float], reach: float) -> tuple[float, float, float]:
    """Where the deviations centre, from those within `reach` of the centre (found from
    the median on): a misdeclared truck's deviation lies beyond the honest ones' and is
    left out. With the standard error of that centre, and the share of the values it
    was found from."""
    ordered = sorted(values)
    n = len(ordered)
    centre = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2  # the median to start from
    near = ordered
    for _ in range(5):
        near = [v for v in ordered if abs(v - centre) <= reach] or [centre]
        centre = sum(near) / len(near)
    if len(near) < 2:
        return centre, reach, len(near) / n
    spread = math.sqrt(sum((v - centre) ** 2 for v in near) / (len(near) - 1))
    return centre, spread / math.sqrt(len(near)), len(near) / n
