"""Instant actions followed to their end: did the pause, the cancel, the charge take effect?

VDA 5050 gives each instant action an id and has the vehicle report its status
(`ActionState`: RUNNING, FINISHED, FAILED ...). Not every vehicle reports the states of
instant actions, so a state that shows the effect counts as well: paused for
startPause, not paused for stopPause, charging for startCharging, not charging for
stopCharging, the order cancelled for cancelOrder, the node it was placed at for
initPosition. An action neither confirmed nor failed within `timeout_s` model seconds is
overdue: the control room is told once, and it stays pending (a late answer still counts).

Plain bookkeeping: the site controller tells it what it sent and what came back, and
decides what each outcome means for the carrier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from controllers.messages import ActionState, CarrierState, Command, InstantActions

ACTION_TIMEOUT_S = 30.0  # model seconds a vehicle has to answer an instant action
FOLLOWED = ("startPause", "stopPause", "cancelOrder", "startCharging", "stopCharging", "initPosition")


@dataclass(slots=True)
class SentAction:
    carrier_id: str
    action_id: str
    action_type: str
    sent_at: float
    node_id: str = ""  # initPosition: where the vehicle is told it stands
    overdue: bool = False  # the control room was told it has no answer yet


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """An action that ended: FINISHED (or its effect seen in a state) or FAILED, and why."""

    action: SentAction
    ok: bool
    why: str = ""


def _took_effect(action: SentAction, state: CarrierState) -> bool:
    kind = action.action_type
    if kind == "startPause":
        return state.paused
    if kind == "stopPause":
        return not state.paused
    if kind == "startCharging":
        return state.charging
    if kind == "stopCharging":
        return not state.charging
    if kind == "cancelOrder":
        return state.order_cancelled
    if kind == "initPosition":
        return state.last_node_id == action.node_id and state.position_initialized
    return False


@dataclass(slots=True)
class ActionWatch:
    timeout_s: float = ACTION_TIMEOUT_S
    pending: dict[str, SentAction] = field(default_factory=dict)  # action id -> what was sent

    def sent(self, commands: Iterable[Command], now: float) -> None:
        for command in commands:
            if not isinstance(command, InstantActions):
                continue
            for a in command.actions:
                if a.action_type in FOLLOWED:
                    node = next((str(v) for k, v in a.parameters if k == "lastNodeId"), "")
                    self.pending[a.action_id] = SentAction(command.device_id, a.action_id, a.action_type, now, node)

    def waiting(self, carrier_id: str, action_type: str) -> SentAction | None:
        """The latest action of this type sent to the carrier that has not ended."""
        found = None
        for a in self.pending.values():
            if a.carrier_id == carrier_id and a.action_type == action_type:
                found = a
        return found

    def on_action_state(self, report: ActionState) -> ActionOutcome | None:
        action = self.pending.get(report.action_id)
        if action is None or action.carrier_id != report.device_id or report.status not in ("FINISHED", "FAILED"):
            return None
        del self.pending[report.action_id]
        ok = report.status == "FINISHED"
        return ActionOutcome(action, ok, "" if ok else report.result or f"{action.action_type} FAILED")

    def refused(self, carrier_id: str, action_id: str | None, why: str) -> ActionOutcome | None:
        """The vehicle refused an instant action in an error naming it."""
        action = self.pending.get(action_id or "")
        if action is None or action.carrier_id != carrier_id:
            return None
        del self.pending[action.action_id]
        return ActionOutcome(action, False, why)

    def on_state(self, state: CarrierState) -> list[ActionOutcome]:
        """Actions whose effect this state shows: they count as FINISHED, for vehicles that
        do not report the states of instant actions."""
        out = []
        for action in [a for a in self.pending.values() if a.carrier_id == state.device_id]:
            if _took_effect(action, state):
                del self.pending[action.action_id]
                out.append(ActionOutcome(action, True))
        return out

    def overdue(self, now: float) -> list[SentAction]:
        """Actions with no answer for `timeout_s`, each told once."""
        out = []
        for action in self.pending.values():
            if not action.overdue and now - action.sent_at > self.timeout_s:
                action.overdue = True
                out.append(action)
        return out

    def forget(self, carrier_id: str, action_type: str) -> None:
        """A later action undoes this one (stopPause after a startPause that never answered)."""
        for action_id in [i for i, a in self.pending.items() if a.carrier_id == carrier_id and a.action_type == action_type]:
            del self.pending[action_id]
