"""Generated stack files: every accepted one plans, every refused one is one line on stderr.

Hypothesis draws stack files for the three stacks from keys with valid and
invalid values (AWS's limits, wrong types, bools for numbers, text where a
section belongs). An accepted file must plan, with nothing in the plan that AWS
would refuse (checked with botocore's shapes and zoneinfo, not with the config's
own validators) and no bool taken for a number; a refused one must exit 1 with
one line. ``mlops synth`` runs in this process; a plan costs about a second, so
the example count is small and each example draws several keys.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import tempfile
import zoneinfo
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import regex
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ops.cli import main

ARN = "arn:aws:sagemaker:{region}:123456789012:model-package/mlops-prod-fraud-models/{version}"
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
ODD_NUMBER = st.one_of(st.integers(-5, 5000), st.floats(-1, 2, allow_nan=False), st.booleans())


def pick(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


# Each key: (values a user would usually write, values that are wrong in some way AWS,
# Kubernetes or the config model cares about). An example draws a few keys, and at
# most one of them from its wrong values, so about half of the files are valid.
VALUES: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "namePrefix": (pick("mlops", "fraud-ml"), st.one_of(pick("Bad_Prefix", "x"), TEXT)),
    "region": (pick("us-east-1", "eu-west-1"), pick("us-east-9", "mars-1", 1)),
    "tags": (
        st.dictionaries(pick("team", "cost-center"), pick("fraud", "Zürich 42"), max_size=2),
        st.dictionaries(
            st.one_of(pick("aws:owner", "project", ""), TEXT),
            st.one_of(pick("v" * 300, "a;b"), TEXT),
            min_size=1,
            max_size=2,
        ),
    ),
    "environment": (st.nothing(), pick("dev", "staging", "prod", "test")),
    "pipeline.schedule": (
        pick("rate(1 hour)", "rate(15 minutes)", "cron(0 * * * ? *)", "at(2030-01-01T00:00:00)"),
        st.one_of(
            pick("rate(1 hours)", "rate(0 minutes)", "cron(nonsense)", "cron(0 0 * * * *)"), TEXT
        ),
    ),
    "pipeline.scheduleTimezone": (pick("UTC", "Europe/Berlin"), pick("Mars/Olympus", "", 3)),
    "pipeline.cacheExpiry": (pick("P30D", "PT12H", "P1W"), pick("P", "P1D1D", "PT30S", "30d")),
    "pipeline.maxRetryAttempts": (st.integers(1, 20), ODD_NUMBER),
    "featureStore.featureGroupName": (
        pick("transactions", "card-payments"),
        st.one_of(pick("a" * 41, "-x"), TEXT),
    ),
    "serving.instanceCount": (st.integers(2, 4), ODD_NUMBER),
    "serving.rollout.strategy": (pick("all_at_once", "canary", "linear"), pick("rolling", 3)),
    "serving.rollout.canaryPercent": (st.integers(1, 50), ODD_NUMBER),
    "serving.rollout.waitSeconds": (st.integers(0, 300), ODD_NUMBER),
    "serving.modelPackageArn": (
        st.just(ARN.format(region="us-east-1", version="3")),
        pick(
            ARN.format(region="eu-west-1", version="3"),
            ARN.format(region="us-east-1", version="")[:-1],
        ),
    ),
    "serving.shadowModelPackageArn": (
        st.nothing(),
        st.just(ARN.format(region="us-east-1", version="4")),
    ),
    "monitoring.psiWarn": (pick(0.05, 0.1, 0.2), ODD_NUMBER),
    "kubernetes.enabled": (st.booleans(), pick("yes", 1)),
    "kubernetes.ingressHost": (
        pick("fraud.example.com", "*.example.com"),
        st.one_of(pick("Not A Host!", "10.0.0.1", "*"), TEXT),
    ),
    "storage.forceDestroy": (st.just(False), pick(1, True)),
    "serving": (st.nothing(), pick(None, 3)),
}
NUMBERS = [key for key, (_, odd) in VALUES.items() if odd is ODD_NUMBER]


@st.composite
def stack_files(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(stack, dotted key -> value): a few keys, at most one of them drawn from its odd values."""
    stack = draw(pick("dev", "staging", "prod"))
    keys = draw(st.lists(pick(*sorted(VALUES)), min_size=1, max_size=4, unique=True))
    odd = draw(st.one_of(st.none(), pick(*keys)))
    values = {}
    for key in keys:
        usual, unusual = VALUES[key]
        strategy = unusual if key == odd else usual
        if strategy.is_empty:
            continue  # keys that are only ever set wrongly
        values[key] = draw(strategy)
    return stack, values


def nest(assignments: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys as the nested mapping a stack file holds, under ``mlops:<top>``."""
    config: dict[str, Any] = {"aws:region": "us-east-1"}
    for dotted, value in assignments.items():
        top, *rest = dotted.split(".")
        key = f"mlops:{top}"
        if not rest:
            config[key] = value
            continue
        node = config.setdefault(key, {})
        if not isinstance(node, dict):
            continue  # the section itself was drawn as a plain value
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
    if "mlops:region" in config:
        config["aws:region"] = config["mlops:region"]  # keep the two in step: a conflict is
    return {"config": config}  # tested on its own


SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
# Independent of the config's validators: botocore's shapes, zoneinfo, the documented forms.
RATE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$")
CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")
HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def refused_by_aws(plan: dict[str, Any]) -> list[str]:
    """What in a plan AWS (or Kubernetes) would refuse when ``pulumi up`` sends it."""
    problems: list[str] = []
    tag_key, tag_value = (SAGEMAKER.shape_for(n).metadata for n in ("TagKey", "TagValue"))
    group = SAGEMAKER.shape_for("FeatureGroupName").metadata
    for resource in plan["resources"]:
        inputs = resource["inputs"]
        tags = inputs.get("tags") if resource["type"].startswith("aws:") else None
        for key, value in (tags or {}).items():
            if key.lower().startswith("aws:") or len(key) > tag_key["max"]:
                problems.append(f"tag key {key!r}")
            if len(value) > tag_value["max"] or not regex.fullmatch(tag_value["pattern"], value):
                problems.append(f"tag value {value!r}")
        if resource["type"] == "aws:scheduler/schedule:Schedule":
            expression = inputs["scheduleExpression"]
            if not (
                RATE.match(expression) or CRON.match(expression) or expression.startswith("at(")
            ):
                problems.append(f"schedule {expression!r}")
            try:
                zoneinfo.ZoneInfo(inputs.get("scheduleExpressionTimezone", "UTC"))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                problems.append(f"time zone {inputs.get('scheduleExpressionTimezone')!r}")
        if resource["type"] == "aws:sagemaker/featureGroup:FeatureGroup":
            name = inputs["featureGroupName"]
            if len(name) > group["max"] or not re.fullmatch(group["pattern"], name):
                problems.append(f"feature group {name!r}")
        if resource["type"] == "kubernetes:networking.k8s.io/v1:Ingress":
            for rule in inputs["spec"].get("rules", []):
                if not HOST.match(rule.get("host", "")):
                    problems.append(f"ingress host {rule.get('host')!r}")
    return problems


def run_synth(stack: str, path: Path, plan: Path) -> tuple[int, str]:
    """``mlops synth`` in this process: its exit code and what it wrote to stderr."""
    err = io.StringIO()
    argv = ["mlops", "synth", "--stack", stack, "--config-file", str(path), "--quiet"]
    argv += ["--json", str(plan)]
    code = 0
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(sys, "argv", argv)
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return code, err.getvalue()


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stack_files())
def test_a_stack_file_either_plans_or_is_refused_in_one_line(drawn: tuple[str, dict]) -> None:
    stack, assignments = drawn
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump(nest(assignments), allow_unicode=True), encoding="utf-8")
        code, stderr = run_synth(stack, path, Path(folder) / "plan.json")
        event("planned" if code == 0 else "refused")
        if code == 0:
            assert "Traceback" not in stderr
            plan = json.loads((Path(folder) / "plan.json").read_text(encoding="utf-8"))
            assert refused_by_aws(plan) == []
            assert not any(isinstance(assignments.get(k), bool) for k in NUMBERS), assignments
            return
    lines = stderr.strip().splitlines()
    assert code == 1, (code, stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
