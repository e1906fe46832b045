"""The ids seen across a drop's files: which earlier file holds a repeated id, after merges too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ml.file_sets as file_sets
from ml.file_sets import IdRegistry, expand_paths


def test_a_repeated_id_is_traced_to_the_earliest_file_across_merges(monkeypatch) -> None:
    monkeypatch.setattr(file_sets, "MERGE_AT", 50)  # merge often
    registry = IdRegistry()
    rng = np.random.default_rng(7)
    files = [rng.choice(10**12, 40, replace=False) for _ in range(30)]
    for index, ids in enumerate(files):
        assert registry.first_overlap(Path(f"part-{index:02d}.csv"), ids) is None
    repeated = np.concatenate([files[17][:3], files[4][:2], rng.choice(10**12, 5) + 10**12])
    assert registry.first_overlap(Path("late.csv"), repeated) == (Path("part-04.csv"), 5)
    assert registry.first_overlap(Path("fresh.csv"), np.arange(5) + 3 * 10**12) is None


def test_each_file_is_listed_once_and_the_quarantine_never(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "q").mkdir(parents=True)
    (raw / "a.csv").write_text("x")
    (raw / "q" / "old.csv").write_text("x")
    listed = expand_paths([raw / "a.csv", raw, raw / "a.csv"], skip=raw / "q")
    assert listed == [raw / "a.csv"]
