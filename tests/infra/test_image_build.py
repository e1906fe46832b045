"""The project image: the Dockerfile installs uv.lock's versions of what the steps import."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import tomllib
from fnmatch import fnmatchcase
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from infra.image_context import (
    CONTEXT_DIRS,
    DOCKERFILE,
    REPO_ROOT,
    REQUIREMENTS,
    context_files,
    context_sha256,
)
from infra.plan.checkov import checkov_executable, load_skips
from infra.plan.hadolint import hadolint_executable
from pipelines.definitions.training import build_definition, flatten_steps
from tests.factories import make_spec

# uv where the Makefile puts it, else the one on PATH.
UV = REPO_ROOT / ".tools" / "uv" / "bin" / "uv"
FIRST_PARTY = {"ml", "pipelines", "infra"}
# ``uv export`` as the requirements file was written (see ml/Dockerfile).
EXPORT = [
    "export",
    "--frozen",
    "--only-group",
    "image",
    "--no-emit-project",
    "--format",
    "requirements.txt",
    "--no-header",
    "--no-annotate",
    "--quiet",
]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements() -> dict[str, str]:
    text = (REPO_ROOT / REQUIREMENTS).read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, flags=re.MULTILINE)
    return {normalise(name): version for name, version in pins}


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {normalise(package["name"]): package["version"] for package in lock["package"]}


def dockerfile() -> str:
    return (REPO_ROOT / DOCKERFILE).read_text(encoding="utf-8")


def step_modules() -> set[str]:
    """The modules the pipeline's job steps run, and the server the endpoints run."""
    modules = {"ml.serve"}
    for step in flatten_steps(build_definition(make_spec())):
        arguments = step["Arguments"]
        spec = arguments.get("AppSpecification") or arguments.get("AlgorithmSpecification")
        if spec is not None:
            modules.add(spec["ContainerEntrypoint"][-1])
    return modules


def module_file(module: str) -> Path:
    base = REPO_ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


# Modules whose function bodies no job runs: the emulator's functions start moto for the
# local runner; a job reads only its constants (the registry's fake credentials).
IMPORTED_FOR_CONSTANTS = {"ops.local.emulator"}


def run_time_imports(tree: ast.Module, module_level_only: bool = False) -> set[str]:
    """Every imported module name, except what ``if TYPE_CHECKING:`` guards."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(child) for child in ast.walk(node))
        if module_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            guarded.update(id(child) for child in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_of(modules: set[str]) -> tuple[set[str], set[str]]:
    """(first-party modules reached, third-party top-level names) from ``modules``, transitively."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        path = module_file(module)
        if module in seen or not path.is_file():
            continue
        seen.add(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in run_time_imports(tree, module_level_only=module in IMPORTED_FOR_CONSTANTS):
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                todo.append(name)
            elif top != "__future__" and top not in _stdlib():
                third_party.add(top)
    return seen, third_party


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)


def test_every_pin_of_the_image_requirements_is_the_locked_version() -> None:
    pins, locked = pinned_requirements(), locked_versions()
    assert pins, f"{REQUIREMENTS} pins nothing"
    assert {name: version for name, version in pins.items() if locked.get(name) != version} == {}


def test_every_pin_of_the_image_requirements_carries_a_hash() -> None:
    text = (REPO_ROOT / REQUIREMENTS).read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=\S)", text.strip())
    assert all("--hash=sha256:" in block for block in blocks)


def uv() -> str:
    found = str(UV) if UV.is_file() else shutil.which("uv")
    assert found is not None, "uv is installed by `make install`"
    return found


def test_image_requirements_are_the_current_export_of_the_lock(tmp_path) -> None:
    exported = tmp_path / "requirements.txt"
    subprocess.run(
        [uv(), *EXPORT, "-o", str(exported)], cwd=REPO_ROOT, check=True, capture_output=True
    )
    assert exported.read_text(encoding="utf-8") == (REPO_ROOT / REQUIREMENTS).read_text(
        encoding="utf-8"
    ), f"re-export it: .tools/uv/bin/uv {' '.join(EXPORT)} -o {REQUIREMENTS}"


def test_dockerfile_python_minor_is_the_projects() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lower = re.search(r">=\s*3\.(\d+)", project["project"]["requires-python"])
    base = re.search(
        r"^FROM python:3\.(\d+)\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", dockerfile(), re.M
    )
    assert lower is not None and base is not None
    assert base.group(1) == lower.group(1)


def test_dockerfile_installs_the_requirements_by_hash_without_resolving() -> None:
    install = re.search(r"pip install ([^\n\\]*)", dockerfile())
    assert install is not None
    flags = install.group(1).split()
    assert {"--require-hashes", "--no-deps", "--no-cache-dir"} <= set(flags)
    assert f"COPY {REQUIREMENTS} /tmp/requirements.txt" in dockerfile()


def test_dockerfile_bakes_the_step_code_into_opt_program() -> None:
    text = dockerfile()
    assert "WORKDIR /opt/program" in text
    assert re.search(r"PYTHONPATH=/opt/program\b", text)
    for folder in CONTEXT_DIRS:
        assert f"COPY {folder}/ /opt/program/{folder}/" in text


def test_the_step_modules_import_only_the_image_code_and_its_packages() -> None:
    first_party, _ = imports_of(step_modules())
    outside = {m for m in first_party if m.split(".")[0] not in CONTEXT_DIRS}
    assert outside == set()
    assert {"ml.validate", "ml.train", "ml.evaluate", "pipelines.jobs.features"} <= first_party


def test_every_third_party_import_of_the_steps_is_installed_in_the_image() -> None:
    _, third_party = imports_of(step_modules())
    installed = set(pinned_requirements())
    distributions = packages_distributions()
    missing = {
        top
        for top in third_party
        if not any(normalise(d) in installed for d in distributions.get(top, [top]))
    }
    assert {"pandera", "sklearn", "pandas"} <= third_party
    assert missing == set()


def test_build_context_is_what_dockerignore_admits() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    admitted = {line[1:].strip("/") for line in lines if line.startswith("!")}
    assert admitted == set(CONTEXT_DIRS)
    assert "*" in lines
    assert {path.parts[0] for path in context_files()} == set(CONTEXT_DIRS)


def test_context_hash_changes_with_the_code(tmp_path) -> None:
    for folder in CONTEXT_DIRS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("", encoding="utf-8")
    before = context_sha256(tmp_path)
    (tmp_path / "ml" / "__pycache__").mkdir()
    (tmp_path / "ml" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert context_sha256(tmp_path) == before
    (tmp_path / "ml" / "__init__.py").write_text("VERSION = 2\n", encoding="utf-8")
    assert context_sha256(tmp_path) != before


def test_hadolint_passes_on_the_dockerfile() -> None:
    completed = subprocess.run(
        [str(hadolint_executable()), str(REPO_ROOT / DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.slow
def test_checkov_passes_on_the_dockerfile() -> None:
    completed = subprocess.run(
        [
            str(checkov_executable()),
            "-f",
            str(REPO_ROOT / DOCKERFILE),
            "--framework",
            "dockerfile",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(completed.stdout)
    assert report["summary"]["passed"] > 0
    skips = load_skips()
    unreviewed = [
        check["check_id"]
        for check in report["results"]["failed_checks"]
        if not any(
            s.check == check["check_id"] and fnmatchcase(check["resource"], s.resource)
            for s in skips.skips
        )
    ]
    assert unreviewed == [], completed.stdout


def instruction(name: str) -> list[str]:
    """Arguments of top-level ``name`` instructions (continuation lines are indented)."""
    return [
        line.removeprefix(f"{name} ").strip()
        for line in dockerfile().splitlines()
        if line.startswith(f"{name} ")
    ]


def test_image_serves_by_default_as_sagemaker_runs_it() -> None:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html:
    # SageMaker runs "docker run IMAGE serve" (exec-form ENTRYPOINT) and talks to port 8080.
    assert [json.loads(e) for e in instruction("ENTRYPOINT")] == [["python3", "-m", "ml.serve"]]
    assert [json.loads(c) for c in instruction("CMD")] == [["serve"]]
    assert instruction("EXPOSE") == ["8080"]


def test_image_runs_as_root_for_sagemaker_and_has_the_kubernetes_user() -> None:
    # SageMaker mounts /opt/ml owned by root; Kubernetes runs the image as uid 10001.
    assert instruction("USER") == []
    assert "useradd --uid 10001" in dockerfile()


def test_image_has_a_healthcheck_on_ping() -> None:
    assert len(instruction("HEALTHCHECK")) == 1
    healthcheck = dockerfile().split("\nHEALTHCHECK ", 1)[1].split("\n\n", 1)[0]
    assert "http://127.0.0.1:8080/ping" in healthcheck
