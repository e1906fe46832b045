"""The model artifact: its files, written and read as a directory or a SageMaker tarball."""

from __future__ import annotations

import ast
import io
import json
import tarfile
import tempfile
from pathlib import Path

import pytest

from ml import model_artifact
from ml.model_artifact import (
    BASELINE_FILE,
    METADATA_FILE,
    MODEL_FILE,
    TARBALL,
    ModelLoadError,
    load_model,
    pack,
    read_file,
    unpack,
    write_model,
)

REPO = Path(__file__).resolve().parents[2]
FILE_NAMES = (MODEL_FILE, METADATA_FILE, BASELINE_FILE, TARBALL)


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    """A gzipped tarball with exactly these members (names as given, even hostile ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_write_model_writes_the_three_files_and_load_reads_them_back(tmp_path):
    write_model(tmp_path / "m", {"weights": [1, 2]}, {"decision_threshold": 0.3}, {"rows": 5})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(
        [MODEL_FILE, METADATA_FILE, BASELINE_FILE]
    )
    assert load_model(tmp_path / "m") == ({"weights": [1, 2]}, {"decision_threshold": 0.3})
    assert json.loads(read_file(tmp_path / "m", BASELINE_FILE) or b"") == {"rows": 5}


def test_pack_puts_the_files_at_the_archive_root_and_not_itself(tmp_path):
    write_model(tmp_path, {"w": 1}, {"decision_threshold": 0.5}, {})
    archive = pack(tmp_path, tmp_path / TARBALL)
    pack(tmp_path, tmp_path / TARBALL)  # packing again must not pack the old archive
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted([MODEL_FILE, METADATA_FILE, BASELINE_FILE])
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_model_loads_from_its_tarball_and_leaves_no_unpacked_copy(tmp_path, monkeypatch):
    write_model(tmp_path / "m", {"w": 1}, {"decision_threshold": 0.5}, {})
    pack(tmp_path / "m", tmp_path / "served" / TARBALL)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert load_model(tmp_path / "served") == ({"w": 1}, {"decision_threshold": 0.5})
    assert list(scratch.iterdir()) == []
    assert [p.name for p in (tmp_path / "served").iterdir()] == [TARBALL]


def test_unpacking_refuses_a_member_that_would_land_outside(tmp_path):
    archive = _tarball(tmp_path / "evil" / TARBALL, {"../escaped.txt": b"x"})
    with pytest.raises(ModelLoadError, match=r"unsafe member '\.\./escaped\.txt'"):
        unpack(archive, tmp_path / "out" / "inner")
    assert not (tmp_path / "out" / "escaped.txt").exists()


def test_unpacking_keeps_an_absolute_member_inside_the_destination(tmp_path):
    outside = tmp_path / "outside.txt"
    archive = _tarball(tmp_path / "evil" / TARBALL, {str(outside): b"x"})
    unpack(archive, tmp_path / "out")
    assert not outside.exists()
    assert (tmp_path / "out" / outside.relative_to("/")).read_bytes() == b"x"


def test_read_file_finds_a_member_by_name_or_dot_slash_name(tmp_path):
    _tarball(tmp_path / TARBALL, {f"./{METADATA_FILE}": b'{"a": 1}'})
    assert read_file(tmp_path, METADATA_FILE) == b'{"a": 1}'
    assert read_file(tmp_path, BASELINE_FILE) is None
    assert read_file(tmp_path / "nowhere", METADATA_FILE) is None


def test_read_file_prefers_the_directory_and_takes_a_file_as_itself(tmp_path):
    _tarball(tmp_path / TARBALL, {METADATA_FILE: b"from the tarball"})
    (tmp_path / METADATA_FILE).write_bytes(b"from the directory")
    assert read_file(tmp_path, METADATA_FILE) == b"from the directory"
    assert read_file(tmp_path / METADATA_FILE, BASELINE_FILE) == b"from the directory"


@pytest.mark.parametrize("content", [b"not a tarball at all", b"\x1f\x8b\x08\x00truncated"])
def test_a_broken_tarball_is_one_clear_line(tmp_path, content):
    (tmp_path / TARBALL).write_bytes(content)
    with pytest.raises(ModelLoadError, match="not a readable gzipped tar model artifact") as error:
        read_file(tmp_path, METADATA_FILE)
    assert "\n" not in str(error.value)
    with pytest.raises(ModelLoadError, match="rebuild it from a model directory"):
        load_model(tmp_path)


def test_a_directory_without_a_model_names_the_fix(tmp_path):
    with pytest.raises(ModelLoadError, match=f"no {MODEL_FILE} and {METADATA_FILE}; run 'mlops"):
        load_model(tmp_path)


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_each_model_file_name_is_written_once_in_the_code():
    home = Path(model_artifact.__file__).resolve()
    found = []
    for layer in ("ml", "pipelines", "ops", "infra", "tests", "benchmarks"):
        for path in sorted((REPO / layer).rglob("*.py")):
            if path.resolve() == home:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, text in _string_constants(tree):
                found += [
                    f"{path.relative_to(REPO)}:{line} {name}" for name in FILE_NAMES if name in text
                ]
    assert found == []
    definitions = _string_constants(ast.parse(home.read_text(encoding="utf-8")))
    assert sorted(text for _, text in definitions if text in FILE_NAMES) == sorted(FILE_NAMES)
