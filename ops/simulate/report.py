"""The simulation's report: ``report/report.md`` with ``report/timeline.png`` beside it.

The Markdown lists each invariant with its verdict and figures, the headline
"drift onset -> better model serving in prod" in simulated hours, what the run
cost, and counts of what happened; the plot shows over simulated hours the
served model, the largest PSI against its thresholds, the flag rate, recall on
the labels that had arrived, and marks for alarms, runs, approvals, deploys and
rollbacks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config.atomic import write_atomically

if TYPE_CHECKING:
    from ops.simulate.engine import SimulationResult
    from ops.simulate.timeline import Timeline

REPORT_DIR = "report"
PLOT = "timeline.png"
MARKS = (
    ("alarm", "alarm", "red", "v"),
    ("run_started", "run", "tab:blue", "o"),
    ("approved", "approval", "tab:green", "s"),
    ("deploy_started", "deploy", "tab:purple", "^"),
    ("rollback_started", "rollback", "black", "x"),
)


def headline(result: SimulationResult) -> str | None:
    """ "drift onset -> better model serving in prod: N h", when the run shows it."""
    for check in result.checks:
        hours = check.figures.get("onset_to_serving_hours")
        if check.name.startswith("drift") and hours is not None:
            return f"drift onset -> better model serving in prod: {hours:.1f} simulated hours"
    return None


def write_report(result: SimulationResult) -> Path:
    """Write the Markdown and the plot; returns the Markdown's path."""
    out = result.work_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    plot_timeline(result.timeline, out / PLOT)
    lines = [
        f"# mlops simulate: {result.scenario.name}, {result.scenario.hours} simulated hours",
        "",
        headline(result) or "drift onset -> better model serving in prod: not reached",
        "",
        "## Invariants",
        "",
        "| invariant | verdict | figures |",
        "|---|---|---|",
    ]
    for check in result.checks:
        verdict = "pass" if check.passed else "**fail**"
        lines.append(f"| {check.name} | {verdict} | {check.detail.replace('|', '/')} |")
    lines += ["", "## Over time", "", f"![timeline]({PLOT})", ""]
    lines += _phases(result) + _counts(result.timeline) + _cost(result)
    path = out / "report.md"
    write_atomically(path, "\n".join(lines) + "\n")
    return path


def _phases(result: SimulationResult) -> list[str]:
    scenario = result.scenario
    lines = ["## Scenario", "", "| from hour | phase | generator drift |", "|---|---|---|"]
    lines += [f"| {p.start_hour:g} | {p.name} | {p.drift or '-'} |" for p in scenario.phases]
    if scenario.bad_fleet_hour is not None:
        lines.append(
            f"| {scenario.bad_fleet_hour:g} | the operator pins the earlier package by hand: "
            "its fleet fails | - |"
        )
    if scenario.broken_monitoring is not None:
        start, end = scenario.broken_monitoring
        lines.append(f"| {start:g} | capture unreadable until h{end:g} | - |")
    lines += [
        "",
        f"Labels arrive for {scenario.label_share:.0%} of captured requests after about "
        f"{scenario.label_delay_hours:g} h; the reviewer approves after "
        f"{scenario.approve_after} and reviews pull requests after {scenario.review_after}. "
        f"Stack settings: {', '.join(scenario.settings) or 'none'}.",
        "",
    ]
    return lines


def _counts(timeline: Timeline) -> list[str]:
    counts = Counter(entry.kind for entry in timeline.entries)
    lines = ["## What happened", "", "| event | count |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(counts.items())]
    return [*lines, ""]


def _cost(result: SimulationResult) -> list[str]:
    summary = result.summary
    return [
        "## What it cost",
        "",
        f"{summary.get('wall_seconds')} s wall, {summary.get('cpu_seconds')} s CPU in this "
        f"process and its steps; {summary.get('job_steps')} job steps, "
        f"{summary.get('alarm_evaluations')} alarm evaluations, "
        f"{summary.get('events_put')} events put.",
        "",
    ]


def plot_timeline(timeline: Timeline, path: Path) -> None:
    """Five panels over simulated hours: served model, PSI, flag rate, recall, events."""
    from ml.plots import _pyplot

    plt = _pyplot()
    samples = timeline.samples
    hours = [timeline.hours(s.at) for s in samples]
    versions = [_version(s.served) for s in samples]
    fig, axes = plt.subplots(5, 1, figsize=(11, 11), sharex=True)
    axes[0].step(hours, versions, where="post")
    axes[0].set(ylabel="served version", title="The loop over simulated time")
    _series(axes[1], hours, [s.max_psi for s in samples], "largest PSI")
    _series(axes[2], hours, [s.flag_rate for s in samples], "flag rate")
    _series(axes[3], hours, [s.recall for s in samples], "recall, mature labels")
    _events(axes[4], timeline)
    axes[4].set(xlabel="simulated hours")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _series(ax: Any, hours: list[float], values: list[float | None], label: str) -> None:
    points = [(h, v) for h, v in zip(hours, values, strict=True) if v is not None]
    if points:
        ax.plot([h for h, _ in points], [v for _, v in points], marker=".", linewidth=1)
    ax.set(ylabel=label)


def _events(ax: Any, timeline: Timeline) -> None:
    for row, (kind, label, color, marker) in enumerate(MARKS):
        at = [timeline.hours(e.at) for e in timeline.of_kind(kind) if e.at >= timeline.start]
        ax.scatter(at, [row] * len(at), color=color, marker=marker, label=label)
    ax.set_yticks(range(len(MARKS)), [label for _, label, _, _ in MARKS])


def _version(arn: str | None) -> int:
    return int(arn.rsplit("/", 1)[-1]) if arn else 0
