"""The yard devices' health, as the controllers keep it: which gates and cranes are
faulted and why, the trucks that wait at a faulted gate, and the alarms the operators
are shown.

A faulted gate (`BarrierState` with fault: its link lost, errors for answers, or it says
it is broken) opens for nobody: a truck whose plate is read there waits, in the order
it came. When the gate is back its waiting trucks go on, first come first. A faulted
crane (`CraneState` with fault) is given no task; the move it has holds until it is back.
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
class DeviceWatch:
    """Devices of one kind: the faulted ones and why, how often each faulted, the alarms."""

    down: dict[str, str] = field(default_factory=dict)  # faulted devices: why
    alarms: deque[DeviceAlarm] = field(default_factory=lambda: deque(maxlen=1000))
    faults: dict[str, int] = field(default_factory=dict)  # device -> times it faulted

    def faulted(self, device_id: str, reason: str, now: float) -> None:
        """The device is faulted: an alarm the first time, the latest reason kept."""
        if device_id not in self.down:
            self.faults[device_id] = self.faults.get(device_id, 0) + 1
            self.alarms.append(DeviceAlarm(device_id, "fault", reason or "faulted", now))
        self.down[device_id] = reason or "faulted"

    def back(self, device_id: str, text: str, now: float) -> bool:
        """The device works again: whether it was faulted (then with an alarm saying so)."""
        if self.down.pop(device_id, None) is None:
            return False
        self.alarms.append(DeviceAlarm(device_id, "back", text, now))
        return True


@dataclass(slots=True)
class GateWatch(DeviceWatch):
    waiting: dict[str, list[PlateRead]] = field(default_factory=dict)  # gate -> trucks held there, in order

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
            self.faulted(gate, state.reason, now)
            return []
        if gate not in self.down:
            return []
        held = self.waiting.pop(gate, [])
        self.back(gate, f"{state.reason or 'back'}; {len(held)} trucks go on", now)
        return held

    def held(self, gate: str) -> int:
        """The trucks waiting at `gate`."""
        return len(self.waiting.get(gate, ()))
