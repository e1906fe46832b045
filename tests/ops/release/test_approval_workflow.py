"""From the approval click to a canary: the workflows' own steps, offline, against moto_server.

Each approval goes the way it goes on AWS and GitHub, as far as that can run here:
the approval in the registry; its ``SageMaker Model Package State Change`` event
(AWS's documented example, for this package) through the plan's approval rule and
input transformer in moto's EventBridge, giving the repository dispatch payload;
``promote.yml``'s steps as a runner runs them (``tests.workflow_runner``) in a
fresh clone whose ``origin`` is a bare repository, with ``gh`` standing in for
GitHub's pull requests; the review (a merge into ``main``); ``deploy.yml``'s
``changes`` job and the stack job's steps before ``pulumi up`` (the feature lock,
the registry check; ``mlops scan`` is left out, checkov on every stack's plan is
tested in ``tests/infra``); and the plan of the merged stack file, which is what
``pulumi up`` applies: the endpoint serving the package with its canary.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from infra.config import load_stack
from infra.plan.engine import Plan, synthesize
from ml.model_artifact import TARBALL
from ops.local.emulator import FAKE_CREDENTIALS, moto_server
from ops.local.stack_emulation import provision_stack, push_image
from ops.release.promote import PromotionClients
from pipelines import registry
from tests.factories import IMAGE, register_package
from tests.fresh_clone import ROOT, environment, fresh_clone, git
from tests.infra.test_delivery import TOKEN, approval_event, stack_file_with_delivery
from tests.workflow_runner import StepRun, load, run_job

WORKFLOWS = ROOT / ".github" / "workflows"
DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
GROUPS = {s: f"mlops-{s}-fraud-models" for s in ("dev", "staging", "prod")}
# What the runner's `uses:` steps stand in for: actions/checkout, setup, credentials.
SKIPPED = {"mlops scan"}

pytestmark = pytest.mark.slow


@dataclass
class Site:
    """The account (moto), the repository (clone and origin) and GitHub (pull requests)."""

    clients: PromotionClients
    endpoint: str
    clone: Path
    pulls: Path
    env: dict[str, str]
    plans: dict[str, Plan] = field(default_factory=dict)

    def payload(self, arn: str) -> dict[str, Any]:
        """The dispatch payload the plan's rule and transformer make of ``arn``'s approval."""
        group, version = arn.split("/")[-2], int(arn.split("/")[-1])
        stack = next(s for s, g in GROUPS.items() if g == group)
        plan = self.plan(stack)
        hook = f"mlops-{stack}-model-package-approved"
        rule = plan.one("aws:cloudwatch/eventRule:EventRule", hook)
        target = plan.one("aws:cloudwatch/eventTarget:EventTarget", f"{hook}-github")
        transformer = target["inputs"]["inputTransformer"]
        event = copy.deepcopy(approval_event(group))
        event["detail"].update(ModelPackageArn=arn, ModelPackageVersion=version)
        return deliver(self, rule["inputs"]["eventPattern"], transformer, event)["client_payload"]

    def plan(self, stack: str) -> Plan:
        if stack not in self.plans:
            folder = self.clone.parent / f"delivery-{stack}"
            folder.mkdir(exist_ok=True)
            self.plans[stack] = synthesize(
                stack, config_file=stack_file_with_delivery(folder, stack, TOKEN)
            )
        return self.plans[stack]

    def fresh_checkout(self) -> None:
        """What actions/checkout gives a run: ``main`` as the origin has it, nothing else."""
        git(self.clone, "fetch", "--quiet", "origin")
        git(self.clone, "checkout", "--quiet", "--force", "main")
        git(self.clone, "reset", "--quiet", "--hard", "origin/main")
        git(self.clone, "clean", "--quiet", "-fd")

    def run(self, workflow: str, job: str, context: dict[str, Any]) -> list[StepRun]:
        self.fresh_checkout()
        document = load(WORKFLOWS / workflow)
        for step in document["jobs"][job]["steps"]:
            if step.get("name") in SKIPPED:
                step.pop("run")
        return run_job(document, job, context=context, cwd=self.clone, env=self.env)

    def approved(self, arn: str) -> list[StepRun]:
        context = {"github": {"event": {"client_payload": self.payload(arn)}, "token": "ghs_x"}}
        return self.run("promote.yml", "promote", context)

    def merge(self, branch: str) -> tuple[str, str]:
        """The reviewer merges the pull request from ``branch``; returns (before, after) of main."""
        before = git(self.clone, "rev-parse", "origin/main")
        git(self.clone, "fetch", "--quiet", "origin")
        git(self.clone, "push", "--quiet", "origin", f"origin/{branch}:main")
        pulls = json.loads(self.pulls.read_text())
        for pull in pulls:
            if pull["head"] == branch:
                pull["state"] = "merged"
        self.pulls.write_text(json.dumps(pulls))
        return before, git(self.clone, "rev-parse", f"origin/{branch}")

    def deploy(self, before: str, after: str) -> tuple[dict[str, str], dict[str, list[StepRun]]]:
        """deploy.yml for the push ``before..after``: what changed, each deploying job's steps."""
        context = {"github": {"event": {"before": before}, "sha": after}}
        changes = self.run("deploy.yml", "changes", context)[-1].outputs
        jobs = {
            stack: self.run("deploy.yml", stack, {"needs": {"changes": {"outputs": changes}}})
            for stack, change in changes.items()
            if change != "none"
        }
        return changes, jobs

    def pulls_from(self, branch: str) -> list[dict[str, Any]]:
        return [p for p in json.loads(self.pulls.read_text()) if p["head"] == branch]

    def pinned(self, stack: str) -> str | None:
        text = git(self.clone, "show", f"origin/main:environments/Pulumi.{stack}.yaml")
        serving = yaml.safe_load(text)["config"].get("mlops:serving") or {}
        return serving.get("modelPackageArn")


def deliver(site: Site, pattern: str, transformer: dict[str, Any], event: dict) -> dict[str, Any]:
    """``event`` through the rule and transformer in moto's EventBridge; the body it posts."""
    session = boto3.session.Session(region_name="us-east-1", **_credentials())
    events = session.client("events", endpoint_url=site.endpoint)
    sqs = session.client("sqs", endpoint_url=site.endpoint)
    url = sqs.create_queue(QueueName="dispatch-bodies")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="approved", EventPattern=pattern)
    events.put_targets(
        Rule="approved",
        Targets=[
            {
                "Id": "body",
                "Arn": queue["QueueArn"],
                "InputTransformer": {
                    "InputPathsMap": transformer["inputPaths"],
                    "InputTemplate": transformer["inputTemplate"],
                },
            }
        ],
    )
    events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    body: dict[str, Any] = json.loads(message["Body"])
    return body


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("approval")
    clone = fresh_clone(work / "clone")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.fake_gh import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    gh.chmod(0o755)
    with moto_server() as endpoint:
        session = boto3.session.Session(region_name="us-east-1", **_credentials())
        clients = PromotionClients(
            *(
                session.client(name, endpoint_url=endpoint)
                for name in ("sagemaker", "s3", "kms", "sts", "ecr")
            )
        )
        for stack in GROUPS:
            provision_stack(clients, load_stack(stack))
            # moto hands out no layer downloads: every repository holds the layers already.
            push_image(clients.ecr, f"mlops-{stack}-image", [b"layers"], IMAGE.split("@")[1])
        for key in (f"m/{TARBALL}", "m/evaluation.json"):
            clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=key, Body=b"x")
        serve_first_models(clients, clone)
        env = {
            **environment(clone),
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_GH_STATE": str(work / "pulls.json"),
            "GITHUB_ACTOR": "oncall",
            "GITHUB_RUN_ID": "1",
        }
        (work / "pulls.json").write_text("[]")
        git(work, "clone", "--quiet", "--bare", str(clone), str(work / "origin.git"))
        git(clone, "remote", "add", "origin", str(work / "origin.git"))
        git(clone, "fetch", "--quiet", "origin")
        yield Site(clients, endpoint, clone, work / "pulls.json", env)


def serve_first_models(clients: PromotionClients, clone: Path) -> None:
    """Every stack serves an approved model already (its endpoint exists): version 1."""
    from ops.release.pinning import pin_model_package

    for stack, group in GROUPS.items():
        first = register_package(clients.sagemaker, group=group, status="Approved")
        pin_model_package(clone / "environments" / f"Pulumi.{stack}.yaml", first)
    git(clone, "commit", "--quiet", "--all", "--message", "Every stack serves its first model")


def dev_model(site: Site) -> str:
    """A model the dev pipeline registered (dev approves on registration)."""
    return register_package(
        site.clients.sagemaker,
        status="Approved",
        model_data_url=f"s3://{DEV_ARTIFACTS}/m/{TARBALL}",
        metrics_uri=f"s3://{DEV_ARTIFACTS}/m/evaluation.json",
    )


def ok(runs: list[StepRun]) -> list[StepRun]:
    assert all(r.returncode == 0 for r in runs), [(r.name, r.stdout, r.stderr) for r in runs]
    return runs


@pytest.fixture(scope="module")
def journey(site) -> dict[str, Any]:
    """dev model -> dev canary -> staging canary, with a duplicate, a stale event, a rollback."""
    seen: dict[str, Any] = {}
    dev = dev_model(site)
    seen["dev arn"] = dev
    seen["first"] = ok(site.approved(dev))
    branch = seen["first"][0].outputs["branch"]
    seen["dev branch"] = branch
    origin_branch = git(site.clone, "rev-parse", f"origin/{branch}")
    seen["duplicate"] = ok(site.approved(dev))
    seen["branch moved"] = git(site.clone, "rev-parse", f"origin/{branch}") != origin_branch
    seen["dev deploy"] = site.deploy(*site.merge(branch))
    staging = [
        p
        for p in registry.list_packages(site.clients.sagemaker, GROUPS["staging"])
        if "PromotedFrom" in p.metadata
    ]
    seen["staging copies"] = staging
    registry.approve(site.clients.sagemaker, staging[0].arn, "dev canary clean for a day")
    seen["staging"] = ok(site.approved(staging[0].arn))
    seen["staging arn"] = staging[0].arn
    seen["staging deploy"] = site.deploy(*site.merge(seen["staging"][0].outputs["branch"]))
    seen["staging plan"] = synthesize(
        "staging", config_file=site.clone / "environments/Pulumi.staging.yaml"
    )
    seen["prod copies"] = registry.list_packages(site.clients.sagemaker, GROUPS["prod"])
    return seen


def test_the_approval_opens_one_pull_request_pinning_exactly_that_package(site, journey) -> None:
    (pull,) = site.pulls_from(journey["dev branch"])
    assert journey["dev branch"] == "serve/dev/mlops-dev-fraud-models-2"
    assert pull["title"] == "Serve mlops-dev-fraud-models version 2 in dev"
    assert journey["dev arn"] in pull["body"] and "Merging deploys **dev**" in pull["body"]
    assert site.pinned("dev") == journey["dev arn"]  # after the merge


def test_a_duplicate_event_opens_no_second_pull_request_and_changes_nothing(site, journey) -> None:
    opened = journey["duplicate"][1]
    assert "exists already: no second one" in opened.stdout
    assert not journey["branch moved"]
    assert len(site.pulls_from(journey["dev branch"])) == 1
    assert len(journey["staging copies"]) == 1  # the copy onward was found, not made again


def test_the_merge_deploys_only_that_stack_as_a_model_change(journey) -> None:
    changes, jobs = journey["dev deploy"]
    assert changes == {"dev": "pin", "staging": "none", "prod": "none"}
    steps = {run.name: run for run in jobs["dev"]}
    assert "ok serving.modelPackageArn" in steps["mlops deploy --check"].stdout
    assert "nothing to smoke-test" in steps["mlops smoke"].stdout  # no pulumi here


def test_the_approval_in_staging_pins_the_copy_and_offers_it_to_prod(site, journey) -> None:
    assert site.pinned("staging") == journey["staging arn"]
    changes, _ = journey["staging deploy"]
    assert changes == {"dev": "none", "staging": "pin", "prod": "none"}
    (prod,) = [p for p in journey["prod copies"] if "PromotedFrom" in p.metadata]
    assert prod.status == "PendingManualApproval"
    assert prod.metadata["PromotedFrom"] == journey["staging arn"]
    assert site.pinned("prod") != prod.arn


def test_the_merged_staging_file_plans_the_package_behind_a_canary(journey) -> None:
    plan = journey["staging plan"]
    model = plan.one("aws:sagemaker/model:Model")
    assert model["inputs"]["primaryContainer"]["modelPackageName"] == journey["staging arn"]
    policy = plan.one("aws:sagemaker/endpoint:Endpoint")["inputs"]["deploymentConfig"]
    routing = policy["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert routing["type"] == "CANARY"
    assert policy["autoRollbackConfiguration"]["alarms"]


def test_a_stale_approval_of_a_package_rejected_since_is_refused_with_one_line(site) -> None:
    arn = dev_model(site)
    registry.reject(site.clients.sagemaker, arn, "leaks the label")
    before = git(site.clone, "rev-parse", "origin/main")
    runs = site.approved(arn)
    assert [r.returncode for r in runs] == [1]
    assert runs[0].stderr.strip().splitlines() == [
        f"error: model package {arn} is Rejected (leaks the label); only an Approved package "
        f"is served (approve it with 'mlops registry approve {arn} --stack dev --reason ...')"
    ]
    assert git(site.clone, "rev-parse", "origin/main") == before


def test_a_merged_pin_of_a_pending_package_stops_before_pulumi_up(site, journey) -> None:
    from ops.release.pinning import pin_model_package

    (prod,) = [p for p in journey["prod copies"] if "PromotedFrom" in p.metadata]
    site.fresh_checkout()
    path = site.clone / "environments" / "Pulumi.prod.yaml"
    before = git(site.clone, "rev-parse", "HEAD")
    pin_model_package(path, prod.arn)
    git(site.clone, "commit", "--quiet", "--all", "--message", "pin by hand")
    git(site.clone, "push", "--quiet", "origin", "HEAD:refs/heads/by-hand")
    changes, jobs = site.deploy(*site.merge("by-hand"))
    assert changes["prod"] == "pin"
    assert [run.returncode for run in jobs["prod"]] == [0, 1]
    assert "is PendingManualApproval" in jobs["prod"][1].stderr
    git(site.clone, "push", "--quiet", "--force", "origin", f"{before}:main")


def test_rollback_pins_the_previous_package_through_a_pull_request(site, journey) -> None:
    newer = dev_model(site)
    opened = ok(site.approved(newer))
    site.merge(opened[0].outputs["branch"])
    assert site.pinned("dev") == newer
    runs = ok(
        site.run("rollback.yml", "rollback", {"inputs": {"stack": "dev"}, "github": {"token": "x"}})
    )
    assert "found in the git history" in runs[0].stdout
    branch = runs[0].outputs["branch"]
    assert branch == f"rollback/dev/mlops-dev-fraud-models-{newer.rsplit('/', 1)[1]}-to-2"
    changes, jobs = site.deploy(*site.merge(branch))
    assert changes["dev"] == "pin" and site.pinned("dev") == journey["dev arn"]
    assert all(run.returncode == 0 for run in jobs["dev"])
