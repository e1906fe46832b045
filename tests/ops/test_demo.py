"""The demo as a user runs it: the whole loop offline, from a corrupted drop to retraining."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError
from rich.console import Console

from ops.demo.loop import CORRUPT_FILE, DemoStageError, LoopResult, Stages
from ops.demo.report import type_family
from tests.cli import run_mlops, without_aws_credentials

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
# Less traffic per simulated hour than ``make demo``; the drops keep their default
# size, since the dev gates need it (12 000 rows fall short of recall at 90% precision).
TRAFFIC = "300"
# Every test of this module runs on one xdist worker (``make test`` passes
# ``--dist loadgroup``), so the session's demo runs once, not once per worker.
DEMO_GROUP = "demo"
pytestmark = pytest.mark.xdist_group(DEMO_GROUP)


def stack_files_text() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (REPO / "environments").glob("*.yaml")}


@dataclass
class DemoRun:
    work_dir: Path
    completed: subprocess.CompletedProcess[str]
    seconds: float
    environments_before: dict[str, str]

    def loop(self) -> dict:
        return json.loads((self.work_dir / "report" / "loop.json").read_text())


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    work_dir = tmp_path_factory.mktemp("demo")
    before = stack_files_text()
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.cli",
            "demo",
            "--work-dir",
            str(work_dir),
            "--traffic",
            TRAFFIC,
        ],
        cwd=REPO,
        env=without_aws_credentials(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    return DemoRun(work_dir, completed, time.perf_counter() - started, before)


@pytest.mark.slow
def test_every_stage_completes_and_the_report_path_is_the_last_line(demo_run: DemoRun) -> None:
    completed = demo_run.completed
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    last = completed.stdout.strip().splitlines()[-1]
    assert last == f"report: {demo_run.work_dir / 'report' / 'report.md'}"
    assert [s["name"][0] for s in demo_run.loop()["stages"]] == list("123456")


@pytest.mark.slow
def test_the_demo_pins_copies_and_leaves_environments_unchanged(demo_run: DemoRun) -> None:
    assert (demo_run.work_dir / "stacks" / "Pulumi.prod.yaml").is_file()
    assert stack_files_text() == demo_run.environments_before


@pytest.mark.slow
def test_the_report_shows_both_pr_curves_and_the_drift_plot_as_pngs(demo_run: DemoRun) -> None:
    report_dir = demo_run.work_dir / "report"
    text = (report_dir / "report.md").read_text()
    assert "](pr_curves.png)" in text and "](drift_psi.png)" in text
    for name in ("pr_curves.png", "drift_psi.png"):
        assert (report_dir / name).read_bytes()[:8] == PNG
    champion = next((demo_run.work_dir / "simulation").rglob("champion.json"))
    curves = json.loads(champion.read_text())["report"]["curves"]
    assert [label.split(" ")[0] for label in curves[:2]] == ["champion", "challenger"]


@pytest.mark.slow
def test_the_corrupted_file_is_kept_in_quarantine_with_its_reason(demo_run: DemoRun) -> None:
    kept = demo_run.work_dir / "quarantine" / CORRUPT_FILE
    reason = json.loads(kept.with_name(f"{CORRUPT_FILE}.reason.json").read_text())
    assert kept.stat().st_size > 0
    assert reason["checks_failed"] == ["missing_columns"]
    assert demo_run.loop()["quarantined"][0]["quarantined_as"] == CORRUPT_FILE


@pytest.mark.slow
def test_the_drift_alarm_fires_on_the_captured_traffic(demo_run: DemoRun) -> None:
    loop = demo_run.loop()
    assert loop["alarm"] == {"name": "mlops-prod-drift-alarm", "state": "ALARM"}
    assert loop["drift"]["max_psi_feature"] == "amount"


@pytest.mark.slow
def test_an_alarm_delivered_twice_starts_exactly_one_retraining(demo_run: DemoRun) -> None:
    retrain = demo_run.loop()["retrain"]
    assert retrain["pipeline"] == "mlops-prod-training"
    decisions = retrain["decisions"]
    alarms = {d["alarm"] for d in decisions}
    assert {"mlops-prod-drift-alarm", "mlops-prod-drift-feature-amount"} <= alarms
    assert len(decisions) == 2 * len(alarms)  # each alarm's event delivered twice
    assert [d["started"] for d in decisions].count(True) == 1
    assert len(retrain["executions"]) == 1
    assert {d["execution_arn"] for d in retrain["decisions"]} == set(retrain["executions"])


@pytest.mark.slow
def test_the_retraining_is_gated_against_the_champion_prod_serves(demo_run: DemoRun) -> None:
    pinned = yaml.safe_load((demo_run.work_dir / "stacks" / "Pulumi.prod.yaml").read_text())
    arn = pinned["config"]["mlops:serving"]["modelPackageArn"]
    loop = demo_run.loop()
    assert loop["champion"]["package_arn"] == arn
    assert loop["challenger"]["dataset_version"] != loop["champion"]["dataset_version"]


@pytest.mark.slow
def test_the_prod_plan_rolls_out_by_canary_with_rollback_alarms(demo_run: DemoRun) -> None:
    plan = json.loads((demo_run.work_dir / "prod.plan.json").read_text())
    endpoint = next(r for r in plan["resources"] if r["type"] == "aws:sagemaker/endpoint:Endpoint")
    deployment = endpoint["inputs"]["deploymentConfig"]
    routing = deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"]
    assert routing == "CANARY"
    assert len(deployment["autoRollbackConfiguration"]["alarms"]) == 3
    prod = demo_run.loop()["stacks"]["prod"]
    assert prod["scan"]["failed"] == 0 and "CANARY" in prod["endpoint"]


@pytest.mark.slow
def test_every_stack_is_planned_scanned_and_priced(demo_run: DemoRun) -> None:
    assert set(demo_run.loop()["stacks"]) == {"dev", "staging", "prod"}
    text = (demo_run.work_dir / "report" / "report.md").read_text()
    assert "| service | dev | staging | prod |" in text


def test_a_failing_stage_becomes_one_line_naming_it(tmp_path: Path) -> None:
    result = LoopResult(tmp_path)
    stages = Stages(result, Console(file=io.StringIO()))
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    failed = r"^demo stage '3 traffic' failed: .*AccessDenied"
    with pytest.raises(DemoStageError, match=failed), stages.stage("3 traffic"):
        raise denied
    assert [s.name for s in result.stages] == ["3 traffic"]


def test_an_unknown_stack_fails_the_demo_with_one_line() -> None:
    completed = run_mlops("demo", "--stack", "qa")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        "error: unknown stack 'qa'; the demo tours dev, staging, prod"
    ]


def test_resources_are_counted_by_their_provider_module() -> None:
    assert type_family("aws:sagemaker/endpoint:Endpoint") == "aws:sagemaker"
    assert type_family("docker-build:index:Image") == "docker-build"


@pytest.mark.slow
def test_the_monitoring_half_is_the_simulation_with_its_plot_and_invariants(
    demo_run: DemoRun,
) -> None:
    simulation = demo_run.loop()["simulation"]
    assert simulation["scenario"] == "demo"
    assert {c["name"] for c in simulation["checks"]} >= {"every byte that landed is kept"}
    report_dir = demo_run.work_dir / "report"
    assert "](simulation.png)" in (report_dir / "report.md").read_text()
    assert (report_dir / "simulation.png").read_bytes()[:8] == PNG


def test_make_test_keeps_the_demo_on_one_worker() -> None:
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert recipe is not None and "--dist loadgroup" in recipe.group(1)
    assert (pytestmark.mark.name, pytestmark.mark.args) == ("xdist_group", (DEMO_GROUP,))
