"""Simulated time, and the emulator's clock set to it.

moto stamps what it stores with the wall clock (pipeline execution start times,
S3 ``LastModified``, alarm state times): in simulated time those stamps must be
simulated too, or the retrain gate's cool-down and the quality job's "labels
written since the window began" would compare two different clocks. moto's
server runs in a thread of this process (``ops.local.emulator.moto_server``),
so ``emulator_clock`` points every moto module's ``utcnow`` at the simulation's
clock while it runs, and restores them after.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# The services the simulation uses; imported before patching so each binds ``utcnow`` first.
MOTO_SERVICES = (
    "moto.core.utils",
    "moto.cloudwatch.models",
    "moto.events.models",
    "moto.s3.models",
    "moto.sagemaker.models",
    "moto.sns.models",
    "moto.sqs.models",
    "moto.scheduler.models",
)


@dataclass
class SimClock:
    """The simulation's "now": a UTC instant that only moves forward."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, tzinfo=UTC))

    def advance_to(self, instant: datetime) -> None:
        """Move to ``instant``; time never runs backwards."""
        if instant < self.now:
            raise ValueError(f"the clock cannot go back from {self.now} to {instant}")
        self.now = instant

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self.now + delta)

    def naive_utc(self) -> datetime:
        """``now`` as moto keeps its stamps: naive UTC."""
        return self.now.astimezone(UTC).replace(tzinfo=None)


@contextmanager
def emulator_clock(clock: SimClock) -> Iterator[None]:
    """moto reads ``clock`` instead of the wall clock until the block ends."""
    for name in MOTO_SERVICES:
        importlib.import_module(name)
    utils = sys.modules["moto.core.utils"]
    original = utils.utcnow
    patched = []
    for name, module in list(sys.modules.items()):
        if (name == "moto" or name.startswith("moto.")) and getattr(module, "utcnow", None) is (
            original
        ):
            module.utcnow = clock.naive_utc  # type: ignore[attr-defined]
            patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            module.utcnow = original  # type: ignore[attr-defined]
