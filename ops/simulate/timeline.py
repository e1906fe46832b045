"""What happened, when: the simulation's record, written as ``timeline.json``.

Two kinds of entries: *events* (a data drop landed, a schedule fired, an alarm
changed state, the gate decided, a package was registered or approved, a pull
request was opened or merged, a deployment started, shifted, completed or rolled
back) and hourly *samples* (which model served, the hour's largest PSI, flag
rate and errors, recall on the labels that had matured). The invariants and the
report read only this record and the emulator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.config.atomic import write_atomically


@dataclass(frozen=True)
class Entry:
    """One event: when (simulated), what kind, and its details."""

    at: datetime
    kind: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, **self.detail}


@dataclass(frozen=True)
class Sample:
    """The state of the world at the end of one simulated hour."""

    at: datetime
    served: str | None
    max_psi: float | None
    flag_rate: float | None
    recall: float | None
    mature_labels: int
    requests: int
    errors: int
    phase: str


@dataclass
class Timeline:
    """Events and hourly samples, in the order they happened."""

    start: datetime
    entries: list[Entry] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def record(self, at: datetime, kind: str, **detail: Any) -> Entry:
        entry = Entry(at, kind, detail)
        self.entries.append(entry)
        return entry

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind in kinds]

    def hours(self, at: datetime) -> float:
        """Simulated hours since the start."""
        return (at - self.start).total_seconds() / 3600

    def to_dict(self, summary: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "summary": summary or {},
            "events": [entry.to_dict() for entry in self.entries],
            "samples": [{**asdict(sample), "at": sample.at.isoformat()} for sample in self.samples],
        }

    def write(self, path: Path, summary: dict[str, Any] | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(self.to_dict(summary), indent=2, default=str))
        return path
