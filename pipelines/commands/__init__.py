"""Command modules of the ``mlops`` CLI; each exposes ``register(app)``."""

from __future__ import annotations

import importlib

import typer

# One module per area; each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "pipelines.commands.infra",
    "pipelines.commands.data",
    "pipelines.commands.ml_steps",
    "pipelines.commands.pipeline",
    "pipelines.commands.registry",
    "pipelines.commands.monitoring",
    "pipelines.commands.smoke",
    "pipelines.commands.demo",
)


def register_all(app: typer.Typer) -> None:
    """Attach every area's commands."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
