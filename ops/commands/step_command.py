"""A typer command whose options come from an ML step's option dataclass (``ml.step_options``).

The container entry point (``python3 -m ml.<step>``) builds its argparse
parser from the same dataclass, so both front ends share every flag, default
and help text. The command function takes the built dataclass as its first
parameter; its other parameters (exit-code gates such as ``--fail-on``) are
the command line's own and keep their typer annotations.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ml.options import MISSING, OptionField, build, option_fields


def step_command(options_type: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``command(options, **own)`` into a typer command with the step's options."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        fields = option_fields(options_type)
        _options, *rest = inspect.signature(command).parameters.values()
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[parameter.name])
            for parameter in rest
        ]
        parameters = [_parameter(item) for item in fields] + own
        names = {item.name for item in fields}

        def run(**values: Any) -> Any:
            options = build(options_type, {k: v for k, v in values.items() if k in names})
            return command(options, **{k: v for k, v in values.items() if k not in names})

        run.__name__, run.__doc__ = command.__name__, command.__doc__
        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate


def _parameter(item: OptionField) -> inspect.Parameter:
    """The typer parameter of one option: its flag (a switch for booleans), help and default."""
    flag = item.spec.cli_flag or item.flag
    if item.value_type is bool and "/" not in flag:
        flag = f"{flag}/--no-{flag.removeprefix('--')}"
    option = typer.Option(flag, help=item.spec.help)
    annotation = Annotated[item.annotation, option]  # type: ignore[name-defined]
    default = inspect.Parameter.empty if item.default is MISSING else item.default
    return inspect.Parameter(
        item.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )
