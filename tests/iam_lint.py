"""parliament (AWS IAM policy linter, with AWS's Service Authorization Reference) for tests.

parliament 1.6 reads its data files with ``pkg_resources``, which comes with
setuptools; the project's environment has no setuptools (uv does not install
it), so the module is loaded the way the plan's IAM validator loads it.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def parliament() -> Any:
    """The parliament module, importable without setuptools (the plan validator's loader)."""
    from infra.plan.validate.iam import parliament_module

    return parliament_module()


def resource_types(action: str) -> set[str]:
    """The resource types (required ones without their ``*``) that ``service:Action`` takes."""
    prefix, name = action.split(":")
    for service in parliament().iam_definition:
        if service["prefix"] != prefix:
            continue
        for privilege in service["privileges"]:
            if privilege["privilege"].lower() == name.lower():
                return {t["resource_type"].rstrip("*") for t in privilege["resource_types"]}
    raise LookupError(f"{action} is not an action of the Service Authorization Reference")
