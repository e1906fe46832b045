"""The server as the image runs it: gunicorn workers, their threads, and a deadline per request."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml import threads as ml_threads
from ml.errors import MlopsError
from ml.options import container_parser, parse
from ml.serve_workers import server_settings
from ml.step_options import ServeOptions

REPO = Path(__file__).resolve().parents[2]
ROW = b"120.5,80.25,400,2,12.3,0,14,grocery,pos,US"
READ_TIMEOUT = 1.0
SLACK = 8.0  # a loaded test machine answers late, never 25 s late


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def workers(self) -> list[int]:
        """Pids of the processes the server's master started."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def post(self, body: bytes = ROW) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
        response = conn.getresponse()
        return response.status, response.read()


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "ml.serve", "serve", "--model-dir", str(model_dir)),
            *("--port", str(port), "--workers", "2", "--read-timeout", str(READ_TIMEOUT)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = Server(process, port)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if running.post()[0] == 200:
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield running
    process.terminate()
    process.wait(timeout=30)


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        received += b"<still open>"
    return received, time.monotonic() - started


def test_the_server_runs_the_workers_it_was_asked_for(server: Server) -> None:
    deadline = time.monotonic() + 60  # the first worker may answer before the second is forked
    while len(server.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server.workers()) == 2
    status, body = server.post()
    assert status == 200 and body.count(b"\n") == 1


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n",
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 100\r\n\r\n120.5,80.25",
    ],
    ids=["nothing", "half a head", "half a body"],
)
def test_a_stalled_request_is_answered_408_and_closed(server: Server, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(sent)
        received, seconds = read_until_closed(sock, READ_TIMEOUT + SLACK)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b'{"error": "request not received within 1 s' in received
    assert READ_TIMEOUT * 0.9 <= seconds < READ_TIMEOUT + SLACK


def test_a_kept_alive_connection_is_not_cut_by_the_deadline(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for pause in (0.0, READ_TIMEOUT * 1.5):  # idle longer than the deadline, within keep-alive
        time.sleep(pause)
        conn.request("POST", "/invocations", body=ROW, headers={"Content-Type": "text/csv"})
        response = conn.getresponse()
        assert (response.status, response.read().count(b"\n")) == (200, 1)


def test_four_hundred_slow_clients_are_cut_and_others_are_still_served(server: Server) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(400)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        assert server.post()[0] == 200
        time.sleep(READ_TIMEOUT)
        deadline = time.monotonic() + SLACK
        for sock in sockets:
            received, _ = read_until_closed(sock, max(0.1, deadline - time.monotonic()))
            assert received.startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in sockets:
            sock.close()


def test_workers_default_to_the_cpus_and_share_them_as_threads(monkeypatch) -> None:
    monkeypatch.setattr(ml_threads, "container_cpus", lambda: 4)
    monkeypatch.setattr("ml.serve_workers.container_cpus", lambda: 4)
    options = ServeOptions(model_dir=Path("m"))
    assert (server_settings(options).workers, server_settings(options).threads) == (4, 1)
    one = ServeOptions(model_dir=Path("m"), workers=1)
    assert server_settings(one).threads == 4
    three = ServeOptions(model_dir=Path("m"), workers=3)
    assert server_settings(three).threads == 1
    pinned = ServeOptions(model_dir=Path("m"), workers=1, threads=2)
    assert server_settings(pinned).threads == 2


def test_sagemaker_variables_set_the_workers_timeout_and_threads() -> None:
    environ = {
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "90",
        "OMP_NUM_THREADS": "2",
    }
    parser = container_parser(ServeOptions, "serve", environ=environ)
    parser.add_argument("command", nargs="?")
    options = parse(ServeOptions, ["serve"], parser=parser)
    assert (options.workers, options.timeout, options.threads) == (3, 90, 2)


@pytest.mark.parametrize("field", ["workers", "threads", "timeout", "read_timeout"])
def test_a_non_positive_setting_is_one_clear_error(field: str) -> None:
    options = ServeOptions(model_dir=Path("m"), **{field: 0})
    flag = "--" + field.replace("_", "-")
    with pytest.raises(MlopsError, match=f"^{flag} must be positive, got 0$"):
        server_settings(options)


def test_threads_are_the_cpus_divided_among_the_workers() -> None:
    assert ml_threads.threads_per_worker(2, cpus=2) == 1
    assert ml_threads.threads_per_worker(1, cpus=8) == 8
    assert ml_threads.threads_per_worker(3, cpus=8) == 2
    assert ml_threads.threads_per_worker(16, cpus=2) == 1
    with pytest.raises(MlopsError, match="workers must be at least 1"):
        ml_threads.threads_per_worker(0, cpus=2)


def test_the_container_cpus_respect_the_process_affinity() -> None:
    assert 1 <= ml_threads.container_cpus() <= len(os.sched_getaffinity(0))


def test_each_worker_sets_its_pools_to_its_share_after_the_fork() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from ml.serve_workers import ModelServer, ServerSettings

    settings = ServerSettings(
        "127.0.0.1", free_port(), workers=2, threads=1, timeout=60, read_timeout=1
    )
    server = ModelServer(object(), settings)
    with threadpool_limits(limits=2):  # restores this process's pools afterwards
        server.cfg.post_fork(None, None)
        pools = {info["internal_api"]: info["num_threads"] for info in threadpool_info()}
    assert pools["openmp"] == 1 and set(pools.values()) == {1}
    assert server.cfg.reuse_port and server.cfg.worker_class_str == "ml.serve_workers.ModelWorker"
