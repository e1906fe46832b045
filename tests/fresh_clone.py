"""A fresh clone of the working tree: every file git would commit, nothing built.

The files are copied (uncommitted edits included) into a new repository with
one commit on ``main``; what ``make install`` builds (``.venv``, ``.tools``,
``tools/node_modules``) is linked, not rebuilt. Commands run there with
``PYTHONPATH`` set to the clone (``environment``), so the code and the stack
files they read and write are the clone's, never this repository's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ops.git import git_output, identity

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = (".venv", ".tools")  # ignored by .gitignore, so never committed
GIT_IDENTITY = identity("mlops tests", "tests@example.com")


def git(repo: Path, *args: str) -> str:
    return git_output(repo, *args, author=GIT_IDENTITY, timeout=120).strip()


def fresh_clone(target: Path) -> Path:
    """``target`` as a one-commit repository of the working tree's files."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in INSTALLED:
        if (ROOT / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(ROOT / name)
    git(target, "init", "--quiet", "--initial-branch=main")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "--message", "A fresh clone")
    return target


def environment(clone: Path) -> dict[str, str]:
    """What a command run in ``clone`` needs so that it imports the clone's code."""
    return {**GIT_IDENTITY, "PYTHONPATH": str(clone)}
