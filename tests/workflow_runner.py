"""A workflow job's ``run:`` steps, run here as a GitHub-hosted runner runs them.

Enough of the runner for the release workflows: ``${{ }}`` expressions in ``env``
(context paths, string literals and ``||``), each ``run:`` script under
``bash --noprofile --norc -eo pipefail`` (GitHub's default shell on Linux), step
outputs read back from ``$GITHUB_OUTPUT`` (``name=value`` and ``name<<DELIMITER``
blocks) and handed to later steps as ``steps.<id>.outputs``. ``uses:`` steps are
the caller's to stand in for (a checkout, ``.venv``, credentials for moto).

Shell and outputs: https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idstepsshell
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
STEP_SECONDS = 300


@dataclass
class StepRun:
    """One step as it ran: its name, exit code, output and the outputs it set."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as True
    return document


def evaluate(expression: str, context: dict[str, Any]) -> str:
    """``a.b.c``, ``'literal'`` and ``x || y`` (the first non-empty), as strings."""
    for alternative in expression.split("||"):
        term = alternative.strip()
        value: Any = term[1:-1] if term.startswith("'") else _lookup(term, context)
        if value not in (None, ""):
            return str(value)
    return ""


def _lookup(path: str, context: dict[str, Any]) -> Any:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def substitute(text: str, context: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda found: evaluate(found.group(1), context), str(text))


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT``: ``name=value`` lines and ``name<<DELIMITER`` ... ``DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for item in lines:
                if item == delimiter:
                    break
                block.append(item)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_job(
    document: dict[str, Any],
    job_name: str,
    *,
    context: dict[str, Any],
    cwd: Path,
    env: dict[str, str],
) -> list[StepRun]:
    """Run the job's ``run:`` steps in order, stopping at the first that fails."""
    job = document["jobs"][job_name]
    context = {**context, "steps": {}}
    job_env = {key: substitute(value, context) for key, value in (job.get("env") or {}).items()}
    runs: list[StepRun] = []
    for step in job["steps"]:
        if "run" not in step:
            continue
        step_env = {k: substitute(v, context) for k, v in (step.get("env") or {}).items()}
        with tempfile.NamedTemporaryFile("r", suffix=".github_output") as outputs_file:
            done = subprocess.run(
                [*SHELL, substitute(step["run"], context)],
                cwd=cwd,
                env={
                    **os.environ,
                    **env,
                    **job_env,
                    **step_env,
                    "GITHUB_OUTPUT": outputs_file.name,
                },
                capture_output=True,
                text=True,
                timeout=STEP_SECONDS,
                check=False,
            )
            outputs = parse_outputs(Path(outputs_file.name).read_text(encoding="utf-8"))
        run = StepRun(step.get("name", step["run"][:40]), done.returncode, done.stdout, done.stderr)
        run.outputs = outputs
        runs.append(run)
        if step.get("id"):
            context["steps"][step["id"]] = {"outputs": outputs}
        if done.returncode != 0:
            break
    return runs
