"""git, run in a folder: the one way the release commands, the simulation and the tools call it.

Commits made here carry an identity of their own (``identity``), so they never
depend on a user's git config; the caller decides what a failure means.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_SECONDS = 60


class GitError(Exception):
    """git exited non-zero; the message is its last words."""


def identity(name: str, email: str) -> dict[str, str]:
    """The environment that makes ``name <email>`` author and commit."""
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def git_output(
    folder: Path,
    *args: str,
    author: Mapping[str, str] | None = None,
    timeout: float = GIT_SECONDS,
) -> str:
    """What ``git -C folder ARGS`` prints; ``GitError`` if it fails.

    ``FileNotFoundError`` when git is not installed, for callers that treat it apart.
    """
    done = subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **author} if author else None,
    )
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout
