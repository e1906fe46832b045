"""Loading a stack's config: the one way from a stack file (or the Pulumi runtime) to a StackConfig.

The stack file states what differs from its environment's defaults
(``infra/config/defaults.py``); ``aws:region`` stands in for ``mlops:region``
when that is unset. The Pulumi program reads the runtime
(``load_from_runtime``); everything else, the offline plan included, calls
``load_stack`` or ``read_stack``, so every path validates the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config.aws_values import region_problem
from infra.config.base import ENVIRONMENTS, NAMESPACE, ConfigError, ConfigValueError
from infra.config.defaults import deep_merge, defaults_for
from infra.config.delivery import GITHUB_TOKEN_KEY
from infra.config.model import StackConfig, parse_stack_config
from infra.config.overrides import with_overrides
from infra.config.stack_file import (
    decode,
    namespace_values,
    read_stack_file,
    secret_keys,
    stack_file,
)
from infra.config.stack_rules import check_allowed_accounts

PROVIDER_REGION = "aws:region"
# The AWS provider's list of accounts it may deploy to; when set, the stack's accounts.
ALLOWED_ACCOUNTS = "aws:allowedAccountIds"


@dataclass(frozen=True)
class LoadedStack:
    """A stack's validated config and the flat config map (``namespace:key``) it came from.

    ``values`` is what the Pulumi runtime is handed: the stack file with any
    ``--set`` overrides applied, secrets still as their ciphertext.
    """

    config: StackConfig
    values: dict[str, Any]

    @property
    def secret_keys(self) -> list[str]:
        return secret_keys(self.values)


def read_stack(stack: str, path: Path | None = None, overrides: Sequence[str] = ()) -> LoadedStack:
    """Read ``stack``'s file (or ``path``), apply ``--set`` overrides, validate."""
    values = with_overrides(read_stack_file(path or stack_file(stack)), overrides)
    return LoadedStack(config_of(stack, values), values)


def load_stack(stack: str, path: Path | None = None, overrides: Sequence[str] = ()) -> StackConfig:
    """A stack's validated config, from its stack file (or ``path``) and ``--set`` overrides."""
    return read_stack(stack, path, overrides).config


def config_of(stack: str, flat: dict[str, Any]) -> StackConfig:
    """The StackConfig of a flat config map: its namespace over the environment's defaults."""
    config = resolve(stack, _with_provider_region(flat))
    accounts = flat.get(ALLOWED_ACCOUNTS)
    if accounts:
        accounts = decode(accounts)
        allowed = [str(a) for a in accounts] if isinstance(accounts, list) else [str(accounts)]
        try:
            check_allowed_accounts(config, allowed)
        except ConfigValueError as error:
            raise ConfigError(
                f"invalid config {NAMESPACE}:{error.key} = {error.value!r}: {error.allowed}"
            ) from None
    return config


def resolve(stack: str, values: dict[str, Any]) -> StackConfig:
    """Merge the environment's defaults under ``values`` (the namespace's keys) and validate.

    A stack named for an environment (dev, staging, prod) is that environment: its
    name decides its guards, so ``environment: dev`` in the prod stack file would turn
    prod's protection off and is refused. Other stacks state their environment.
    """
    environment = values.get("environment", stack if stack in ENVIRONMENTS else None)
    if stack in ENVIRONMENTS and environment != stack:
        raise ConfigError(
            f"invalid config {NAMESPACE}:environment = {environment!r}: stack {stack!r} is the "
            f"{stack} environment, its name decides its guards; remove the key"
        )
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"invalid config {NAMESPACE}:environment = {environment!r}: "
            f"one of {', '.join(ENVIRONMENTS)} (required for stack {stack!r})"
        )
    merged = deep_merge(defaults_for(environment), {**values, "environment": environment})
    return parse_stack_config(merged)


def _with_provider_region(flat: dict[str, Any]) -> dict[str, Any]:
    """The namespace's values, ``region`` taken from ``aws:region`` unless set alike.

    The provider deploys to ``aws:region`` while names, ARNs and the pipeline use
    ``mlops:region``: two different regions would split the stack, so they must agree.
    """
    values = namespace_values(flat)
    region = flat.get(PROVIDER_REGION)
    problem = region_problem(decode(region)) if isinstance(decode(region), str) else None
    if region and problem is not None:
        raise ConfigError(f"invalid config {PROVIDER_REGION} = {decode(region)!r}: {problem}")
    if region and "region" not in values:
        values["region"] = decode(region)
    elif region and values["region"] != decode(region):
        raise ConfigError(
            f"invalid config {NAMESPACE}:region = {values['region']!r}: conflicts with "
            f"{PROVIDER_REGION} = {decode(region)!r}, where the provider deploys; remove "
            f"{NAMESPACE}:region (it follows {PROVIDER_REGION}) or set both alike"
        )
    return values


def require_secrets(config: StackConfig, flat: dict[str, Any]) -> None:
    """Refuse a config whose enabled features lack the secret they need."""
    if config.delivery.github.enabled and f"{NAMESPACE}:{GITHUB_TOKEN_KEY}" not in flat:
        raise ConfigError(
            f"delivery.github.repository is set but the secret {NAMESPACE}:{GITHUB_TOKEN_KEY} "
            f"is not: run 'pulumi config set --secret {GITHUB_TOKEN_KEY} <token>' with a token "
            "that may write contents of that repository"
        )


def load_from_runtime() -> StackConfig:
    """The config of the stack that the Pulumi engine (or the offline plan) is running."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    flat = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    config = config_of(pulumi.get_stack(), flat)
    require_secrets(config, flat)
    return config


def keys_set_to_defaults(stack: str, flat: dict[str, Any]) -> list[str]:
    """The dotted ``mlops`` keys a stack file sets to the value they would have without it.

    A stack file states only what differs: a key equal to its default hides
    the default (editing ``defaults.py`` would no longer change the stack).
    """
    values = namespace_values(flat)
    environment = values.get("environment", stack)
    base = {"environment": environment}
    if PROVIDER_REGION in flat:
        base["region"] = decode(flat[PROVIDER_REGION])
    defaults = resolve(stack, base).model_dump(mode="json", by_alias=True)
    if stack not in ENVIRONMENTS:
        defaults.pop("environment")  # a stack of another name must state its environment
    return sorted(_equal_leaves(values, defaults, ""))


def _equal_leaves(values: dict[str, Any], defaults: dict[str, Any], prefix: str) -> Iterator[str]:
    for key, value in values.items():
        if key not in defaults:
            continue
        default = defaults[key]
        if isinstance(value, dict) and isinstance(default, dict) and value:
            yield from _equal_leaves(value, default, f"{prefix}{key}.")
        elif value == default:
            yield f"{prefix}{key}"
