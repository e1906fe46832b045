"""The Lambda runtime, played in-process: a planned function's handler, its environment, one event.

Lambda imports the module of the function's ``handler`` setting and calls
``handler(event, context)`` with the function's environment variables set
(https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html); what it
prints goes to its log (here a file per function in the work directory). Here the
module comes from the repository (the files the function's archive packs) and
boto3 is pointed at the emulator through ``AWS_ENDPOINT_URL``. The retrain
gate reads the wall clock in ``handler``; its ``handle_alarm`` takes the clock
and the clients as arguments, so the simulation calls that, with simulated time.
An error the handler raises is what Lambda retries for an asynchronous
invocation (twice, a minute then two minutes later; ``reactions.on_deliver``).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ops.local.emulator import FAKE_CREDENTIALS

if TYPE_CHECKING:
    from ops.simulate.clients import SimClients

RETRAIN_GATE = "pipelines.lambdas.retrain_gate.handler"


@contextmanager
def function_environment(variables: dict[str, str]) -> Iterator[None]:
    """``os.environ`` as the function sees it, restored afterwards."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoke(
    function: dict[str, Any],
    event: dict[str, Any],
    clients: SimClients,
    now: datetime,
    log: Path,
) -> Any:
    """Call the planned function's handler with ``event``; what it prints goes to ``log``.

    A handler that offers an entry taking its clock and clients (the retrain
    gate's ``handle_alarm``) is called through it, so the simulated time is its
    clock; any other handler is called as Lambda calls it. Returns what it returns.
    """
    handler_path = str(function["handler"])
    variables = {
        **{k: str(v) for k, v in (function.get("environment") or {}).get("variables", {}).items()},
        "AWS_ENDPOINT_URL": clients.endpoint_url,
        "AWS_DEFAULT_REGION": clients.region,
        "AWS_REGION": clients.region,
        **FAKE_CREDENTIALS,
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        function_environment(variables),
        log.open("a", encoding="utf-8") as out,
        redirect_stdout(out),
    ):
        if handler_path == RETRAIN_GATE:
            return _retrain_gate(event, variables, clients, now)
        module_name, _, attribute = handler_path.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)(event, None)


def _retrain_gate(
    event: dict[str, Any], variables: dict[str, str], clients: SimClients, now: datetime
) -> dict[str, Any]:
    """The retrain gate's ``handler`` with the simulated clock: ``handle_event``, its log line."""
    from pipelines.lambdas.retrain_gate import GateSettings, alarm_name, handle_event

    decision = handle_event(
        event,
        GateSettings.from_environment(variables),
        sagemaker=clients.sagemaker,
        dynamodb=clients.dynamodb,
        cloudwatch=clients.cloudwatch,
        now=now,
    )
    print(json.dumps({"alarm": alarm_name(event), "event": event.get("id"), **asdict(decision)}))
    return asdict(decision)
