"""Time to a serving rollback: what runs offline, measured; what AWS adds, from the stack's config.

Run: ``.venv/bin/python benchmarks/rollback.py [--repeat N] [--history N]``.

Measured against one moto_server on 127.0.0.1, median of N runs, imports
included (each command in a fresh interpreter, as a workflow step runs it):
``mlops rollback --stack prod`` on a stack file with a history of H pins (the
rollback workflow's work before its pull request), then, once the pull request
is merged, the deploy workflow's steps before ``pulumi up`` that decide and check
(``mlops release changes``, ``mlops deploy --check``). Not measured here: GitHub
runners (checkout, ``make install``), the review, ``mlops scan`` (about the
same as ``mlops scan`` on this machine), and the endpoint update, whose waits the
stack's rollout sets (printed per stack): SageMaker provisions the new fleet
(the previous model), bakes the canary ``waitSeconds``, then shifts all traffic;
``timeoutSeconds`` bounds the whole update.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.config import load_stack  # noqa: E402
from infra.config.stack_file import stack_file  # noqa: E402
from ops.git import git_output, identity  # noqa: E402
from ops.local.emulator import moto_server  # noqa: E402
from ops.local.stack_emulation import provision_stack  # noqa: E402
from ops.release.pinning import pin_model_package  # noqa: E402
from ops.release.promote import promotion_clients  # noqa: E402

GROUP = "mlops-prod-fraud-models"
IDENTITY = identity("bench", "bench@example.com")


def git(folder: Path, *args: str) -> str:
    return git_output(folder, *args, author=IDENTITY).strip()


def approved_package(client: object) -> str:
    """A package as the pipeline registers one, approved."""
    created = client.create_model_package(  # type: ignore[attr-defined]
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i@sha256:" + "a" * 64}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    return str(created["ModelPackageArn"])


def served_history(folder: Path, client: object, pins: int) -> tuple[Path, list[str]]:
    """A repository whose prod stack file served ``pins`` approved packages in turn."""
    git(folder, "init", "--quiet", "--initial-branch=main")
    (folder / "environments").mkdir()
    path = folder / "environments" / "Pulumi.prod.yaml"
    path.write_text(stack_file("prod").read_text(encoding="utf-8"), encoding="utf-8")
    commits = []
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--message", "prod")
    for _ in range(pins):
        pin_model_package(path, approved_package(client))
        git(folder, "commit", "--quiet", "--all", "--message", "serve")
        commits.append(git(folder, "rev-parse", "HEAD"))
    return path, commits


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - started


def measure(repeat: int, pins: int) -> dict[str, list[float]]:
    mlops = [sys.executable, "-m", "ops.cli"]
    seconds: dict[str, list[float]] = {"rollback": [], "release changes": [], "deploy --check": []}
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as work:
        clients = promotion_clients("us-east-1", endpoint)
        provision_stack(clients, load_stack("prod"))
        path, commits = served_history(Path(work), clients.sagemaker, pins)
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
        env.setdefault("AWS_ACCESS_KEY_ID", "testing")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        env["PYTHONPATH"] = str(ROOT)
        for _ in range(repeat):
            seconds["rollback"].append(
                timed([*mlops, "rollback", "--stack", "prod", "--stack-file", str(path)], env, ROOT)
            )
            git(Path(work), "commit", "--quiet", "--all", "--message", "roll back")
            after = git(Path(work), "rev-parse", "HEAD")
            changes = [*mlops, "release", "changes", "--base", commits[-1], "--head", after]
            seconds["release changes"].append(timed([*changes, "--repo", work], env, ROOT))
            check = [*mlops, "deploy", "--check", "--stack", "prod", "--stack-file", str(path)]
            seconds["deploy --check"].append(timed(check, env, ROOT))
            git(Path(work), "reset", "--quiet", "--hard", commits[-1])
    return seconds


def rollout_budget() -> list[tuple[str, str, int, int, int]]:
    """(stack, strategy, canary bake s, termination wait s, timeout s) of each stack's rollout."""
    rows = []
    for stack in ("dev", "staging", "prod"):
        serving = load_stack(stack).serving
        rollout = serving.rollout
        strategy = "all_at_once" if serving.serverless is not None else rollout.strategy
        bake = 0 if strategy == "all_at_once" else rollout.wait_seconds
        rows.append(
            (stack, strategy, bake, rollout.termination_wait_seconds, rollout.timeout_seconds)
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--history", type=int, default=20, help="pins in the stack file's history")
    args = parser.parse_args()
    seconds = measure(args.repeat, args.history)
    print(f"measured offline (median of {args.repeat}, history of {args.history} pins):")
    for name, values in seconds.items():
        print(f"  mlops {name:<16} {statistics.median(values):6.2f} s")
    total = sum(statistics.median(values) for values in seconds.values())
    print(f"  {'together':<22} {total:6.2f} s")
    print("added on AWS, per stack (the endpoint update after `pulumi up` starts it):")
    print("  stack    strategy     canary bake  termination wait  timeout")
    for stack, strategy, bake, wait, timeout in rollout_budget():
        print(f"  {stack:<8} {strategy:<12} {bake:>9} s  {wait:>14} s  {timeout:>5} s")
    print(
        "the previous model serves all traffic after: provisioning its fleet + the canary bake; "
        "the termination wait only delays removing the old fleet"
    )


if __name__ == "__main__":
    main()
