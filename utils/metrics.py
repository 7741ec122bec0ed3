"""Point-forecast metrics (Time-Series-Library definitions) and a streaming accumulator.

Keys of every result: ``mse``, ``mae``, ``rmse``, ``mape``, ``mspe`` (plain floats).

- MSE = mean (pred - true)^2, MAE = mean |pred - true|, RMSE = sqrt(MSE).
- MAPE = mean |(pred - true) / true|, MSPE = mean ((pred - true) / true)^2, as fractions (not
  percent). Unlike TSLib, which divides by zero and returns inf/nan, entries with
  ``true == 0`` are left out of MAPE and MSPE (and only of those); with no non-zero entry
  they are NaN.
"""
from __future__ import annotations

import math

import numpy as np

METRIC_NAMES = ("mse", "mae", "rmse", "mape", "mspe")


def _as_numpy(a) -> np.ndarray:
    """numpy float64 view of a numpy array or a torch tensor (any device)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


class MetricAccumulator:
    """Accumulate error sums over batches; :meth:`result` equals :func:`metric` on the
    concatenation of every batch seen.

    Only sums and counts are kept (float64), so memory does not grow with the test set.
    For several processes, add up :attr:`sums` across them (or :meth:`merge`) before
    :meth:`result`.
    """

    _KEYS = ("sq", "abs", "n", "ape", "spe", "n_nonzero")

    def __init__(self) -> None:
        self.sums = dict.fromkeys(self._KEYS, 0.0)

    def update(self, pred, true) -> None:
        """Add one batch; ``pred`` and ``true`` have equal shapes (numpy or torch)."""
        p, t = _as_numpy(pred), _as_numpy(true)
        if p.shape != t.shape:
            raise ValueError(f"pred {p.shape} and true {t.shape} must have the same shape")
        err = p - t
        nz = t != 0
        rel = err[nz] / t[nz]
        s = self.sums
        s["sq"] += float(np.sum(err * err))
        s["abs"] += float(np.sum(np.abs(err)))
        s["n"] += err.size
        s["ape"] += float(np.sum(np.abs(rel)))
        s["spe"] += float(np.sum(rel * rel))
        s["n_nonzero"] += rel.size

    def merge(self, other: "MetricAccumulator") -> None:
        """Add another accumulator's sums (e.g. from another process)."""
        for k in self._KEYS:
            self.sums[k] += other.sums[k]

    def result(self) -> dict[str, float]:
        """The metrics of everything seen so far (NaN where there is nothing to average)."""
        s = self.sums
        nan = float("nan")
        mse = s["sq"] / s["n"] if s["n"] else nan
        return {
            "mse": mse,
            "mae": s["abs"] / s["n"] if s["n"] else nan,
            "rmse": math.sqrt(mse) if s["n"] else nan,
            "mape": s["ape"] / s["n_nonzero"] if s["n_nonzero"] else nan,
            "mspe": s["spe"] / s["n_nonzero"] if s["n_nonzero"] else nan,
        }


def metric(pred, true) -> dict[str, float]:
    """MSE, MAE, RMSE, MAPE, MSPE of ``pred`` against ``true`` (equal shapes, numpy or torch)."""
    p, t = _as_numpy(pred), _as_numpy(true)
    if p.shape != t.shape:
        raise ValueError(f"pred {p.shape} and true {t.shape} must have the same shape")
    nan = float("nan")
    if p.size == 0:
        return dict.fromkeys(METRIC_NAMES, nan)
    err = p - t
    nz = t != 0
    rel = err[nz] / t[nz]
    mse = float(np.mean(err ** 2))
    return {
        "mse": mse,
        "mae": float(np.mean(np.abs(err))),
        "rmse": math.sqrt(mse),
        "mape": float(np.mean(np.abs(rel))) if rel.size else nan,
        "mspe": float(np.mean(rel ** 2)) if rel.size else nan,
    }
