"""M4 metrics of one series and the submission file layout (no M4 table needed here).

Conventions (docs/REFERENCE.md section 2, the M4 organisers' definitions):

- sMAPE of one series = 200/H * sum_t |y_t - f_t| / (|y_t| + |f_t|); a zero denominator
  (y_t = f_t = 0) counts as zero error.
- MASE of one series = mean_t |y_t - f_t| / mean_t |x_t - x_{t-m}|, the scale taken over the
  series' whole training history ``x`` with the pattern's seasonality ``m``.

The scores per pattern and per M4 group (with OWA against Naive2) are
:func:`data_provider.m4_scoring.m4_scores`, which reads the M4 table.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

from utils.errors import DataError


def smape_per_series(forecast: np.ndarray, target: np.ndarray) -> np.ndarray:
    """M4 sMAPE of each series: forecast, target (S, H) -> (S,) in percent."""
    f = np.asarray(forecast, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if f.shape != y.shape or f.ndim != 2:
        raise ValueError(f"forecast {f.shape} and target {y.shape} must be equal (S, H) arrays")
    num = np.abs(y - f)
    den = np.abs(y) + np.abs(f)
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
    return 200.0 * ratio.mean(axis=1)


def mase_scale(history: np.ndarray, m: int) -> float:
    """In-sample seasonal-naive MAE of one training series: mean |x_t - x_{t-m}|."""
    x = np.asarray(history, dtype=np.float64).reshape(-1)
    if x.size <= m:
        raise DataError(f"MASE needs a training history longer than m={m}, got {x.size} points")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase_per_series(forecast: np.ndarray, target: np.ndarray,
                    histories: Sequence[np.ndarray], m: int) -> np.ndarray:
    """M4 MASE of each series: forecast, target (S, H), S histories -> (S,).

    A constant history (zero scale) gives inf, as in the official formula.
    """
    f = np.asarray(forecast, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if f.shape != y.shape or f.ndim != 2:
        raise ValueError(f"forecast {f.shape} and target {y.shape} must be equal (S, H) arrays")
    if len(histories) != f.shape[0]:
        raise ValueError(f"{len(histories)} histories for {f.shape[0]} series")
    scale = np.array([mase_scale(h, m) for h in histories])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(y - f).mean(axis=1) / scale


def write_submission(path: str | os.PathLike, ids: Sequence[str], forecasts: np.ndarray) -> None:
    """Write forecasts in the official M4 layout (``id,F1..FH``), atomically.

    ``forecasts`` is (S, H); values are written at full precision (Python float repr).
    The file appears complete or not at all (temporary file in the same folder + os.replace).
    """
    fc = np.asarray(forecasts, dtype=np.float64)
    if fc.ndim != 2 or fc.shape[0] != len(ids):
        raise ValueError(f"forecasts {fc.shape} must be (S, H) with S = {len(ids)} ids")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    lines = ["id," + ",".join(f"F{i + 1}" for i in range(fc.shape[1]))]
    lines += [",".join([str(i)] + [repr(float(v)) for v in row]) for i, row in zip(ids, fc)]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_submission(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Read an ``id,F1..FH`` forecast file -> (ids, (S, H) float64 array)."""
    frame = pd.read_csv(path)
    return frame.iloc[:, 0].astype(str).tolist(), frame.iloc[:, 1:].to_numpy(dtype=np.float64)
