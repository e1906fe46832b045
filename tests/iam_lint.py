"""parliament (AWS IAM policy linter, with AWS's Service Authorization Reference) for tests.

parliament 1.6 reads its data files with ``pkg_resources``, which comes with
setuptools; the project's environment has no setuptools (uv does not install
it), so the two names parliament calls are provided here from the standard
library before it is imported.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any


def _resource_filename(package: str, name: str) -> str:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    return str(Path(next(iter(spec.submodule_search_locations))) / name)


@cache
def parliament() -> Any:
    """The parliament module, importable without setuptools."""
    if importlib.util.find_spec("pkg_resources") is None and "pkg_resources" not in sys.modules:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = _resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    import parliament as module  # type: ignore[import-untyped]

    return module


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
