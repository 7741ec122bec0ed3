"""Seasonal naive: repeat the last m observed values (Naive1 when m = 1); nothing to train.

m comes from the M4 table for short-term runs, else ``configs.seasonality``, else 1 (see
:func:`models.Naive2.seasonality_from_configs`). A series with fewer than m real points
falls back to Naive1 (its last value).
"""
from __future__ import annotations

import numpy as np
import torch.nn as nn

from models.Naive2 import forecast_windows, seasonality_from_configs


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


class Model(nn.Module):
    """forward(x_enc (B, L, C), x_mark_enc mask or time features, x_dec, x_mark_dec)
    -> (B, pred_len, C); masks work as in :class:`models.Naive2.Model`."""

    needs_training = False
    full_history = True
    channel_independent = True

    def __init__(self, configs):
        super().__init__()
        self.pred_len = int(configs.pred_len)
        self.seasonality = seasonality_from_configs(configs)

    def forward(self, x_enc, x_mark_enc=None, x_dec=None, x_mark_dec=None):
        m = self.seasonality
        return forecast_windows(x_enc, x_mark_enc, self.pred_len,
                                lambda s, h: seasonal_naive_forecast_batch(s, h, m))
