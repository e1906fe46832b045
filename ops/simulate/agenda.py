"""The simulation's agenda: what happens next, in simulated time.

Actions at the same instant run in a fixed order of kinds (what the world does
first, then the services that react, then the people), and in the order they
were added within a kind, so a run is reproducible from its seed.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER = (
    "slice",
    "hour",
    "fire",
    "finish",
    "judge",
    "deliver",
    "operator",
    "approve",
    "review",
    "deploy",
    "rollout",
    "minute",
)


@dataclass(order=True, frozen=True)
class Action:
    """Something to do at ``at``; ``kind`` names the handler."""

    at: datetime
    rank: int
    number: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


class Agenda:
    """A priority queue of actions."""

    def __init__(self) -> None:
        self._heap: list[Action] = []
        self._numbers = itertools.count()

    def add(self, at: datetime, kind: str, payload: Any = None) -> Action:
        action = Action(at, ORDER.index(kind), next(self._numbers), kind, payload)
        heapq.heappush(self._heap, action)
        return action

    def peek(self) -> Action | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> Action:
        return heapq.heappop(self._heap)

    def __len__(self) -> int:
        return len(self._heap)
