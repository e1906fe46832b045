"""A local run's failures as one line: which step, and why, in words a user can act on.

A step can fail in its container (``StepFailedError`` already names it), or
around it: the emulator stops answering while the runner uploads or downloads
(botocore's connection errors), the emulator refuses a request (a
``ClientError``), or the work directory cannot be written (``OSError``). Each of
these becomes a ``StepFailedError`` naming the step and the cause; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from ml.errors import MlopsError
from ops.local.job_runner import StepFailedError


def first_line(error: BaseException) -> str:
    """The error's first line, or its type's name when it has no text."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def emulator_down(error: BaseException) -> bool:
    """Whether ``error`` means the emulator did not answer (refused, reset, timed out)."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(error, BotoConnectionError | HTTPClientError | ConnectionError)


def cause_of(error: BaseException, endpoint_url: str) -> str | None:
    """One line for a failure around a step, or None when it is a bug (keep the traceback)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if emulator_down(error):
        return f"the AWS emulator at {endpoint_url} stopped answering ({first_line(error)})"
    if isinstance(error, ClientError):
        return f"the AWS emulator at {endpoint_url} refused a request: {first_line(error)}"
    if isinstance(error, BotoCoreError | OSError | MlopsError):
        return first_line(error)
    return None


def step_failure(step: str, error: BaseException, endpoint_url: str) -> StepFailedError | None:
    """``error`` raised while ``step`` ran, as the StepFailedError the run ends with."""
    cause = cause_of(error, endpoint_url)
    return StepFailedError(step, cause) if cause is not None else None


def run_failure(stage: str, error: BaseException, endpoint_url: str) -> MlopsError | None:
    """``error`` raised while the run prepared (``stage``), outside any step, as one line."""
    cause = cause_of(error, endpoint_url)
    return MlopsError(f"local run stopped while {stage}: {cause}") if cause is not None else None
