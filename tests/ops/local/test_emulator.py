"""The emulator the runner starts: moto's server in a thread on 127.0.0.1, always stopped."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ml.errors import MlopsError
from ops.local.emulator import aws_emulator, manifest_uris, moto_server

REPO = Path(__file__).resolve().parents[3]


def gone(url: str) -> bool:
    """Nothing answers at ``url`` any more: the server's socket is closed."""
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False


def test_the_server_answers_on_localhost_and_is_stopped_after(tmp_path) -> None:
    log = tmp_path / "moto.log"
    with aws_emulator("us-east-1", log_path=log) as clients:
        assert clients.endpoint_url.startswith("http://127.0.0.1:")
        assert not clients.endpoint_url.endswith(":0")  # the port the OS chose, not port=0
        clients.s3.create_bucket(Bucket="reachable")
        assert [b["Name"] for b in clients.s3.list_buckets()["Buckets"]] == ["reachable"]
    assert gone(clients.endpoint_url)
    assert "PUT /reachable" in log.read_text(encoding="utf-8")  # requests go to the log


def test_the_server_is_stopped_when_the_run_is_interrupted() -> None:
    with pytest.raises(KeyboardInterrupt), aws_emulator("us-east-1") as clients:
        url = clients.endpoint_url
        raise KeyboardInterrupt
    assert gone(url)


def test_the_server_is_stopped_when_the_run_fails_and_another_can_start() -> None:
    with pytest.raises(MlopsError, match="step failed"), moto_server() as url:
        raise MlopsError("step failed")
    assert gone(url)
    with moto_server() as again:
        assert not gone(again)


def test_each_server_starts_empty() -> None:
    with aws_emulator("us-east-1") as first:
        first.s3.create_bucket(Bucket="left-behind")
    with aws_emulator("us-east-1") as second:
        assert second.s3.list_buckets()["Buckets"] == []


def test_a_second_server_in_the_same_process_is_refused_with_the_url_to_use() -> None:
    with moto_server() as url:
        with (
            pytest.raises(MlopsError, match=f"already runs in this process at {url}"),
            moto_server(),
        ):
            pass
        assert not gone(url)  # the refusal leaves the running server alone


def test_requests_are_not_printed_on_the_console() -> None:
    script = (
        "from ops.local.emulator import aws_emulator\n"
        "with aws_emulator('us-east-1') as clients:\n"
        "    clients.s3.list_buckets()\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")


def test_a_given_endpoint_starts_no_server() -> None:
    with aws_emulator("us-east-1", "http://127.0.0.1:5000") as clients:
        assert clients.endpoint_url == "http://127.0.0.1:5000"
        assert clients.step_environment()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
        with moto_server() as url:  # none runs in this process, so one may start
            assert url != clients.endpoint_url


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
