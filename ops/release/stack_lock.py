"""One release operation at a time per folder of stack files.

Two deploys, promotions or rollbacks that pin a model in the same stack file
must not interleave: both would read the old file, and the registry check of
the second (is the copy there yet? is the ARN pinned already?) would run
before the first one's write. Every release operation therefore holds an
exclusive ``flock`` on the folder that holds the stack file from its first
read to its last write. The lock is on the folder, not the file, because the
file is replaced atomically (a new inode on every write) and may not exist
yet; no lock file is left behind, and the kernel drops the lock when the
process ends, however it ends.

flock(2): https://man7.org/linux/man-pages/man2/flock.2.html
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.registry import RegistryError

WAIT_SECONDS = 300.0
POLL_SECONDS = 0.05


class StackLockTimeoutError(RegistryError):
    """Another release operation held the folder's lock for longer than we wait."""


@contextmanager
def stack_file_lock(path: Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the exclusive lock of ``path``'s folder; wait up to ``wait_seconds`` for it."""
    folder = path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StackLockTimeoutError(
                        f"another deploy, promotion or rollback has held {folder} for "
                        f"{wait_seconds:.0f} s; wait for it to finish and run this again"
                    ) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock
