"""Every API call a plan implies, judged by botocore's service models and AWS's documented limits.

For each planned resource that maps onto API calls (``api_calls.py``), the
call's parameters go through botocore's ``ParamValidator`` (types, required
members, minimums, unknown members), then through what the same model states
but the validator skips (maximums, enums, patterns: ``api_shapes.py``), then
through the limits AWS documents elsewhere (``aws_limits.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.validate import ParamValidator

from infra.plan.checkov import CheckResult
from infra.plan.tfplan import resource_addresses
from infra.plan.validate.api_calls import ApiCall, api_calls, operation_model
from infra.plan.validate.api_shapes import constraint_problems
from infra.plan.validate.aws_limits import limit_problems

if TYPE_CHECKING:
    from infra.plan.engine import Plan

SOURCE = "validator:aws-api"
CHECKS = {
    "AWS_API_PARAMETERS": "botocore's ParamValidator accepts the call's parameters",
    "AWS_API_MODEL_LIMITS": "The service model's maximums, enums and patterns hold",
    "AWS_DOCUMENTED_LIMITS": "AWS's documented limits hold",
}


def check_api_calls(plan: Plan) -> tuple[list[CheckResult], int]:
    """Results of every check on every call, and how many calls were checked."""
    addresses = resource_addresses(plan)
    calls = api_calls(plan.resources)
    results: list[CheckResult] = []
    for call in calls:
        address = addresses.get(call.resource["urn"], call.resource["name"])
        for check_id, problems in _problems(call, calls).items():
            results.append(
                CheckResult(
                    SOURCE,
                    check_id,
                    CHECKS[check_id],
                    address,
                    f"{call.service}:{call.operation}",
                    "failed" if problems else "passed",
                    "; ".join(problems),
                )
            )
    return results, len(calls)


def _problems(call: ApiCall, calls: list[ApiCall]) -> dict[str, list[str]]:
    shape = operation_model(call.service, call.operation).input_shape
    report = ParamValidator().validate(call.params, shape)
    parameters = report.generate_report().splitlines() if report.has_errors() else []
    return {
        "AWS_API_PARAMETERS": [line for line in parameters if line.strip()][1:] or parameters,
        "AWS_API_MODEL_LIMITS": list(constraint_problems(call.params, shape)),
        "AWS_DOCUMENTED_LIMITS": list(limit_problems(call, calls)),
    }
