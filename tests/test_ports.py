"""The device ports: one per kind of device, implemented alike by the twin's devices and
the bridged ones, and a refusal that always comes back as an event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import make_scenario, reference_data

from checkpoint.bridged import CraneMirror
from checkpoint.live import ConsoleDevice
from controllers.messages import (
    BarrierCommand,
    Command,
    CommandRefused,
    CraneCommand,
    CraneState,
    InstantActions,
    OperatorReply,
    Order,
    WeighDecision,
)
from controllers.ports import TAKES, Refusal
from hardware_bridge.modbus_gate import ModbusGate
from hardware_bridge.mqtt_vehicles import VehiclePort
from hardware_bridge.opcua_crane import OpcUaCrane
from twin.kpi import summarise
from twin.world import World

ONE_OF_EACH: dict[type, Command] = {
    Order: Order("x", "o-1", 0, (), ()),
    InstantActions: InstantActions("x", ()),
    CraneCommand: CraneCommand("x", "load", "C-1", "AGV-001"),
    BarrierCommand: BarrierCommand("x", "T-1", True),
    WeighDecision: WeighDecision("x", "T-1", True),
    OperatorReply: OperatorReply("x", "r-1", True, "done"),
}


def test_every_command_is_taken_by_exactly_one_kind_of_device() -> None:
    owners = {cls: [kind for kind, takes in TAKES.items() if cls in takes] for cls in ONE_OF_EACH}
    assert all(len(kinds) == 1 for kinds in owners.values()), owners


def test_the_twin_and_the_bridge_implement_the_same_ports() -> None:
    # the kind each class declares is the port it implements; both worlds have one of each
    simulated = World(make_scenario(reference_data()))
    by_kind: dict[str, set[str]] = {}
    for port in simulated.runtime.ports.values():
        by_kind.setdefault(port.kind, set()).add(type(port).__name__)  # type: ignore[attr-defined]
    for yard in simulated.yards.values():
        by_kind.setdefault(yard.scanners.kind, set()).add(type(yard.scanners).__name__)
        by_kind.setdefault(yard.camera.kind, set()).add(type(yard.camera).__name__)
    assert by_kind == {
        "carrier": {"SimCarrier"},
        "crane": {"Crane"},
        "barrier": {"Gate"},
        "weighbridge": {"Weighbridge"},
        "scanner": {"Scanners"},
        "camera": {"SimCamera"},
    }
    bridged = {VehiclePort: "carrier", OpcUaCrane: "crane", ModbusGate: "barrier", CraneMirror: "crane", ConsoleDevice: "console"}
    assert {cls: cls.kind for cls in bridged} == bridged


@pytest.mark.parametrize("device_id", ["AGV-001", "VN-crane-1", "VN-gate", "CN-weighbridge"])
def test_a_command_of_the_wrong_kind_is_refused_in_one_wording_as_an_event(device_id: str) -> None:
    world = World(make_scenario(reference_data()))
    port = world.runtime.ports[device_id]
    kind: Any = port.kind  # type: ignore[attr-defined]
    wrong = [replace(cmd, device_id=device_id) for cls, cmd in ONE_OF_EACH.items() if cls not in TAKES[kind]]
    for cmd in wrong:
        with pytest.raises(Refusal, match=rf"^{device_id} is a {kind} and takes .*, not {type(cmd).__name__}$"):
            port.accept(cmd)
    world.runtime._dispatch(wrong)  # as the controllers' commands go out
    refused = list(world.controller.refusals)
    assert [r.command for r in refused] == [type(c).__name__ for c in wrong]
    assert world.runtime.commands_refused == len(wrong)


def test_the_console_refuses_what_is_not_a_reply() -> None:
    with pytest.raises(Refusal, match="is a console and takes OperatorReply, not BarrierCommand"):
        ConsoleDevice().accept(BarrierCommand("operator-console", "T-1", True))


def test_a_crane_move_the_world_cannot_follow_ends_in_an_event_not_a_crash(data: dict[str, Any]) -> None:
    # the crane is told to lift a container that is not there: the move runs, the world
    # cannot follow it, and the controllers hear why while the twin goes on
    world = World(make_scenario(data))
    world.begin()
    crane = world.yards["vietnam"].cranes[0]
    crane.accept(CraneCommand(crane.device_id, "load", "NO-SUCH-CONTAINER", "AGV-001"))
    world.env.run(until=1800)
    refused = [r for r in world.controller.refusals if r.device_id == crane.device_id]
    assert len(refused) == 1 and refused[0].command == "CraneCommand"
    assert "unknown container NO-SUCH-CONTAINER" in refused[0].reason
    assert not crane.busy
    assert summarise(world)["containers_delivered"] > 0  # the twin went on


class _Crane:
    """A bridged crane's port that records what it is told."""

    kind = "crane"

    def __init__(self) -> None:
        self.device_id = "VN-crane-1"
        self.accepted: list[Command] = []

    def accept(self, command: Command) -> None:
        self.accepted.append(command)


def test_a_bridged_crane_whose_move_the_world_cannot_follow_is_reported_not_raised(data: dict[str, Any]) -> None:
    world = World(make_scenario(data))
    yard = world.yards["vietnam"]
    published: list[object] = []
    yard.links = replace(yard.links, publish=published.append)
    mirror = CraneMirror(yard, "VN-crane-1", _Crane())
    cmd = CraneCommand("VN-crane-1", "deliver", "NO-SUCH-CONTAINER")
    mirror.accept(cmd)
    assert mirror.busy
    mirror.observe(CraneState("VN-crane-1", "vietnam", False, False, "deliver", "NO-SUCH-CONTAINER", None, "truck"))
    refused = [e for e in published if isinstance(e, CommandRefused)]
    assert len(refused) == 1 and "unknown container NO-SUCH-CONTAINER" in refused[0].reason
    states = [e for e in published if isinstance(e, CraneState)]
    assert states and states[-1].done_op is None  # the move is not reported as done
    assert not mirror.busy and mirror.moves == 0
