"""The layers import in one direction: operator tools -> infra -> pipelines -> ml.

Every import counts, including those inside functions: a lazy import still ties
the packages together (and would put ``ops`` code into the project image).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What each layer may import of the project; the image carries only ml/ and pipelines/.
ALLOWED = {
    "ops": {"ops", "infra", "pipelines", "ml"},
    "infra": {"infra", "pipelines", "ml"},
    "pipelines": {"pipelines", "ml"},
    "ml": {"ml"},
}
# Cloud SDKs a layer must not import: ml runs anywhere, pipelines runs in the image.
FORBIDDEN_SDKS = {
    "ml": {"boto3", "botocore", "pulumi", "pulumi_aws", "pulumi_kubernetes", "sagemaker", "moto"},
    "pipelines": {"pulumi", "pulumi_aws", "pulumi_kubernetes", "sagemaker", "moto", "typer"},
}


def imported_roots(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(root: Path) -> list[str]:
    """Every import of ``root``'s layers that runs against the direction or reaches a cloud SDK."""
    found = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((root / layer).rglob("*.py")):
            for line, package in imported_roots(path.read_text(encoding="utf-8")):
                where = f"{path.relative_to(root)}:{line}"
                if package in ALLOWED and package not in allowed:
                    found.append(f"{where} imports {package} (layer {layer} may not)")
                if package in FORBIDDEN_SDKS.get(layer, set()):
                    found.append(f"{where} imports the SDK {package}")
    return found


def test_imports_run_one_way_and_ml_stays_free_of_cloud_sdks() -> None:
    assert violations(REPO) == []


@pytest.mark.parametrize(
    ("layer", "source", "expected"),
    [
        ("pipelines", "from ops.release import promote\n", "imports ops"),
        ("infra", "def f():\n    import ops.cli\n", "imports ops"),
        ("ml", "from pipelines.jobs import drift\n", "imports pipelines"),
        ("ml", "import boto3\n", "the SDK boto3"),
        ("pipelines", "import pulumi\n", "the SDK pulumi"),
    ],
)
def test_a_backwards_import_is_found(
    tmp_path: Path, layer: str, source: str, expected: str
) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
    (tmp_path / layer / "module.py").write_text(source, encoding="utf-8")
    [found] = violations(tmp_path)
    assert expected in found and f"{layer}/module.py" in found


def test_the_image_copies_exactly_the_layers_it_runs() -> None:
    dockerfile = (REPO / "ml" / "Dockerfile").read_text(encoding="utf-8")
    copied = {
        line.split()[1].strip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "/opt/program/" in line
    }
    assert copied == {"ml", "pipelines"}
