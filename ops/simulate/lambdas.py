"""The Lambda runtime, played in-process: a planned function's handler, its environment, one event.

Lambda imports the module of the function's ``handler`` setting and calls
``handler(event, context)`` with the function's environment variables set
(https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html); what it
prints goes to its log (here a file per function in the work directory). Here the
module comes from the repository (the files the function's archive packs),
boto3 is pointed at the emulator through ``AWS_ENDPOINT_URL``, and the
simulated clock is passed as ``now``: the one argument Lambda never passes.
Reserved concurrency 1 is what the simulation does anyway: one call at a time.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.local.emulator import FAKE_CREDENTIALS


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
    endpoint_url: str,
    region: str,
    now: datetime,
    log: Path,
) -> Any:
    """Call the planned function's handler with ``event``; what it prints goes to ``log``.

    Returns what the handler returns.
    """
    module_name, _, attribute = str(function["handler"]).rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    variables = {
        **{k: str(v) for k, v in (function.get("environment") or {}).get("variables", {}).items()},
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **FAKE_CREDENTIALS,
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        function_environment(variables),
        log.open("a", encoding="utf-8") as out,
        redirect_stdout(out),
    ):
        return handler(event, None, now=now)
