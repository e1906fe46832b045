"""``mlops pipeline run-local``: the stack's training pipeline, run as SageMaker runs it.

The runner builds the same definition ``pulumi up`` deploys (with the emulator's
names), starts moto's server (unless given an endpoint), then walks the
definition: every job step runs its container command as a subprocess with the
container's environment and ``/opt/ml`` layout, reading and writing the
emulated S3; the step cache keys on what SageMaker keys on; the condition step
is evaluated on the steps' property files; the register step calls
``CreateModelPackage`` with the resolved arguments.

One difference is deliberate: the emulator has no Feature Store runtime, so the
runner sets ``MLOPS_LOCAL_OFFLINE_RECORDS_URI`` for the steps and the Features
step writes its records to the offline-store prefix of the data bucket instead
of calling ``PutRecord``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.image_context import LOCAL_ACCOUNT
from ml.quarantine import copy_quarantine
from ops.local import container
from ops.local.emulator import AwsClients, aws_emulator, ensure_bucket
from ops.local.failures import run_failure, step_failure
from ops.local.job_runner import JobRunner, Launcher, StepFailedError, StepOutcome
from ops.local.run_state import RunState, condition_holds
from ops.local.step_cache import StepCache
from pipelines.definitions.training import TrainingPipelineSpec, build_definition, gates_of
from pipelines.s3 import upload_dir, upload_file

if TYPE_CHECKING:
    from infra.config import StackConfig

DEFAULT_ROWS = 100_000  # the demo's drop size: a test split with enough frauds to gate
DEFAULT_SEED = 42
INPUT_NAME = "transactions.csv"


@dataclass
class LocalRun:
    """The outcome of a local run: per-step outcomes and the registered package, if any."""

    execution_id: str
    outcomes: list[StepOutcome] = field(default_factory=list)
    package_arn: str | None = None
    approval_status: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    emulator_url: str | None = None


def local_spec(config: StackConfig) -> TrainingPipelineSpec:
    """The stack's pipeline spec with the emulator's account, as the Pulumi program builds it.

    Every name comes from ``infra.naming``, as the components take theirs. The
    image reference carries the build context's hash in place of a registry
    digest, as the offline plan does: it changes exactly when the image's code does.
    """
    from infra.image_context import local_image_uri
    from infra.naming import StackNames

    names, region = StackNames(config), config.region
    settings = config.pipeline
    return TrainingPipelineSpec(
        pipeline_name=names.training_pipeline,
        region=region,
        role_arn=f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{names.execution_role}",
        data_bucket=names.data_bucket(LOCAL_ACCOUNT),
        artifacts_bucket=names.artifacts_bucket(LOCAL_ACCOUNT),
        kms_key_arn=f"arn:aws:kms:{region}:{LOCAL_ACCOUNT}:{names.key_alias}",
        image_uri=local_image_uri(names.image_repository, region),
        model_package_group=names.model_group,
        feature_group_name=names.feature_group if config.feature_store.enabled else None,
        processing_instance_type=settings.processing_instance_type,
        training_instance_type=settings.training_instance_type,
        approval_status=settings.approval_status,
        cache_expiry=settings.cache_expiry,
        max_retry_attempts=settings.max_retry_attempts,
        gates=gates_of(settings.gates),
        retain_unregistered_days=config.storage.raw_expiration_days,
    )


def default_input(work_dir: Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """A generated data set in the work directory, made once (a seed gives the same bytes)."""
    from ml.data import generate
    from ml.io import write_table

    path = work_dir / "input" / INPUT_NAME
    if not path.is_file():
        write_table(generate(rows, seed), path)
    return path


def prepare(clients: AwsClients, spec: TrainingPipelineSpec) -> None:
    """What ``pulumi up`` would have created: buckets, model package group, feature group."""
    from botocore.exceptions import ClientError

    from pipelines.jobs.features import feature_definitions

    for bucket in (spec.data_bucket, spec.artifacts_bucket):
        ensure_bucket(clients.s3, bucket, clients.region)
    sagemaker = clients.sagemaker
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=spec.model_package_group)
    except ClientError:
        sagemaker.create_model_package_group(ModelPackageGroupName=spec.model_package_group)
    if spec.feature_group_name is not None:
        # Create first: describing a missing group breaks moto instead of answering 404.
        try:
            sagemaker.create_feature_group(
                FeatureGroupName=spec.feature_group_name,
                RecordIdentifierFeatureName="transaction_id",
                EventTimeFeatureName="event_time",
                FeatureDefinitions=feature_definitions(),
                OfflineStoreConfig={
                    "S3StorageConfig": {"S3Uri": f"s3://{spec.data_bucket}/feature-store/"}
                },
                RoleArn=spec.role_arn,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUse":
                raise


def run_local(
    stack: str,
    input_path: Path | None = None,
    work_dir: Path | None = None,
    endpoint_url: str | None = None,
    console: Console | None = None,
    config_file: Path | None = None,
) -> LocalRun:
    """Run the pipeline for ``stack``; raises ``StepFailedError`` when a step stops it."""
    from infra.config import load_stack

    console = console or Console(stderr=True)
    config = load_stack(stack, config_file)
    work_dir = (work_dir or Path("build") / "run-local" / stack).resolve()
    source = input_path or default_input(work_dir)
    if not source.exists():
        from ml.errors import MlopsError

        raise MlopsError(f"input {source} does not exist; pass a file or directory with --input")
    execution_id = f"local-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    run = LocalRun(execution_id=execution_id)
    with aws_emulator(config.region, endpoint_url, work_dir / "moto_server.log") as clients:
        run.emulator_url = clients.endpoint_url
        spec = local_spec(config)
        definition = build_definition(spec)
        try:
            prepare(clients, spec)
            # The input joins raw/ as new files would; the run then starts as the schedule
            # starts it, with the definition's defaults only (Dataset versions raw/).
            _upload_input(clients, source, spec.raw_uri)
        except Exception as error:
            failure = run_failure("preparing the emulator", error, clients.endpoint_url)
            if failure is None:
                raise
            raise failure from None
        run_execution(
            clients,
            definition,
            run,
            work_dir,
            console,
            pipeline_name=spec.pipeline_name,
            local_environment=offline_records(spec, execution_id),
        )
    return run


def offline_records(spec: TrainingPipelineSpec, execution_id: str) -> dict[str, str]:
    """Where the Features step writes its records locally (the emulator has no PutRecord)."""
    from pipelines.jobs.features import OFFLINE_RECORDS_ENV

    records = f"s3://{spec.data_bucket}/feature-store/{spec.feature_group_name}/local/"
    return {OFFLINE_RECORDS_ENV: f"{records}{execution_id}.parquet"}


def run_execution(
    clients: AwsClients,
    definition: dict[str, Any],
    run: LocalRun,
    work_dir: Path,
    console: Console,
    *,
    pipeline_name: str,
    parameters: dict[str, str] | None = None,
    local_environment: dict[str, str] | None = None,
    launcher: Launcher = container.run,
) -> None:
    """Walk ``definition`` as execution ``run.execution_id`` (an emulator may have started it).

    ``parameters`` override the definition's defaults as ``StartPipelineExecution``'s
    do; ``launcher`` runs each step's container command (a subprocess by default).
    """
    execution_id = run.execution_id
    state = RunState(
        parameters={
            **{p["Name"]: p["DefaultValue"] for p in definition["Parameters"]},
            **(parameters or {}),
        },
        execution={"PipelineExecutionId": execution_id, "PipelineName": pipeline_name},
    )
    runner = JobRunner(
        clients,
        work_dir / "runs" / execution_id,
        StepCache(work_dir / "cache"),
        pipeline=pipeline_name,
        account=LOCAL_ACCOUNT,
        local_environment=dict(local_environment or {}),
        launcher=launcher,
    )
    try:
        _walk(definition["Steps"], state, runner, run, clients, console)
    except StepFailedError as failed:
        if failed.step == "Validate":
            raise _validation_failure(failed, runner, work_dir) from None
        raise
    finally:
        print_summary(console, run)


def _upload_input(clients: AwsClients, source: Path, uri: str) -> None:
    if source.is_dir():
        upload_dir(clients.s3, source, uri)
    else:
        upload_file(clients.s3, source, f"{uri}{source.name}")


def _walk(
    steps: Iterable[dict[str, Any]],
    state: RunState,
    runner: JobRunner,
    run: LocalRun,
    clients: AwsClients,
    console: Console,
) -> None:
    for step in steps:
        started = time.perf_counter()
        outcome = StepOutcome(step["Name"], "ran")
        run.outcomes.append(outcome)
        where = ""
        try:
            with console.status(f"[bold]{step['Name']}[/]: {step.get('Description', '')}"):
                branch = _run_step(step, state, runner, run, clients, outcome)
        except StepFailedError as failed:
            # Why is the error line the run ends with; the step's line says where to look.
            outcome.status = "failed"
            where = f"log {failed.log}" if failed.log else ""
            raise
        except Exception as error:
            # The emulator gone, a request refused, a full disk: one line naming the step.
            outcome.status = "failed"
            converted = step_failure(step["Name"], error, clients.endpoint_url)
            if converted is None:
                raise
            raise converted from None
        finally:
            outcome.seconds = time.perf_counter() - started
            console.print(step_line(outcome, where), soft_wrap=True)
        if branch:
            _walk(branch, state, runner, run, clients, console)


def step_line(outcome: StepOutcome, where: str = "") -> str:
    """One line per step, however long its detail: mark, name, seconds, status, detail."""
    mark = {"ran": "[green]✓[/]", "cached": "[cyan]↺[/]", "failed": "[red]✗[/]"}
    detail = "".join(f"  {escape(text)}" for text in (outcome.detail, where) if text)
    return (
        f"{mark.get(outcome.status, '•')} {escape(outcome.name):<11} "
        f"{outcome.seconds:5.1f} s  {outcome.status}{detail}"
    )


def _run_step(
    step: dict[str, Any],
    state: RunState,
    runner: JobRunner,
    run: LocalRun,
    clients: AwsClients,
    outcome: StepOutcome,
) -> list[dict[str, Any]]:
    kind, arguments = step["Type"], step["Arguments"]
    if kind in ("Processing", "Training"):
        job = (
            runner.processing(step, state) if kind == "Processing" else runner.training(step, state)
        )
        outcome.status, outcome.detail = job.status, job.detail
    elif kind == "Condition":
        holds = all(condition_holds(state, c) for c in arguments["Conditions"])
        outcome.status = "evaluated"
        outcome.detail = "conditions hold" if holds else "a condition does not hold"
        return arguments["IfSteps"] if holds else arguments["ElseSteps"]
    elif kind == "Fail":
        outcome.status = "failed"
        raise StepFailedError(step["Name"], str(state.resolve(arguments["ErrorMessage"])))
    elif kind == "RegisterModel":
        _register(state.resolve(arguments), run, clients)
        outcome.detail = f"version {run.package_arn.rsplit('/', 1)[-1] if run.package_arn else '?'}"
    else:
        raise StepFailedError(step["Name"], f"the local runner does not run {kind} steps")
    return []


def _register(request: dict[str, Any], run: LocalRun, clients: AwsClients) -> None:
    request["CustomerMetadataProperties"] = {
        key: str(value) for key, value in request.get("CustomerMetadataProperties", {}).items()
    }
    created = clients.sagemaker.create_model_package(**request)
    arn = created["ModelPackageArn"]
    described = clients.sagemaker.describe_model_package(ModelPackageName=arn)
    run.package_arn = described["ModelPackageArn"]
    run.approval_status = described["ModelApprovalStatus"]
    run.metadata = dict(described.get("CustomerMetadataProperties") or {})
    run.metrics = {
        k: float(run.metadata[k]) for k in ("PrAuc", "RecallAtPrecision90") if k in run.metadata
    }


def _validation_failure(
    failed: StepFailedError, runner: JobRunner, work_dir: Path
) -> StepFailedError:
    """Keep the quarantined files in the work directory and say which checks failed.

    A Validate that failed for another reason (the emulator gone, a quarantine it
    could not write) quarantined nothing: its own reason stands.
    """
    output = runner.map_path("Validate", "/opt/ml/processing/output")
    target = work_dir / "quarantine"
    # An earlier run's file of the same name stays; this run's copy takes a free name.
    moved = len(copy_quarantine(output / "quarantine", target))
    if moved == 0:
        return failed
    report_path = output / "report" / "validation.json"
    checks: list[str] = []
    if report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        checks = sorted({c for r in report.get("reports", []) for c in r.get("checks_failed", [])})
    why = f" ({', '.join(checks)})" if checks else ""
    return StepFailedError(
        "Validate",
        f"{moved} input file(s) failed validation{why}; quarantined in {target}; "
        "no model registered",
    )


def print_summary(console: Console, run: LocalRun) -> None:
    """Per-step status and timings; the caller prints the registered package last."""
    table = Table(title=f"local run {run.execution_id}")
    for column in ("step", "status", "seconds", "detail"):
        table.add_column(column)
    for outcome in run.outcomes:
        table.add_row(outcome.name, outcome.status, f"{outcome.seconds:.1f}", outcome.detail)
    table.add_row("total", "", f"{sum(o.seconds for o in run.outcomes):.1f}", "")
    console.print(table)
    if run.metrics:
        console.print("metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in run.metrics.items()))
