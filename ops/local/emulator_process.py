"""An AWS emulator that outlives one command: moto_server in a process of its own.

``mlops pipeline run-local`` registers a model in the emulator it talks to, and
``mlops deploy`` / ``mlops promote`` read that registry afterwards; with an
emulator that lives only as long as one command, the second finds nothing.
``start`` runs ``moto_server`` on a free port of 127.0.0.1 as a detached
process, records its pid and URL in a state file (``build/emulator/emulator.json``
by default), waits until it answers, and creates what ``pulumi up`` would have
created for the registry side of every stack (``stack_emulation``): buckets,
keys, model package groups, image repositories, and the project image the local
run references. Every command then reaches it through ``AWS_ENDPOINT_URL``.
``start`` again finds it running and changes nothing; ``stop`` ends exactly the
process it started (its pid, checked to still be that moto_server) and removes
the state file. The emulator keeps its state in memory only: stopped, it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.config.atomic import write_atomically
from ml.errors import MlopsError
from ops.local.emulator import HOST

DEFAULT_STATE_DIR = Path("build") / "emulator"
STATE_FILE = "emulator.json"
START_SECONDS = 30.0
STOP_SECONDS = 10.0


class EmulatorError(MlopsError):
    """The emulator could not be started, found or stopped."""


@dataclass(frozen=True)
class RunningEmulator:
    """A moto_server this module started: its pid and URL."""

    pid: int
    url: str

    def exports(self) -> str:
        """The line a shell evaluates to point every command at this emulator."""
        return f"export AWS_ENDPOINT_URL={self.url}"


def _state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def running(state_dir: Path = DEFAULT_STATE_DIR) -> RunningEmulator | None:
    """The emulator the state file names, if its process is that moto_server and answers."""
    path = _state_path(state_dir)
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        emulator = RunningEmulator(int(state["pid"]), str(state["url"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not _is_moto_server(emulator.pid) or not _answers(emulator.url):
        return None
    return emulator


def _is_moto_server(pid: int) -> bool:
    """Whether ``pid`` is alive and runs moto's server (a recycled pid is someone else's)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return b"moto.server" in cmdline.read_bytes()
    try:
        os.kill(pid, 0)  # no /proc (macOS): alive is the best we can tell
    except OSError:
        return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):  # noqa: S310 (http://127.0.0.1)
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start(state_dir: Path = DEFAULT_STATE_DIR) -> tuple[RunningEmulator, bool]:
    """(the emulator, whether it was started now); one already running is reused."""
    found = running(state_dir)
    if found is not None:
        return found, False
    state_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://{HOST}:{port}"
    with (state_dir / "moto_server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # not stopped with the shell that started it
        )
    deadline = time.monotonic() + START_SECONDS
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise EmulatorError(
                f"moto_server did not answer on {url} within {START_SECONDS:.0f} s; "
                f"see {state_dir / 'moto_server.log'}"
            )
        time.sleep(0.1)
    emulator = RunningEmulator(process.pid, url)
    write_atomically(_state_path(state_dir), json.dumps({"pid": process.pid, "url": url}) + "\n")
    return emulator, True


def stop(state_dir: Path = DEFAULT_STATE_DIR) -> RunningEmulator | None:
    """Stop the emulator ``start`` recorded, by its pid; None when none runs."""
    emulator = running(state_dir)
    _state_path(state_dir).unlink(missing_ok=True)
    if emulator is None:
        return None
    os.kill(emulator.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while _is_moto_server(emulator.pid) and time.monotonic() < deadline:
        _reap(emulator.pid)
        time.sleep(0.05)
    if _is_moto_server(emulator.pid):
        os.kill(emulator.pid, signal.SIGKILL)
        _reap(emulator.pid)
    return emulator


def _reap(pid: int) -> None:
    """Collect the exit status when the emulator is a child of this process (tests)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def provision_stacks(url: str, stacks: tuple[str, ...] = ("dev", "staging", "prod")) -> None:
    """What ``pulumi up`` of each stack would have made for its registry side, and its image.

    The project image stands in under the digest the local run references
    (``infra.image_context.local_image_uri``), in every stack's repository, so a
    promotion finds it in the target and copies no layers (moto serves none).
    """
    from infra.config import load_stack
    from infra.image_context import local_image_uri
    from infra.naming import StackNames
    from ops.local.stack_emulation import provision_stack, push_image
    from ops.release.promote import promotion_clients

    for stack in stacks:
        config = load_stack(stack)
        clients = promotion_clients(config.region, url)
        provision_stack(clients, config)
        repository = StackNames(config).image_repository
        digest = local_image_uri(repository, config.region).split("@", 1)[1]
        found = clients.ecr.batch_get_image(
            repositoryName=repository, imageIds=[{"imageDigest": digest}]
        )
        if not found.get("images"):
            push_image(clients.ecr, repository, [b"the project image, stood in"], digest)
