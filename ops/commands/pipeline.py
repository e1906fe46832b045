"""``mlops pipeline ...``: the training pipeline's definition, a local run, a manual start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ops.commands.options import EndpointUrlOption, StackOption

pipeline_app = typer.Typer(
    help="The training pipeline: its SageMaker definition, and a local run.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command("definition")
def definition_command(
    stack: StackOption,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here.")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config-file", help="Stack file to read instead.")
    ] = None,
) -> None:
    """Print (or write) the pipeline definition the stack deploys, from the offline plan."""
    import json

    from ops.plan_report import synthesize_with_progress

    plan = synthesize_with_progress(stack, config_file, [])
    resource = plan.one("aws:sagemaker/pipeline:Pipeline")
    text = json.dumps(json.loads(resource["inputs"]["pipelineDefinition"]), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out} ({resource['inputs']['pipelineName']})", err=True)


@pipeline_app.command("run-local")
def run_local_command(
    stack: StackOption = "dev",
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="Data file or folder (default: a generated data set)."),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="Step directories and cache (default build/run-local/S)."),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            envvar="AWS_ENDPOINT_URL",
            help="Use this emulator (e.g. moto_server) instead of starting one.",
        ),
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config-file", help="Stack file to read instead.")
    ] = None,
) -> None:
    """Run the pipeline's steps as SageMaker runs them, against moto; register the model."""
    from ops.local.pipeline_runner import run_local

    run = run_local(stack, input_path, work_dir, endpoint_url, config_file=config_file)
    if run.package_arn is None:
        typer.echo("nothing registered: the group already holds this model (data unchanged)")
        return
    typer.echo(f"registered {run.package_arn} ({run.approval_status})")
    if endpoint_url is None:
        typer.echo(
            "the emulator this run started has stopped with it, and its registry with it; "
            'to deploy the model next, start one first: eval "$(mlops emulator start)"',
            err=True,
        )


@pipeline_app.command("start")
def start_command(
    stack: StackOption,
    input_uri: Annotated[
        str | None,
        typer.Option("--input", help="s3:// prefix to version and train on (default: raw/)."),
    ] = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Start the deployed pipeline as a manual run, gated against the champion like every run.

    The run carries ``RunKind=manual``: the retrain gate's cool-down counts alarm-started
    runs only, so a manual start never holds back an alarm.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.config import load_stack
    from infra.naming import StackNames
    from ops.aws import sagemaker_client
    from pipelines.lambdas.start_pipeline import start_training
    from pipelines.registry import RegistryError

    config = load_stack(stack)
    client = sagemaker_client(config.region, endpoint_url)
    name = StackNames(config).training_pipeline
    try:
        started = start_training(client, name, input_uri)
    except (BotoCoreError, ClientError) as error:
        raise RegistryError(f"could not start {name}: {error}") from None
    given = ", ".join(f"{k}={v}" for k, v in started.parameters.items()) or "default parameters"
    typer.echo(f"started {started.execution_arn} ({given})")
