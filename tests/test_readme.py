"""The README's commands run as written, on a fresh clone, offline.

Every line of the README's ``bash`` blocks is either run (each block as one
script under ``bash -eo pipefail``, in order, in a fresh clone of the working
tree with the installed ``.venv``) or listed in ``NOT_RUN`` with the reason. A
new command in the README that is neither fails the test, and so does a listed
one that is no longer there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from ops.local.emulator_process import stop
from tests.fresh_clone import ROOT, environment, fresh_clone

README = ROOT / "README.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
NOT_RUN = {
    "make demo": "installs, then runs the demo: tests/ops/test_demo.py runs the demo itself",
    "make test": "installs, then runs this suite",
    "make lint": "ruff and mypy: the lint job of pr.yml, and `make lint` before every commit",
    "make install": "the suite runs after it (its .venv is the one linked into the clone)",
    "pulumi login": "the Pulumi CLI and a state backend: AWS",
    "pulumi stack select": "the Pulumi CLI and a state backend: AWS",
    "pulumi preview": "AWS",
    "pulumi up": "AWS",
    ".venv/bin/mlops scan --stack dev": "the same command as `scan --stack prod`, run above; "
    "dev's scan is tests/infra/test_scan.py",
    "make bench": "every benchmark, minutes of wall time, not a check; "
    "tests/test_benchmarks.py runs the harness and the scripts list",
    ".venv/bin/python benchmarks/serving.py": "a benchmark, minutes of wall time, not a check",
    ".venv/bin/python benchmarks/simulate.py": "a benchmark: a simulated week, minutes of wall "
    "time; tests/ops/simulate/ runs the short scenario",
    ".venv/bin/python benchmarks/simulate_seeds.py": "a benchmark: the short scenario five "
    "times, minutes of wall time; tests/ops/simulate/ runs it once, tests/test_benchmarks.py "
    "its helpers",
}
SCRIPT_SECONDS = 540


def commands(text: str) -> list[list[str]]:
    """Each ``bash`` block's command lines, comment-only and empty lines left out."""
    blocks = []
    for block in BLOCK.findall(text):
        lines = [line.strip() for line in block.splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def reason_not_run(line: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if line.startswith(start)), None)


def test_every_command_is_run_or_listed_with_a_reason() -> None:
    lines = [line for block in commands(README.read_text(encoding="utf-8")) for line in block]
    listed = {start for start in NOT_RUN if any(line.startswith(start) for line in lines)}
    assert listed == set(NOT_RUN), f"no longer in the README: {set(NOT_RUN) - listed}"
    assert sum(reason_not_run(line) is None for line in lines) >= 12


@pytest.mark.slow
def test_the_readme_commands_run_on_a_fresh_clone(tmp_path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    scripts = [
        [line for line in block if reason_not_run(line) is None]
        for block in commands(README.read_text(encoding="utf-8"))
    ]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") or key == "AWS_DEFAULT_REGION"
    }
    env.update(environment(clone))
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    try:
        for script in filter(None, scripts):
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(script)],
                cwd=clone,
                env=env,
                capture_output=True,
                text=True,
                timeout=SCRIPT_SECONDS,
                check=False,
            )
            assert done.returncode == 0, f"{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    finally:
        stop(clone / "build" / "emulator")  # by its pid, if a script stopped half way
    plan = json.loads((clone / "build" / "local" / "plan-staging.json").read_text())
    model = next(r for r in plan["resources"] if r["type"] == "aws:sagemaker/model:Model")
    served = model["inputs"]["primaryContainer"]["modelPackageName"]
    assert ":model-package/mlops-staging-fraud-models/1" in served
    assert not (clone / "build" / "emulator" / "emulator.json").exists()
    changed = subprocess.run(
        ["git", "-C", str(clone), "status", "--porcelain", "--", "environments"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert changed.stdout == ""  # the walk-through never edits environments/
