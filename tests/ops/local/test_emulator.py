"""The emulator the runner starts: a moto_server on 127.0.0.1, stopped by pid whatever happens."""

from __future__ import annotations

import os

import pytest

from ml.errors import MlopsError
from ops.local.emulator import aws_emulator, manifest_uris


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_server_answers_on_localhost_and_is_stopped_after(tmp_path) -> None:
    with aws_emulator("us-east-1", log_path=tmp_path / "moto.log") as clients:
        assert clients.endpoint_url.startswith("http://127.0.0.1:")
        assert clients.server_pid is not None
        clients.s3.create_bucket(Bucket="reachable")
        assert [b["Name"] for b in clients.s3.list_buckets()["Buckets"]] == ["reachable"]
    assert gone(clients.server_pid)


def test_the_server_is_stopped_when_the_run_is_interrupted() -> None:
    with pytest.raises(KeyboardInterrupt), aws_emulator("us-east-1") as clients:
        pid = clients.server_pid
        raise KeyboardInterrupt
    assert pid is not None and gone(pid)


def test_a_given_endpoint_starts_no_server() -> None:
    with aws_emulator("us-east-1", "http://127.0.0.1:5000") as clients:
        assert clients.server_pid is None
        assert clients.step_environment()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_manifest_entries_are_keys_relative_to_its_prefix() -> None:
    document = [{"prefix": "s3://data/raw/"}, "2026/a.csv", "b.csv"]
    assert manifest_uris(document) == [
        ("s3://data/raw/2026/a.csv", "2026/a.csv"),
        ("s3://data/raw/b.csv", "b.csv"),
    ]


@pytest.mark.parametrize(
    "document",
    [["s3://data/raw/a.csv"], [{"prefix": "data/raw/"}, "a.csv"], [{"prefix": "s3://d/"}], {}],
)
def test_a_malformed_manifest_is_one_clear_error(document) -> None:
    with pytest.raises(MlopsError, match="manifest"):
        manifest_uris(document)
