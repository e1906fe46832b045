"""A small IAM policy evaluator for the plan: may this role do this action on this resource?

moto has no ``simulate_principal_policy``, so tests that ask what a role of the
plan may read evaluate its policy documents here. It follows IAM's rules for
identity policies: an explicit Deny wins, then any Allow, else an implicit
deny; Action/NotAction match case-insensitively and Resource/NotResource
case-sensitively, with ``*`` and ``?`` wildcards; conditions are ANDed across
operators and keys and ORed across values, a missing key fails a condition
unless the operator is negated or ends in ``IfExists``.

Evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
Condition operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from infra.plan.iam_documents import as_list, parse_document, statements

if TYPE_CHECKING:
    from infra.plan.engine import Plan

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"
ContextValue = str | list[str]


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: action, resource ARN and the condition keys present."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def evaluate(documents: Iterable[dict[str, Any]], request: Request) -> str:
    """``Allow``, ``ExplicitDeny`` or ``ImplicitDeny`` for ``request`` under ``documents``."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not _applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return ALLOW if allowed else IMPLICIT_DENY


def allows(documents: Iterable[dict[str, Any]], request: Request) -> bool:
    return evaluate(documents, request) == ALLOW


def _applies(statement: dict[str, Any], request: Request) -> bool:
    principal = statement.get("Principal")
    if principal is not None and principal not in ("*", {"AWS": "*"}):
        return False  # a resource policy's statement for someone else
    if not _matches_field(statement, "Action", request.action, case_sensitive=False):
        return False
    if not _matches_field(statement, "Resource", request.resource, case_sensitive=True):
        return False
    return _conditions_hold(statement.get("Condition") or {}, request.context)


def _matches_field(
    statement: dict[str, Any], name: str, value: str, *, case_sensitive: bool
) -> bool:
    if name in statement:
        return any(_glob(p, value, case_sensitive) for p in as_list(statement[name]))
    negated = f"Not{name}"
    if negated in statement:
        return not any(_glob(p, value, case_sensitive) for p in as_list(statement[negated]))
    return False


def _glob(pattern: str, value: str, case_sensitive: bool) -> bool:
    return _compiled(pattern, case_sensitive).fullmatch(value) is not None


@cache
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def _conditions_hold(conditions: dict[str, Any], context: Mapping[str, ContextValue]) -> bool:
    present = {key.lower(): as_list(value) for key, value in context.items()}
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if not _condition(
                operator, present.get(key.lower()), [str(v) for v in as_list(expected)]
            ):
                return False
    return True


def _condition(operator: str, actual: list[str] | None, expected: list[str]) -> bool:
    if operator == "Null":
        wants_missing = expected[0].lower() == "true"
        return (actual is None) == wants_missing
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = "Not" in base
    if actual is None:
        return if_exists or negated
    compare = _COMPARATORS.get(base.replace("Not", ""))
    if compare is None:
        raise ValueError(f"condition operator {operator} is not supported by the evaluator")
    matched = any(compare(value, wanted) for value in actual for wanted in expected)
    return not matched if negated else matched


def _numeric(op: str) -> Any:
    def compare(value: str, wanted: str) -> bool:
        a, b = float(value), float(wanted)
        return {"Equals": a == b, "LessThan": a < b, "LessThanEquals": a <= b,
                "GreaterThan": a > b, "GreaterThanEquals": a >= b}[op]  # fmt: skip

    return compare


_COMPARATORS: dict[str, Any] = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringEqualsIgnoreCase": lambda value, wanted: value.lower() == wanted.lower(),
    "StringLike": lambda value, wanted: _glob(wanted, value, True),
    "ArnEquals": lambda value, wanted: _glob(wanted, value, True),
    "ArnLike": lambda value, wanted: _glob(wanted, value, True),
    "Bool": lambda value, wanted: value.lower() == wanted.lower(),
    **{
        f"Numeric{op}": _numeric(op)
        for op in ("Equals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
    },
}


# Reading a role's policies out of the plan.

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"


def role_documents(plan: Plan, role_name: str) -> list[dict[str, Any]]:
    """Every identity policy document of the role named ``role_name``: inline and attached."""
    roles = [r for r in plan.of_type(ROLE) if r["inputs"].get("name") == role_name]
    if len(roles) != 1:
        raise LookupError(f"expected one role named {role_name!r} in the plan of {plan.stack}")
    role = roles[0]
    names = {role_name, role.get("id"), role["urn"]}
    documents = [
        parse_document(inline.get("policy"))
        for inline in as_list(role["inputs"].get("inlinePolicies"))
    ]
    documents += [
        parse_document(r["inputs"].get("policy"))
        for r in plan.of_type(ROLE_POLICY)
        if r["inputs"].get("role") in names
    ]
    managed = {r["outputs"].get("arn"): r for r in plan.of_type(MANAGED_POLICY)}
    for attachment in plan.of_type(ATTACHMENT):
        if attachment["inputs"].get("role") not in names:
            continue
        arn = attachment["inputs"].get("policyArn")
        if arn not in managed:
            raise LookupError(f"policy {arn} attached to {role_name} is not in the plan")
        documents.append(parse_document(managed[arn]["inputs"].get("policy")))
    return [d for d in documents if d is not None]


def key_arn_of_alias(plan: Plan, alias: str) -> str:
    """The ARN of the KMS key that ``alias`` (``alias/...``) names in the plan."""
    aliases = [r for r in plan.of_type("aws:kms/alias:Alias") if r["inputs"].get("name") == alias]
    if len(aliases) != 1:
        raise LookupError(f"expected one KMS alias {alias!r} in the plan of {plan.stack}")
    key_id = aliases[0]["inputs"].get("targetKeyId")
    for key in plan.of_type("aws:kms/key:Key"):
        if key["outputs"].get("keyId") == key_id or key.get("id") == key_id:
            return str(key["outputs"]["arn"])
    raise LookupError(f"alias {alias} targets key {key_id}, which is not in the plan")
