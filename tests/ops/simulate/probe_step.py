"""A job step that reports the process it runs in: argv, cwd, environment, path, modules.

Run as ``python3 -m tests.ops.simulate.probe_step OUT [EXIT]`` by the warm-start
tests, through the plain subprocess and through the fork server, to compare.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

PROJECT_PACKAGES = {"ml", "pipelines", "ops", "infra"}


def _client_settings() -> dict[str, str | None]:
    """What a default boto3 client resolves from the environment: region, endpoint, key."""
    import boto3

    client = boto3.client("s3")
    credentials = client._request_signer._credentials
    return {
        "region": client.meta.region_name,
        "endpoint": client.meta.endpoint_url,
        "access_key": credentials.access_key if credentials else None,
    }


def _step_code_cache() -> dict[str, object]:
    """Where the bytecode of a step module is read from, and whether it is there."""
    import importlib.util

    import ml.errors

    cached = importlib.util.cache_from_source(ml.errors.__file__)
    return {"prefix": sys.pycache_prefix, "cached": cached, "compiled": Path(cached).is_file()}


def main() -> int:
    out = Path(sys.argv[1])
    report = {
        "argv": sys.argv[2:],  # after the report path, which differs per run
        "argv0": Path(sys.argv[0]).name,
        "cwd": str(Path.cwd()),
        "env": dict(os.environ),
        "path0": sys.path[0],
        "project_modules": sorted(
            name for name in sys.modules if name.split(".")[0] in PROJECT_PACKAGES
        ),
        "name": __name__,
        "boto3": _client_settings(),
    }
    report["bytecode"] = _step_code_cache()  # after project_modules: it imports ml.errors
    report["frozen_objects"] = gc.get_freeze_count()
    out.write_text(json.dumps(report), encoding="utf-8")
    print("probe ran")
    code = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if code:
        print("probe failed on purpose", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
