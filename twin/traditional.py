"""The traditional flow beside the corridor: human-driven trucks through the 8 steps.

Trucks arrive by the hour of the day, are admitted at the road gate's capacity, and
go through the published import steps in order, each with its own servers. At the
transshipment step a Chinese truck must first be paired ("ghép xe") with the
Vietnamese truck that takes over its cargo.
"""

from __future__ import annotations

import random
from collections.abc import Generator

import simpy

from twin.meters import Level, Samples
from twin.sampling import sampler
from twin.scenario import Traditional


class TraditionalFlow:
    def __init__(self, env: simpy.Environment, spec: Traditional, rng: random.Random) -> None:
        self.env = env
        self.spec = spec
        self.rng = rng
        self.admission = simpy.Resource(self.env, capacity=1)
        self.admit_s = 3600.0 / spec.capacity_trucks_per_hour
        self.steps = [
            (step.name, simpy.Resource(self.env, capacity=step.servers), sampler(step.duration, rng))
            for step in spec.steps
        ]
        self.pairing = sampler(spec.pairing_wait, rng)
        self.in_system = Level()
        self.times = Samples()
        self.arrived = 0
        self.done = 0

    def truck(self) -> Generator[simpy.Event, None, None]:
        env = self.env
        start = env.now
        self.arrived += 1
        self.in_system.change(start, 1)
        with self.admission.request() as req:  # the road gate admits trucks at its capacity
            yield req
            yield env.timeout(self.admit_s)
        for name, resource, duration in self.steps:
            if name == self.spec.transshipment_step:
                yield env.timeout(self.pairing())
            with resource.request() as req:
                yield req
                yield env.timeout(duration())
        self.done += 1
        self.in_system.change(env.now, -1)
        self.times.add(env.now - start)
