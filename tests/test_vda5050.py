"""VDA 5050 messages: every message sent validates against the official 2.1 schema;
bad incoming messages are refused with a reason, never passed on."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from test_fifo import make_layout

from controllers.layout import SiteLayout
from controllers.messages import Action, CarrierState, InstantActions
from controllers.traffic import TrafficControl
from hardware_bridge.vda5050 import (
    BadMessage,
    carrier_state,
    decode,
    instant_actions_message,
    order_message,
    schema_errors,
    state_message,
    topic_name,
)


def orders(layout: SiteLayout) -> list:
    tc = TrafficControl(layout, max_base_blocks=2)
    first = tc.begin("C1", 0, "vietnam", "o1")
    second = tc.begin("C2", 0, "vietnam", "o2")  # waits behind C1: an empty base
    tc.on_state(CarrierState("C1", "o1", 0, "L0N1", 4, True, False, 90.0, False, None))
    update = tc.on_state(CarrierState("C1", "o1", 0, "L0N1", 4, True, False, 90.0, False, None))
    return [first, second, *update]


def test_every_order_the_traffic_controller_sends_validates() -> None:
    for k, order in enumerate(orders(make_layout())):
        message = order_message(order, header_id=k, manufacturer="LangSonTwin")
        assert schema_errors("order", message) == []
        assert all("report" not in node for node in message["nodes"])
        assert message["nodes"][0]["released"] is True


def test_instant_actions_validate_for_versions_2_0_and_2_1() -> None:
    msg = InstantActions("C1", (Action("startPause", "a1"), Action("cancelOrder", "a2"), Action("stopPause", "a3", "NONE")))
    for version in ("2.0.0", "2.1.0"):
        message = instant_actions_message(msg, 7, "LangSonTwin", version=version)
        assert schema_errors("instantActions", message) == []
        assert message["version"] == version


def test_a_state_round_trips_and_says_when_the_order_is_done() -> None:
    state = CarrierState("C1", "o1", 3, "CN", 12, False, False, 71.5, False, "VNLU0000011", ("E-BREAKDOWN",), True)
    message = state_message(state, 1, "LangSonTwin")
    assert schema_errors("state", message) == []
    back = carrier_state(decode("state", json.dumps(message).encode()))
    assert back == replace(state, error_texts=("FATAL E-BREAKDOWN",))
    # a WARNING is shown, it does not stop the carrier
    warned = replace(state, errors=(), warnings=("batteryLow",))
    back = carrier_state(decode("state", json.dumps(state_message(warned, 2, "LangSonTwin")).encode()))
    assert back.errors == () and back.warnings == ("batteryLow",) and back.error_texts == ("WARNING batteryLow",)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "a JSON object is required"),
        (json.dumps({"headerId": 1}).encode(), "is a required property"),
        (b" " * 300_000, "more than the"),
    ],
)
def test_bad_state_payloads_are_refused_with_the_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(BadMessage, match=reason):
        decode("state", payload)


def test_a_wrong_type_is_named_with_its_path() -> None:
    state = CarrierState("C1", "o1", 0, "VN", 0, False, False, 50.0, False, None)
    message = state_message(state, 1, "LangSonTwin")
    message["batteryState"]["batteryCharge"] = "full"
    with pytest.raises(BadMessage, match="batteryState/batteryCharge: 'full' is not of type 'number'"):
        decode("state", json.dumps(message).encode())


def test_topics_follow_the_standard_layout() -> None:
    assert topic_name("LangSonTwin", "AGV-001", "order") == "uagv/v2/LangSonTwin/AGV-001/order"


def test_every_carrier_command_of_a_simulated_hour_validates() -> None:
    from conftest import make_scenario, reference_data

    from twin.world import World

    d = reference_data()
    d["duration_h"] = 1
    d["fleet"]["battery_kwh"] = 30  # carriers charge within the hour: instant actions too
    world = World(make_scenario(d), controller="cpsat")
    sent: list = []
    dispatch = world.runtime._dispatch

    def record(commands: list) -> None:
        sent.extend(c for c in commands if type(c).__name__ in ("Order", "InstantActions"))
        dispatch(commands)

    world.runtime._dispatch = record  # type: ignore[method-assign]
    world.run()
    kinds = {type(c).__name__ for c in sent}
    assert kinds == {"Order", "InstantActions"} and len(sent) > 300
    for k, cmd in enumerate(sent):
        if type(cmd).__name__ == "Order":
            message = order_message(cmd, k, "LangSonTwin")
            assert schema_errors("order", message) == [], message
        else:
            assert schema_errors("instantActions", instant_actions_message(cmd, k, "LangSonTwin")) == []


@pytest.mark.parametrize("version", ["2.1.0", "3.0.0"])
def test_operating_mode_safety_state_information_and_new_base_request_are_read_as_the_standard_means(version: str) -> None:
    state = CarrierState("C1", "o1", 3, "L0N2", 4, True, False, 71.5, False, None)
    message = state_message(state, 1, "LangSonTwin", version=version)
    assert carrier_state(decode("state", json.dumps(message).encode())).errors == ()  # AUTOMATIC, no e-stop
    stop = "activeEmergencyStop" if version.startswith("3") else "eStop"
    message |= {
        "operatingMode": "SERVICE",
        "safetyState": {stop: "MANUAL", "fieldViolation": True},
        "newBaseRequest": True,
        "information": [{"infoType": "route", "infoLevel": "INFO", "infoDescription": "near the base end"}, {"infoType": "debug", "infoLevel": "DEBUG"}],
    }
    assert schema_errors("state", message) == []
    back = carrier_state(decode("state", json.dumps(message).encode()))
    # not master control's to drive: stopped, with the reason for the operator
    assert back.errors == ("operatingMode SERVICE", "eStop MANUAL")
    assert any("acknowledged at the vehicle" in t for t in back.error_texts)
    assert back.warnings == ("fieldViolation",)  # shown; the vehicle's own safety acts on it
    assert back.new_base_request
    assert back.information == ("INFO route: near the base end", "DEBUG debug")
    # SEMIAUTOMATIC is still master control's (only its speed is a person's)
    message |= {"operatingMode": "SEMIAUTOMATIC", "safetyState": {stop: "NONE", "fieldViolation": False}}
    assert carrier_state(decode("state", json.dumps(message).encode())).errors == ()


def test_a_3_0_state_round_trips_and_reads_3_0_error_levels() -> None:
    state = CarrierState("C1", "o1", 3, "CN", 12, True, False, 71.5, True, "VNLU0000011", ("E-BREAKDOWN",), True)
    message = state_message(state, 1, "LangSonTwin", version="3.0.0")
    assert schema_errors("state", message) == []
    assert "powerSupply" in message and "batteryState" not in message and message["instantActionStates"] == []
    back = carrier_state(decode("state", json.dumps(message).encode()))
    assert back == replace(state, error_texts=("FATAL E-BREAKDOWN",))
    # 3.0 levels: CRITICAL stops the order as FATAL does; URGENT is shown, the carrier works on
    message["errors"] = [{"errorType": t, "errorLevel": t} for t in ("WARNING", "URGENT", "CRITICAL", "FATAL")]
    back = carrier_state(decode("state", json.dumps(message).encode()))
    assert back.errors == ("CRITICAL", "FATAL") and back.warnings == ("WARNING", "URGENT")
    # a 2.1 state claiming 3.0 is refused: each version is checked against its own schema
    old = {**state_message(state, 2, "LangSonTwin", version="2.1.0"), "version": "3.0.0"}
    with pytest.raises(BadMessage, match="powerSupply"):
        decode("state", json.dumps(old).encode())
