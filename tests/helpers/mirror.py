"""The real mirrored datasets: ``dataset/`` after the project's fetch step, else the mirror
(``$TIMELLM_MIRROR`` or ``../shared/datasets`` beside the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.helpers.project import ROOT
from utils.m4_summary import read_submission

# what tests/conftest.py's ``data_root`` fixture installs into dataset/
MIRROR_DATASETS = ("ETTh1", "ILI", "Exchange", "m4-Hourly")


def mirror_dir() -> Path:
    """The dataset mirror: $TIMELLM_MIRROR, else ../shared/datasets beside the repository."""
    return Path(os.environ.get("TIMELLM_MIRROR") or ROOT.parent / "shared" / "datasets")


def m4_folder() -> Path | None:
    """The M4 Hourly files: ``dataset/m4`` (after the fetch step) or the mirror."""
    for folder in (ROOT / "dataset" / "m4", mirror_dir() / "m4"):
        if (folder / "Hourly-train.csv").is_file() and (folder / "submission-Naive2-Hourly.csv").is_file():
            return folder
    return None


needs_m4 = pytest.mark.skipif(m4_folder() is None, reason="M4 Hourly files not found (run the fetch step)")


def load_hourly(folder: Path):
    """ids, ragged training series, (S, 48) test values, (S, 48) official Naive2 forecasts."""
    train = pd.read_csv(folder / "Hourly-train.csv")
    test = pd.read_csv(folder / "Hourly-test.csv")
    ids = train.iloc[:, 0].astype(str).tolist()
    values = train.iloc[:, 1:].to_numpy(dtype=np.float64)
    history = [row[~np.isnan(row)] for row in values]
    assert test.iloc[:, 0].astype(str).tolist() == ids
    sub_ids, naive2 = read_submission(folder / "submission-Naive2-Hourly.csv")
    assert sub_ids == ids
    return ids, history, test.iloc[:, 1:].to_numpy(dtype=np.float64), naive2


def etth1_windows(seq_len: int = 512, pred_len: int = 96, batch: int = 2) -> torch.Tensor:
    """``batch`` windows (batch, seq_len, 1) of ETTh1's OT, 24 hours apart, standardised with the
    training split's statistics; skips the test without the file."""
    path = ROOT / "dataset" / "ETT-small" / "ETTh1.csv"
    if not path.is_file():
        path = mirror_dir() / "ETT-small" / "ETTh1.csv"
    if not path.is_file():
        pytest.skip("ETTh1.csv not found")
    ot = pd.read_csv(path)["OT"].to_numpy("float32")
    ot = (ot - ot[:8640].mean()) / ot[:8640].std()
    starts = range(0, batch * 24, 24)
    return torch.stack([torch.from_numpy(ot[s:s + seq_len]) for s in starts]).unsqueeze(-1)
