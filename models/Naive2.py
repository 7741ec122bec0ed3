"""Naive2, the official M4 benchmark, and the wrapper that puts any per-series statistical
forecaster behind the common model contract.

The Naive2 forecast itself (the M4 organisers' definition, reproducing their official file) is
:func:`data_provider.naive2.naive2_forecast_batch`; it is also the yardstick of the M4 scores.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from data_provider.datasets import M4_PATTERNS, canonical_pattern
from data_provider.naive2 import naive2_forecast_batch


def seasonality_from_configs(configs) -> int:
    """Seasonality m: the M4 table for short-term runs, else ``configs.seasonality``, else 1."""
    if configs.task_name == "short_term_forecast":
        return M4_PATTERNS[canonical_pattern(configs.seasonal_patterns)].seasonality
    m = getattr(configs, "seasonality", None)  # not a flag: set only by callers that need it
    return int(m) if m else 1


def real_series(x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs as float64 numpy plus the real-point mask, or None when the whole window is real.

    ``x_mark_enc`` counts as a mask only when it has ``x_enc``'s shape and holds only 0 and 1
    (the M4 trainer's padding mask); time features (long-term datasets) do not.
    """
    x = x_enc.detach().to("cpu", torch.float64).numpy()
    mask = None
    if x_mark_enc is not None and tuple(x_mark_enc.shape) == tuple(x_enc.shape):
        mk = x_mark_enc.detach().to("cpu", torch.float64).numpy()
        if np.all((mk == 0) | (mk == 1)):
            mask = mk > 0.5
    return x, mask


def forecast_windows(x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None, pred_len: int,
                     fn) -> torch.Tensor:
    """Apply a per-batch forecaster ``fn((N, n) float64, h) -> (N, h)`` to every channel.

    Windows without a mask go through ``fn`` in one batch; masked (left-padded) series are
    taken one by one with only their real points. Returns (B, pred_len, C) like ``x_enc``.
    """
    x, mask = real_series(x_enc, x_mark_enc)
    B, _, C = x.shape
    flat = x.transpose(0, 2, 1).reshape(B * C, -1)  # (B*C, L)
    if mask is None:
        out = fn(flat, pred_len)
    else:
        flat_mask = mask.transpose(0, 2, 1).reshape(B * C, -1)
        out = np.zeros((B * C, pred_len))
        for i in range(B * C):
            s = flat[i, flat_mask[i]]
            if s.size:  # an all-padding row forecasts zeros
                out[i] = fn(s[None, :], pred_len)[0]
    out = out.reshape(B, C, pred_len).transpose(0, 2, 1)
    return torch.as_tensor(np.ascontiguousarray(out), dtype=x_enc.dtype, device=x_enc.device)


class StatisticalModel(nn.Module):
    """A per-series statistical forecaster behind the common model contract.

    forward(x_enc (B, L, C), x_mark_enc, x_dec, x_mark_dec) -> (B, pred_len, C). Each channel of
    each window is forecast from its real points (all of the window unless ``x_mark_enc`` is a
    0/1 mask of ``x_enc``'s shape). Subclasses set ``forecast_batch(series (S, n), h, m) -> (S, h)``.
    """

    needs_training = False
    full_history = True
    channel_independent = True
    forecast_batch = None

    def __init__(self, configs):
        super().__init__()
        self.pred_len = int(configs.pred_len)
        self.seasonality = seasonality_from_configs(configs)

    def forward(self, x_enc, x_mark_enc=None, x_dec=None, x_mark_dec=None):
        m, method = self.seasonality, type(self).forecast_batch
        return forecast_windows(x_enc, x_mark_enc, self.pred_len, lambda s, h: method(s, h, m))


class Model(StatisticalModel):
    """Naive2, the official M4 benchmark (see :mod:`data_provider.naive2`)."""

    forecast_batch = staticmethod(naive2_forecast_batch)
