"""Shared ML fixtures: small generated data and one small model per test session."""

from __future__ import annotations

import os

# One OpenMP thread per test worker: with pytest-xdist on two cores, more threads
# only spin against each other and make tree training several times slower.
# Set before scikit-learn loads its OpenMP runtime, then enforced on the loaded one.
os.environ["OMP_NUM_THREADS"] = "1"

from pathlib import Path

import pandas as pd
import pytest
import sklearn.ensemble  # noqa: F401
from threadpoolctl import threadpool_limits

from ml.data import generate
from ml.io import write_table
from ml.train import TrainParams, run_training

threadpool_limits(limits=1)

TRAIN_ROWS = 20_000
SMALL_PARAMS = TrainParams(max_iter=60, seed=7)


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    return generate(TRAIN_ROWS, seed=101)


@pytest.fixture(scope="session")
def test_frame() -> pd.DataFrame:
    return generate(20_000, seed=202)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, train_frame, test_frame) -> Path:
    directory = tmp_path_factory.mktemp("data")
    write_table(train_frame, directory / "train.parquet")
    write_table(test_frame, directory / "test.parquet")
    write_table(generate(20_000, 303, "fraud_pattern_change"), directory / "pattern.parquet")
    return directory


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    directory = tmp_path_factory.mktemp("model")
    run_training(data_dir / "train.parquet", None, directory, SMALL_PARAMS)
    return directory
