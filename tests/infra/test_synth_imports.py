"""Synth loads the Pulumi program and its definitions, never the data stack the jobs run on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA_STACK = ("pandas", "numpy", "pyarrow", "sklearn", "scipy", "matplotlib", "boto3")
SCRIPT = """
import json, sys
from infra.plan.engine import synthesize
synthesize("prod")
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_synth_of_prod_imports_none_of_the_data_stack() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    loaded = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert loaded & set(DATA_STACK) == set()
