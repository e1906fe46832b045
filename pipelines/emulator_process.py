"""A ``moto_server`` process on 127.0.0.1: one emulated AWS that several commands share.

The demo runs the pipeline, deploys and promotes through separate clients (as
separate commands would); they see one registry only if they talk to one
server. It binds loopback on a free port and is stopped by its pid.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ml.errors import MlopsError

STARTUP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(port: int) -> list[str]:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.is_file() else shutil.which("moto_server")
    if found is None:
        raise MlopsError("moto_server not found; install the project with 'make install'")
    return [found, "-H", "127.0.0.1", "-p", str(port)]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start ``moto_server`` on 127.0.0.1; yields its URL and stops it (by pid) afterwards."""
    port = free_port()
    process = subprocess.Popen(_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MlopsError(f"moto_server exited with code {process.returncode} on start")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise MlopsError(f"moto_server did not answer on {url} within {STARTUP_SECONDS:.0f} s")
