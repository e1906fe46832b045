"""Command modules of the ``mlops`` CLI; each exposes ``register(app)``."""

from __future__ import annotations

import importlib

import typer

# One module per area; each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "ops.commands.infra",
    "ops.commands.data",
    "ops.commands.ml_steps",
    "ops.commands.pipeline",
    "ops.commands.feature_store",
    "ops.commands.registry",
    "ops.commands.release",
    "ops.commands.emulator",
    "ops.commands.monitoring",
    "ops.commands.smoke",
    "ops.commands.demo",
    "ops.commands.simulate",
)


def register_all(app: typer.Typer) -> None:
    """Attach every area's commands."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
