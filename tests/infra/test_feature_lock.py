"""The feature-group lock: the program only reads it, ``mlops feature-store lock`` writes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.config import ConfigError, load_stack
from infra.feature_lock import (
    LOCK_ENV,
    LOCK_FILE,
    LockEntry,
    check_feature_lock,
    features_fingerprint,
    record,
    stack_entry,
    stale_entries,
)
from infra.naming import StackNames
from ops.cli import app

REPO = Path(__file__).resolve().parents[2]
GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
STACKS = ("dev", "staging", "prod")


def entry(version: int, fingerprint: str, stack: str = "prod") -> LockEntry:
    return LockEntry(stack, f"mlops-{stack}-transactions-v{version}", version, fingerprint)


def stack_file(tmp_path: Path, version: int) -> Path:
    path = tmp_path / f"Pulumi.dev-v{version}.yaml"
    path.write_text(
        f"config:\n  mlops:environment: dev\n  mlops:featureStore:\n    version: {version}\n",
        encoding="utf-8",
    )
    return path


def lock_cli(*args: str, lock: Path) -> object:
    return CliRunner().invoke(app, ["feature-store", "lock", *args], env={LOCK_ENV: str(lock)})


def test_the_committed_lock_records_every_stack_at_the_current_features() -> None:
    lock = json.loads(LOCK_FILE.read_text(encoding="utf-8"))
    for stack in STACKS:
        wanted = stack_entry(stack)  # the stack file's current version
        assert wanted is not None
        assert lock[wanted.key]["fingerprint"] == features_fingerprint()


def test_changed_features_under_the_same_version_are_refused(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    assert record([entry(1, "a" * 64)], lock) == [entry(1, "a" * 64)]
    assert check_feature_lock("prod", "mlops-prod-transactions-v1", 1, "a" * 64, lock) is True
    refusal = (
        r"features of feature group mlops-prod-transactions-v1 "
        r"changed; bump mlops:featureStore.version to 2"
    )
    with pytest.raises(ConfigError, match=refusal):
        check_feature_lock("prod", "mlops-prod-transactions-v1", 1, "b" * 64, lock)
    with pytest.raises(ConfigError, match=refusal):
        record([entry(1, "b" * 64)], lock)  # the command never rewrites a recorded version
    assert record([entry(2, "b" * 64)], lock) == [entry(2, "b" * 64)]
    assert record([entry(2, "b" * 64)], lock) == []
    assert json.loads(lock.read_text(encoding="utf-8"))["prod/mlops-prod-transactions-v1"] == {
        "fingerprint": "a" * 64,
        "version": 1,
    }


def test_the_refusal_is_one_line_naming_the_version_and_the_command(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    record([entry(4, "a" * 64)], lock)
    with pytest.raises(ConfigError) as refused:
        check_feature_lock("prod", "mlops-prod-transactions-v4", 4, "b" * 64, lock)
    message = str(refused.value)
    assert "\n" not in message
    assert "mlops:featureStore.version to 5" in message
    assert "`mlops feature-store lock --stack prod`" in message


def test_a_group_the_lock_does_not_know_is_accepted_with_a_warning_and_not_recorded(
    tmp_path, monkeypatch
) -> None:
    import pulumi

    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", warned.append)
    lock = tmp_path / "lock.json"
    assert check_feature_lock("prod", "mlops-prod-transactions-v3", 3, "c" * 64, lock) is False
    assert not lock.exists()
    assert len(warned) == 1
    assert "mlops-prod-transactions-v3 is not in lock.json" in warned[0]
    assert "`mlops feature-store lock --stack prod`" in warned[0]


def test_synth_stops_when_the_recorded_fingerprint_differs(tmp_path, monkeypatch) -> None:
    from infra.plan.engine import synthesize

    lock = tmp_path / "lock.json"
    lock.write_text(
        json.dumps({"dev/mlops-dev-transactions-v1": {"fingerprint": "0" * 64, "version": 1}}),
        encoding="utf-8",
    )
    monkeypatch.setenv(LOCK_ENV, str(lock))
    with pytest.raises(ConfigError, match=r"bump mlops:featureStore\.version to 2"):
        synthesize("dev")
    before = lock.read_bytes()
    plan = synthesize("dev", overrides=["featureStore.version=2"])
    assert plan.one(GROUP)["inputs"]["featureGroupName"] == "mlops-dev-transactions-v2"
    assert lock.read_bytes() == before  # the program never writes the lock
    record([stack_entry("dev", stack_file(tmp_path, 2))], lock)
    assert "dev/mlops-dev-transactions-v2" in json.loads(lock.read_text(encoding="utf-8"))


@pytest.mark.parametrize("stack", STACKS)
def test_the_lock_names_the_group_the_program_plans(plan_for, stack) -> None:
    planned = plan_for(stack).one(GROUP)["inputs"]["featureGroupName"]
    assert stack_entry(stack) == LockEntry(stack, planned, 1, features_fingerprint())


def test_a_stack_without_feature_store_has_no_entry(tmp_path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        "config:\n  mlops:environment: dev\n  mlops:featureStore:\n    enabled: false\n",
        encoding="utf-8",
    )
    assert StackNames(load_stack("dev", path)).feature_group is None
    assert stack_entry("dev", path) is None


def test_the_command_records_every_stack_and_check_then_passes(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    missing = lock_cli("--check", lock=lock)
    assert missing.exit_code == 1
    assert not lock.exists()
    done = lock_cli(lock=lock)
    assert done.exit_code == 0, done.output
    assert set(json.loads(lock.read_text(encoding="utf-8"))) == {
        f"{stack}/mlops-{stack}-transactions-v1" for stack in STACKS
    }
    assert lock_cli("--check", lock=lock).exit_code == 0


def test_check_names_what_is_missing_and_the_command_on_one_line(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    done = subprocess_cli("feature-store", "lock", "--check", "--stack", "staging", lock=lock)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: lock.json does not record staging/mlops-staging-transactions-v1; "
        "run `mlops feature-store lock` and commit it"
    ]


def test_the_command_refuses_changed_features_and_leaves_the_lock_alone(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    record([entry(1, "0" * 64, stack="dev")], lock)
    before = lock.read_bytes()
    done = subprocess_cli("feature-store", "lock", "--stack", "dev", lock=lock)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert "bump mlops:featureStore.version to 2" in done.stderr
    assert lock.read_bytes() == before


def test_the_command_reads_another_stack_file_for_one_stack(tmp_path) -> None:
    lock = tmp_path / "lock.json"
    done = lock_cli("--stack", "dev", "--config-file", str(stack_file(tmp_path, 7)), lock=lock)
    assert done.exit_code == 0, done.output
    assert list(json.loads(lock.read_text(encoding="utf-8"))) == ["dev/mlops-dev-transactions-v7"]
    assert lock_cli("--config-file", str(stack_file(tmp_path, 7)), lock=lock).exit_code == 1


def test_a_failed_write_leaves_the_lock_as_it_was(tmp_path, monkeypatch) -> None:
    lock = tmp_path / "lock.json"
    record([entry(1, "a" * 64)], lock)
    before = lock.read_bytes()

    def disk_full(_fd: int) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        record([entry(2, "b" * 64)], lock)
    assert lock.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lock.json"]  # no temporary file left
    assert stale_entries([entry(2, "b" * 64)], lock) == [entry(2, "b" * 64)]


def subprocess_cli(*args: str, lock: Path) -> subprocess.CompletedProcess[str]:
    """The real console entry, so the one-line error and the exit code are what a user sees."""
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, LOCK_ENV: str(lock)},
        timeout=120,
        check=False,
    )
