"""The README's config reference is the config model, rendered."""

from __future__ import annotations

from infra.config.reference import readme_block, render


def test_readme_config_reference_matches_the_model() -> None:
    assert readme_block() == render(), (
        "README config reference is stale: run .venv/bin/python -m infra.config.reference --write"
    )


def test_reference_lists_nested_keys_with_per_environment_defaults() -> None:
    table = render()
    assert "| `serving.rollout.canaryPercent` | int (>= 1, <= 50) | `10` | `50` | `10` |" in table
    assert "`storage.objectLock.enabled`" in table
