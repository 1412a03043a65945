"""The yard gates' health, as the controllers keep it: which gates are faulted, the trucks
that wait at them, and the alarms the operators are shown.

A faulted gate (`BarrierState` with fault: its link lost, errors for answers, or it says
it is broken) opens for nobody: a truck whose plate is read there waits, in the order
it came. When the gate is back its waiting trucks go on, first come first.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from controllers.messages import BarrierState, PlateRead


@dataclass(frozen=True, slots=True)
class DeviceAlarm:
    """Raised once when a device faults (`fault`), and once when it is back (`back`);
    `text` says why, in the device's or the bridge's words."""

    device_id: str
    kind: Literal["fault", "back"]
    text: str
    at: float  # model seconds


@dataclass(slots=True)
class GateWatch:
    down: dict[str, str] = field(default_factory=dict)  # faulted gates: why
    waiting: dict[str, list[PlateRead]] = field(default_factory=dict)  # gate -> trucks held there, in order
    alarms: deque[DeviceAlarm] = field(default_factory=lambda: deque(maxlen=1000))
    faults: dict[str, int] = field(default_factory=dict)  # gate -> times it faulted

    def admit(self, read: PlateRead) -> bool:
        """Whether the truck may be let through now; if not it waits for its gate."""
        if read.device_id not in self.down:
            return True
        self.waiting.setdefault(read.device_id, []).append(read)
        return False

    def on_state(self, state: BarrierState, now: float) -> list[PlateRead]:
        """Take in a gate's health; the trucks that may go on now that it is back."""
        gate = state.device_id
        if state.fault:
            if gate not in self.down:
                self.faults[gate] = self.faults.get(gate, 0) + 1
                self.alarms.append(DeviceAlarm(gate, "fault", state.reason or "faulted", now))
            self.down[gate] = state.reason or "faulted"
            return []
        if self.down.pop(gate, None) is None:
            return []
        held = self.waiting.pop(gate, [])
        self.alarms.append(DeviceAlarm(gate, "back", f"{state.reason or 'back'}; {len(held)} trucks go on", now))
        return held

    def held(self, gate: str) -> int:
        """The trucks waiting at `gate`."""
        return len(self.waiting.get(gate, ()))
