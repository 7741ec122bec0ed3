"""Seasonal naive: repeat the last m observed values (Naive1 when m = 1); nothing to train.

m comes from the M4 table for short-term runs, else ``configs.seasonality``, else 1 (see
:func:`models.Naive2.seasonality_from_configs`). A series with fewer than m real points
falls back to Naive1 (its last value).
"""
from __future__ import annotations

import numpy as np

from models.Naive2 import StatisticalModel


def seasonal_naive_forecast_batch(x: np.ndarray, h: int, m: int) -> np.ndarray:
    """Seasonal naive forecasts for equal-length series: ``x`` (N, n) -> (N, h)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[1]
    if m <= 1 or n < m:
        return np.repeat(x[:, -1:], h, axis=1)
    return x[:, n - m + np.arange(h) % m]


def seasonal_naive_forecast(series: np.ndarray, h: int, m: int) -> np.ndarray:
    """Seasonal naive forecast of one series: (n,) -> (h,)."""
    return seasonal_naive_forecast_batch(np.asarray(series, dtype=np.float64).reshape(1, -1), h, m)[0]


class Model(StatisticalModel):
    """Seasonal naive: repeat the last season (Naive1 when m = 1); masks as in Naive2."""

    forecast_batch = staticmethod(seasonal_naive_forecast_batch)
