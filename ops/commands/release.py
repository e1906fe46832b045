"""``mlops deploy``, ``promote``, ``rollback`` and ``release changes``: what a stack serves.

Each command is one step of the release path as the workflows run it, so a
script (or a simulation) can drive it exactly the same way; each is safe to
repeat: a second run finds its work done and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ops.commands.options import EndpointUrlOption, RegionOption, StackOption
from ops.commands.registry import aws_errors, client_for, region_of

if TYPE_CHECKING:
    from ops.release.promote import Promotion

release_app = typer.Typer(
    help="Release helpers the workflows run (what a push changes).", no_args_is_help=True
)

StackFileOption = Annotated[
    Path | None,
    typer.Option(
        "--stack-file",
        help="Where to write the pinned stack file (default: its environments file; "
        "a new path starts as a copy of it).",
    ),
]
ArnOption = Annotated[
    str | None, typer.Option("--arn", help="Model package ARN (what an approval event names).")
]
GithubOutputOption = Annotated[
    Path | None,
    typer.Option(
        "--github-output",
        help="Append the pull request's branch, title, body and whether the file changed here "
        "(the workflows pass $GITHUB_OUTPUT).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy_command)
    app.command("promote")(promote_command)
    app.command("rollback")(rollback_command)
    app.add_typer(release_app, name="release")


def deploy_command(
    stack: StackOption = "dev",
    arn: ArnOption = None,
    stack_file: StackFileOption = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing: exit 1 unless every pinned package is Approved."
        ),
    ] = False,
    github_output: GithubOutputOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Serve an approved model: pin ARN (default: the newest approved) in the stack file."""
    from ops.release.deploy import deploy
    from ops.release.pull_request import serve_request, write_github_output

    if check:
        _check_pins(stack, stack_file, region, endpoint_url)
        return
    with aws_errors():
        client = client_for(stack, region, endpoint_url)
        done = deploy(client, stack, stack_file=stack_file, arn=arn)
    pinned = "pinned in" if done.file_changed else "already pinned in"
    typer.echo(f"{pinned} {done.stack_file}: {done.package.arn}")
    if github_output is not None:
        write_github_output(github_output, done.file_changed, serve_request(done))


def _check_pins(
    stack: str, stack_file: Path | None, region: str | None, endpoint_url: str | None
) -> None:
    from ops.release.pin_check import check_pins
    from ops.release.stacks import PromotionError

    with aws_errors():
        results = check_pins(stack, stack_file, client_for(stack, region, endpoint_url))
    if not results:
        typer.echo(f"{stack} pins no model: nothing to check")
        return
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise PromotionError(f"{stack}: " + "; ".join(f"{r.resource}: {r.detail}" for r in failed))
    for result in results:
        typer.echo(f"ok {result.resource}: {result.name.lower()}")


def promote_command(
    to: Annotated[
        str | None,
        typer.Option("--to", help="Target stack (default with --arn: the next stack)."),
    ] = None,
    arn: Annotated[
        str | None,
        typer.Option("--arn", help="Approved package to promote (default: what the source pins)."),
    ] = None,
    stack_file: StackFileOption = None,
    source_stack_file: Annotated[
        Path | None,
        typer.Option(
            "--source-stack-file",
            help="Stack file of the source stack (default: its environments file).",
        ),
    ] = None,
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Register an approved model in the next stack, pending its approval there."""
    from ops.release.promote import NotPromoted, promote, promote_package, promotion_clients
    from ops.release.stacks import PromotionError, next_stack, source_stack, stack_of_package

    if arn is None:
        if to is None:
            raise PromotionError("give the target (--to staging) or the package (--arn ARN)")
        origin = source_stack(to)
        with aws_errors():
            clients = promotion_clients(region_of(origin, region), endpoint_url)
            done = promote(clients, to, stack_file=stack_file, source_stack_file=source_stack_file)
        _print_promotion(done, origin)
        return
    origin = stack_of_package(arn)
    target = next_stack(origin)
    if to is not None and to != target:
        raise PromotionError(f"{arn} is a package of {origin}; it promotes to {target}, not {to}")
    files = {origin: source_stack_file}
    if target is not None:
        files[target] = stack_file
    with aws_errors():
        clients = promotion_clients(region_of(origin, region), endpoint_url)
        outcome = promote_package(clients, arn, {k: v for k, v in files.items() if v})
    if isinstance(outcome, NotPromoted):
        typer.echo(outcome.reason)
        return
    _print_promotion(outcome, origin)


def _print_promotion(done: Promotion, origin: str) -> None:
    action = "registered" if done.created else "found"
    typer.echo(
        f"{action} {done.target.arn} ({done.target.status}) from {origin}'s {done.source.arn}"
    )
    if done.file_changed:
        typer.echo(f"pinned in {done.stack_file}")
    elif done.target.status != "Approved":
        typer.echo(
            f"approve it to serve it in {done.stack} (its approval event pins it): "
            f"mlops registry approve {done.target.arn} --stack {done.stack} --reason ..."
        )
    else:
        typer.echo(f"already pinned in {done.stack_file}")


def rollback_command(
    stack: StackOption,
    stack_file: StackFileOption = None,
    github_output: GithubOutputOption = None,
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Serve again the package the stack served before: pin it (from git history or registry)."""
    from ops.release.pull_request import rollback_request, write_github_output
    from ops.release.rollback import rollback

    with aws_errors():
        done = rollback(client_for(stack, region, endpoint_url), stack, stack_file)
    for arn in done.passed_over:
        typer.echo(f"passed over {arn}: no longer Approved")
    typer.echo(
        f"pinned in {done.deployment.stack_file}: {done.deployment.package.arn} "
        f"(served before {done.deployment.previous_arn}; found in the {done.found_in})"
    )
    if github_output is not None:
        request = rollback_request(done.deployment, done.found_in)
        write_github_output(github_output, done.deployment.file_changed, request)


@release_app.command("changes")
def changes_command(
    base: Annotated[str, typer.Option("--base", help="Commit before the push (may be empty).")],
    head: Annotated[str, typer.Option("--head", help="Commit the push made.")] = "HEAD",
    repo: Annotated[Path, typer.Option("--repo", help="The repository.")] = Path(),
) -> None:
    """Print stack=code|config|pin|none per stack: what the push changes ($GITHUB_OUTPUT lines)."""
    from ops.release.changes import as_outputs, stack_changes

    typer.echo(as_outputs(stack_changes(repo, base, head)), nl=False)
