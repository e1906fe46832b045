"""The retrain gate of a plan in an AWS emulator: its lease table made, its settings read.

``pulumi up`` creates the gate's DynamoDB table and sets the function's
environment; against moto, this module creates the table from the plan's own
inputs (name, key, billing mode) and reads ``GateSettings`` from the planned
function's environment, so the demo, the tests and a simulation deliver alarm
events to ``pipelines.lambdas.retrain_gate.handle_alarm`` with exactly what a
stack would give the handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ml.errors import MlopsError
from pipelines.lambdas.retrain_gate import GateSettings

if TYPE_CHECKING:
    from infra.plan.engine import Plan

FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"


def planned_gate(plan: Plan) -> GateSettings:
    """The gate's settings as its planned environment states them."""
    for function in plan.of_type(FUNCTION):
        variables = (function["inputs"].get("environment") or {}).get("variables") or {}
        if "RETRAIN_LOCK_TABLE" in variables:
            return GateSettings.from_environment(variables)
    raise MlopsError(
        f"stack {plan.stack}: the plan has no retrain gate; it exists where "
        "monitoring.retrainOnAlarm is on and the endpoint captures its traffic"
    )


def create_lock_table(dynamodb: Any, plan: Plan) -> str:
    """The planned lease table, created in the emulator unless it exists; returns its name."""
    settings = planned_gate(plan)
    table = next(
        (r["inputs"] for r in plan.of_type(TABLE) if r["inputs"]["name"] == settings.lock_table),
        None,
    )
    if table is None:
        raise MlopsError(f"stack {plan.stack}: no planned table {settings.lock_table}")
    if settings.lock_table in dynamodb.list_tables()["TableNames"]:
        return settings.lock_table
    dynamodb.create_table(
        TableName=table["name"],
        KeySchema=[{"AttributeName": table["hashKey"], "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attributes"]
        ],
        BillingMode=table["billingMode"],
    )
    return settings.lock_table


def emulate_gate(dynamodb: Any, plan: Plan) -> GateSettings:
    """Create the planned lease table and return the settings the handler runs with."""
    create_lock_table(dynamodb, plan)
    return planned_gate(plan)
