"""M4 scoring: sMAPE, MASE and OWA per seasonal pattern and per M4 group, plus submissions.

Conventions (REFERENCE section 2, the M4 organisers' definitions):

- sMAPE of one series = 200/H * sum_t |y_t - f_t| / (|y_t| + |f_t|); a zero denominator
  (y_t = f_t = 0) counts as zero error.
- MASE of one series = mean_t |y_t - f_t| / mean_t |x_t - x_{t-m}|, the scale taken over the
  series' whole training history ``x`` with the pattern's seasonality ``m``.
- A pattern's or group's sMAPE / MASE is the mean over its series (so a group is the
  count-weighted mean of its patterns). OWA = (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2
  is formed from those aggregates, never per series.
- Groups: Yearly, Quarterly, Monthly, Others (Weekly + Daily + Hourly) and Average (every
  series present). A group is reported when at least one of its patterns is present.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np

from utils.errors import DataError, unknown_name

M4_SEASONALITY: dict[str, int] = {
    "Yearly": 1, "Quarterly": 4, "Monthly": 12, "Weekly": 1, "Daily": 1, "Hourly": 24,
}
M4_HORIZON: dict[str, int] = {
    "Yearly": 6, "Quarterly": 8, "Monthly": 18, "Weekly": 13, "Daily": 14, "Hourly": 48,
}
M4_GROUPS: dict[str, tuple[str, ...]] = {
    "Yearly": ("Yearly",),
    "Quarterly": ("Quarterly",),
    "Monthly": ("Monthly",),
    "Others": ("Weekly", "Daily", "Hourly"),
    "Average": ("Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"),
}
# Official Naive2 scores on the full M4 test set (M4 competition results, as quoted by the
# N-BEATS paper, Table 1 / its appendix) for comparison in reports. Only Hourly is checked
# against mirrored data here (tests/test_m4_scoring.py).
NAIVE2_OFFICIAL: dict[str, dict[str, float]] = {
    "Yearly": {"smape": 16.342, "mase": 3.974},
    "Quarterly": {"smape": 11.011, "mase": 1.371},
    "Monthly": {"smape": 14.427, "mase": 1.063},
    "Others": {"smape": 4.754, "mase": 3.281},
    "Average": {"smape": 13.564, "mase": 1.912},
    "Hourly": {"smape": 18.383, "mase": 2.395},
}


def canonical_pattern(pattern: str) -> str:
    """'hourly' -> 'Hourly'; an unknown name raises ConfigError listing the valid ones."""
    for name in M4_SEASONALITY:
        if name.lower() == str(pattern).lower():
            return name
    raise unknown_name("M4 seasonal pattern", str(pattern), M4_SEASONALITY)


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


def _aggregate(smape: np.ndarray, mase: np.ndarray, n2_smape: np.ndarray,
               n2_mase: np.ndarray) -> dict[str, float]:
    s, ms, ns, nm = (float(np.mean(a)) for a in (smape, mase, n2_smape, n2_mase))
    return {
        "smape": s, "mase": ms, "owa": (s / ns + ms / nm) / 2,
        "naive2_smape": ns, "naive2_mase": nm, "count": int(smape.size),
    }


def m4_scores(forecasts: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray],
              histories: Mapping[str, Sequence[np.ndarray]],
              naive2: Mapping[str, np.ndarray | None] | None = None) -> dict:
    """Score M4 forecasts per pattern and per group.

    Args:
        forecasts: pattern -> (S, H) forecasts.
        targets: pattern -> (S, H) test values.
        histories: pattern -> S 1-D training series (for the MASE scale and Naive2).
        naive2: pattern -> (S, H) Naive2 forecasts (e.g. the official file); a missing
            pattern or ``None`` computes them with :func:`models.Naive2.naive2_forecast`.

    Returns:
        ``{name: entry}`` for every pattern present (e.g. ``"Hourly"``) and every group with a
        pattern present (``"Yearly"``, ``"Quarterly"``, ``"Monthly"`` - the same as the
        pattern -, ``"Others"``, ``"Average"``), in that order; every entry holds ``smape``,
        ``mase``, ``owa``, ``naive2_smape``, ``naive2_mase`` and ``count`` (series).
    """
    from models.Naive2 import naive2_forecast  # lazy: models import this module's tables

    naive2 = naive2 or {}
    naive2 = {canonical_pattern(k): v for k, v in naive2.items()}
    targets = {canonical_pattern(k): v for k, v in targets.items()}
    histories = {canonical_pattern(k): v for k, v in histories.items()}
    per_series: dict[str, tuple[np.ndarray, ...]] = {}
    for key, fc in forecasts.items():
        p = canonical_pattern(key)
        if p not in targets or p not in histories:
            raise ValueError(f"pattern {p}: forecasts given without targets or histories")
        m = M4_SEASONALITY[p]
        y = np.asarray(targets[p], dtype=np.float64)
        hist = [np.asarray(h, dtype=np.float64).reshape(-1) for h in histories[p]]
        n2 = naive2.get(p)
        if n2 is None:
            n2 = np.stack([naive2_forecast(h, y.shape[1], m) for h in hist])
        per_series[p] = (
            smape_per_series(fc, y), mase_per_series(fc, y, hist, m),
            smape_per_series(n2, y), mase_per_series(n2, y, hist, m),
        )
    scores = {p: _aggregate(*per_series[p]) for p in M4_SEASONALITY if p in per_series}
    for g, members in M4_GROUPS.items():
        present = [p for p in members if p in per_series]
        if present:
            scores[g] = _aggregate(*(np.concatenate([per_series[p][i] for p in present])
                                     for i in range(4)))
    return scores


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
    import pandas as pd

    frame = pd.read_csv(path)
    return frame.iloc[:, 0].astype(str).tolist(), frame.iloc[:, 1:].to_numpy(dtype=np.float64)
