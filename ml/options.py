"""Options declared once, as dataclass fields; the container's argument parser derives from them.

A step's options are a frozen dataclass whose fields are annotated with an
``Option``: the field's default is what ``mlops <step>`` uses (a field without
one is a required option there); the ``Option`` holds the help text and what
differs inside the SageMaker container: a default under ``/opt/ml`` and the
``SM_*`` variable that overrides it. A field whose type is another such
dataclass (hyperparameters, thresholds) is a group whose flags appear flat.
``container_parser`` builds the argparse parser of ``python3 -m ml.<step>``
from those fields; ``ops`` builds the ``mlops`` command from the same fields,
so a flag, default or help text is written once.

Booleans: ``bool`` is a valued option in the container (``--calibrate false``,
as SageMaker passes hyperparameters) and a ``--x/--no-x`` switch on the command
line; ``bool | None`` (unset means "decide for me") is a switch in both.
Stdlib only: the command line imports this while it starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MISSING: Any = dataclasses.MISSING  # a field without a default: a required option


class _AsField:
    """The container's default is the field's own."""

    def __repr__(self) -> str:
        return "AS_FIELD"


AS_FIELD: Any = _AsField()


@dataclass(frozen=True)
class Option:
    """What a field says about its option besides its name, type and default.

    Used as ``Annotated[float, Option("help")] = 0.1``; a field without a default
    is a required option of the command line.
    """

    help: str
    container: Any = AS_FIELD  # the container's default, when it differs from the field's
    env: str | None = None  # environment variable that sets the container's default
    cli_flag: str | None = None  # the command line's declaration, when not ``--name``


@dataclass(frozen=True)
class OptionField:
    """One option of a step, flattened out of its groups."""

    name: str
    annotation: Any
    default: Any
    spec: Option

    @property
    def flag(self) -> str:
        """The option's flag: the field name with dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def optional(self) -> bool:
        """Whether None is a valid value (the option may stay unset)."""
        return type(None) in typing.get_args(self.annotation)

    @property
    def value_type(self) -> Any:
        """The type of a given value: the annotation without its ``None``."""
        if typing.get_origin(self.annotation) in (typing.Union, types.UnionType):
            (kind,) = (a for a in typing.get_args(self.annotation) if a is not type(None))
            return kind
        return self.annotation

    def container_default(self, environ: Mapping[str, str]) -> Any:
        """The default inside the container: its variable if set, else its own, else the field's."""
        if self.spec.env and environ.get(self.spec.env):
            return environ[self.spec.env]
        return self.default if self.spec.container is AS_FIELD else self.spec.container


def option_fields(cls: type) -> list[OptionField]:
    """The options of a step's dataclass in declaration order, groups flattened.

    A field annotated with an ``Option`` is an option; a field whose type is a
    dataclass is a group of options.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    found: list[OptionField] = []
    for item in dataclasses.fields(cls):
        hint = hints[item.name]
        if typing.get_origin(hint) is typing.Annotated:
            kind, *extras = typing.get_args(hint)
            specs = [extra for extra in extras if isinstance(extra, Option)]
            if specs:
                found.append(OptionField(item.name, kind, item.default, specs[0]))
        elif dataclasses.is_dataclass(hint):
            found.extend(option_fields(typing.cast(type, hint)))
    return found


def build(cls: type, values: Mapping[str, Any]) -> Any:
    """The step's dataclass from flat option values (extra keys are ignored)."""
    hints = typing.get_type_hints(cls)
    arguments = {}
    for item in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[item.name]):
            arguments[item.name] = build(hints[item.name], values)
        elif item.name in values:
            arguments[item.name] = values[item.name]
    return cls(**arguments)


def container_parser(
    cls: type, description: str, environ: Mapping[str, str] | None = None
) -> argparse.ArgumentParser:
    """The argparse parser of a step's container entry point, defaults read from ``environ``."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for item in option_fields(cls):
        default = item.container_default(env)
        # argparse expands %-formats in help ("%(default)s"): a literal % is doubled.
        settings: dict[str, Any] = {"dest": item.name, "help": item.spec.help.replace("%", "%%")}
        if item.value_type is bool and item.optional:
            settings["action"] = argparse.BooleanOptionalAction
        else:
            settings["type"] = parse_bool if item.value_type is bool else item.value_type
        if default is MISSING:
            settings["required"] = True
        else:
            settings["default"] = default
        parser.add_argument(item.flag, **settings)
    return parser


def parse(
    cls: type,
    argv: list[str] | None,
    description: str = "",
    *,
    parser: argparse.ArgumentParser | None = None,
) -> Any:
    """A step's options from container arguments and environment.

    ``parser`` is one that ``container_parser`` built and the entry point extended.
    """
    parsed = (parser or container_parser(cls, description)).parse_args(argv)
    return build(cls, vars(parsed))


def parse_bool(text: str) -> bool:
    """A hyperparameter's boolean: true/false, yes/no or 1/0."""
    if text.lower() in {"1", "true", "yes"}:
        return True
    if text.lower() in {"0", "false", "no"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
