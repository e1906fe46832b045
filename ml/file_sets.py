"""The files of a drop, each once, and the transaction ids seen across them.

``expand_paths`` lists what to validate: every file given and every file under
each directory given, hidden ones and broken links included (they are part of
the drop, so they are reported), each once however often it was named, never
anything under the quarantine. ``IdRegistry`` remembers the ids of the files
that passed, in sorted arrays that are merged as they grow, so finding a file
that repeats earlier records costs a binary search per id and 12 bytes per id
held (the int64 id and the int32 index of its file), not a Python set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

MERGE_AT = 1 << 16  # ids waiting in small arrays before they are merged into the sorted one


def expand_paths(paths: list[Path], skip: Path | None = None) -> list[Path]:
    """Files to validate, each once, in the order given (a directory's in path order)."""
    skipped = [skip.absolute(), skip.resolve()] if skip is not None else []
    seen: set[str] = set()
    files: list[Path] = []
    for path in paths:
        candidates = (
            sorted(p for p in path.rglob("*") if p.is_symlink() or not p.is_dir())
            if path.is_dir() and not path.is_symlink()
            else [path]
        )
        for candidate in candidates:
            key = os.path.abspath(candidate)  # noqa: PTH100 - normalised, links not followed
            if key in seen or _under(candidate, skipped):
                continue
            seen.add(key)
            files.append(candidate)
    return files


def _under(path: Path, roots: list[Path]) -> bool:
    places = {path.absolute(), path.resolve()}
    return any(root == place or root in place.parents for root in roots for place in places)


class IdRegistry:
    """The ids of the files accepted so far, and which file holds each."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self._ids = np.empty(0, dtype=np.int64)  # sorted
        self._owners = np.empty(0, dtype=np.int32)  # index into files, parallel to _ids
        self._pending: list[tuple[np.ndarray, int]] = []  # (sorted unique ids, owner)

    def first_overlap(self, path: Path, ids: np.ndarray) -> tuple[Path, int] | None:
        """(earliest file holding some of ``ids``, how many) or None; None registers ``path``."""
        unique = np.unique(ids)
        owners = self._owners_of(unique)
        if owners.size:
            first = int(owners.min())
            return self.files[first], int(owners.size)
        self.files.append(path)
        self._pending.append((unique, len(self.files) - 1))
        if sum(len(ids) for ids, _ in self._pending) > max(MERGE_AT, self._ids.size // 2):
            self._merge()
        return None

    def _owners_of(self, unique: np.ndarray) -> np.ndarray:
        """The owner of each id of ``unique`` already held (one entry per shared id)."""
        found = []
        if self._ids.size:
            positions = np.searchsorted(self._ids, unique).clip(max=self._ids.size - 1)
            hits = self._ids[positions] == unique
            found.append(self._owners[positions[hits]])
        for ids, owner in self._pending:
            shared = np.count_nonzero(np.isin(unique, ids, assume_unique=True))
            found.append(np.full(shared, owner, dtype=np.int32))
        return np.concatenate(found) if found else np.empty(0, dtype=np.int32)

    def _merge(self) -> None:
        """Fold the pending arrays into the sorted one by inserting them at their places.

        Both sides are sorted, so ``np.insert`` at ``searchsorted`` positions merges
        them without sorting all ids again: the merge needs the old arrays and the
        new ones (about 24 bytes an id at its peak), not an argsort of everything.
        """
        pending = np.concatenate([ids for ids, _ in self._pending])
        owners = np.concatenate(
            [np.full(len(ids), owner, dtype=np.int32) for ids, owner in self._pending]
        )
        order = np.argsort(pending, kind="stable")
        pending, owners = pending[order], owners[order]
        places = np.searchsorted(self._ids, pending)
        self._ids = np.insert(self._ids, places, pending)
        self._owners = np.insert(self._owners, places, owners)
        self._pending = []
