"""From a change in the world to a better model serving: the path one invariant follows.

After a change's onset: the alarm-started runs (at most one per cool-down),
the first of them that registered a package, that package's dataset (does it
hold data that landed after the onset?), its approvals, its pull requests and
their reviews, and when it completed its deployment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ops.simulate.runs import Execution
    from ops.simulate.state import Sim


@dataclass
class ServingPath:
    """What happened between a change's onset and the next phase."""

    start: datetime
    alarm_runs: list[Execution] = field(default_factory=list)
    package: str | None = None
    approvals: int = 0
    reviews: int = 0
    served_at: datetime | None = None
    dataset_after_onset: bool = False
    problems: list[str] = field(default_factory=list)

    def figures(self, sim: Sim) -> dict[str, Any]:
        hours = (self.served_at - self.start).total_seconds() / 3600 if self.served_at else None
        return {
            "alarm_runs": len(self.alarm_runs),
            "package": self.package,
            "approvals": self.approvals,
            "reviews": self.reviews,
            "dataset_includes_change": self.dataset_after_onset,
            "onset_to_serving_hours": hours,
        }

    def describe(self) -> str:
        if self.package is None:
            return f"{len(self.alarm_runs)} alarm-started run(s), none registered a model"
        served = (
            f"serving {(self.served_at - self.start).total_seconds() / 3600:.1f} h after onset"
            if self.served_at
            else "not serving"
        )
        return (
            f"{len(self.alarm_runs)} alarm-started run(s); {self.package.rsplit('/', 2)[-2:]} "
            f"after {self.approvals} approval(s) and {self.reviews} review(s), {served}"
        )


def cooldown(sim: Sim) -> timedelta:
    """The retrain gate's cool-down, as the planned function is configured."""
    for function in sim.applied.functions.values():
        variables = (function.get("environment") or {}).get("variables", {})
        if "RETRAIN_COOLDOWN_MINUTES" in variables:
            return timedelta(minutes=int(variables["RETRAIN_COOLDOWN_MINUTES"]))
    return timedelta(0)


def serving_path(
    sim: Sim, start: datetime, end: datetime, caught: datetime | None = None
) -> ServingPath:
    """The path from the alarm-started runs in ``[caught, end)`` to a model serving.

    ``start`` is the change's onset; ``caught`` (default: the onset) the first alarm
    after it. A run started before the change was caught answers an earlier alarm
    (the gate's sweep of one still in ALARM), not this change.
    """
    path = ServingPath(start)
    first = caught or start
    path.alarm_runs = sorted(
        (e for e in sim.runs.executions.values() if e.kind == "alarm" and first <= e.started < end),
        key=lambda e: e.started,
    )
    if not path.alarm_runs:
        path.problems.append("no alarm-started run")
        return path
    registered = [e for e in path.alarm_runs if e.package_arn]
    if not registered:
        path.problems.append("no alarm-started run registered a model")
        return path
    path.package = package = str(registered[0].package_arn)
    path.dataset_after_onset = dataset_holds_data_after(sim, registered[0].metadata, start)
    path.approvals = sum(
        1
        for e in sim.timeline.of_kind("approved")
        if e.detail["package"] == package and e.detail["changed"]
    )
    pulls = [p for p in sim.repo.pulls if p.arn == package and p.purpose == "serve"]
    path.reviews = sum(p.reviews for p in pulls)
    done = [e for e in sim.timeline.of_kind("deploy_completed") if e.detail["package"] == package]
    path.served_at = done[0].at if done else None
    if not path.dataset_after_onset:
        path.problems.append("the retrained model's dataset holds nothing that landed after onset")
    if path.approvals != 1 or path.reviews != 1 or len(pulls) != 1:
        path.problems.append(
            f"{path.approvals} approval(s), {len(pulls)} pull request(s), {path.reviews} review(s)"
        )
    if path.served_at is None:
        path.problems.append("the retrained model never served")
    return path


def dataset_holds_data_after(sim: Sim, metadata: dict[str, str], start: datetime) -> bool:
    """Whether the dataset version a run trained on lists an object that landed after ``start``."""
    from pipelines.s3 import split_s3_uri

    manifest = metadata.get("DatasetManifestUri")
    if not manifest or sim.world is None:
        return False
    bucket, key = split_s3_uri(manifest.rsplit("/", 1)[0] + "/dataset.json")
    record = json.loads(sim.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    _, prefix = split_s3_uri(record["prefix"])
    listed = {f"{prefix}{item['key']}" for item in record["objects"]}
    return any(put.key in listed and put.at > start for put in sim.world.ledger.landed)
