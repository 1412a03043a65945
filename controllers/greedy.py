"""A strong simple baseline: earliest deadline first.

Containers are served in the order of their due time — the delivery deadline of
perishable cargo, or `slack_h` after arrival for the rest — by the nearest idle
carrier, and crane tasks follow the same order. With many identical cranes such list
scheduling is close to optimal for waiting; it has no look-ahead, so it cannot trade
one container's wait for another's deadline, nor move carriers before they are needed.
"""

from __future__ import annotations

from controllers.layout import SiteLayout
from controllers.messages import ContainerReady, CraneCommand, Side
from controllers.site import SiteController


class GreedyController(SiteController):
    name = "greedy"

    def __init__(self, layout: SiteLayout, slack_h: float = 6.0) -> None:
        super().__init__(layout)
        self.slack_s = slack_h * 3600
        self.due: dict[str, float] = {}

    def job_key(self, job: ContainerReady) -> tuple[float, ...]:
        due = job.deadline if job.deadline is not None else job.arrived_at + self.slack_s
        self.due[job.container_id] = due
        return (due, next(self._seq))

    def task_key(self, side: Side, task: CraneCommand) -> tuple[float, ...]:
        return (self.due.get(task.container_id, float("inf")), next(self._seq))
