"""DLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?", AAAI 2023).

The input window is split into a trend (moving average, kernel ``--moving_avg`` = 25 in the
paper) and a seasonal remainder; one Linear(seq_len -> pred_len) maps each part along time and
the two forecasts are added. ``--individual 1`` gives every channel its own pair of Linears
(DLinear-I). Linears keep PyTorch's default initialisation, as in LTSF-Linear (the source of
the published numbers; Time-Series-Library's copy instead starts the weights at 1/seq_len).
"""
from __future__ import annotations

import torch
from torch import nn

from layers.Autoformer_EncDec import series_decomp


class Model(nn.Module):
    """forward(x_enc (B, seq_len, C), ...) -> (B, pred_len, C) with C = ``enc_in``.

    The time marks and the decoder input are ignored.
    """

    channel_independent = False

    def __init__(self, configs):
        super().__init__()
        self.seq_len = configs.seq_len
        self.pred_len = configs.pred_len
        self.decomposition = series_decomp(configs.moving_avg)
        self.individual = bool(configs.individual)
        self.channels = configs.enc_in
        if self.individual:
            self.Linear_Seasonal = nn.ModuleList()
            self.Linear_Trend = nn.ModuleList()
            for _ in range(self.channels):  # same creation order (and so init stream) as LTSF-Linear
                self.Linear_Seasonal.append(nn.Linear(self.seq_len, self.pred_len))
                self.Linear_Trend.append(nn.Linear(self.seq_len, self.pred_len))
        else:
            self.Linear_Seasonal = nn.Linear(self.seq_len, self.pred_len)
            self.Linear_Trend = nn.Linear(self.seq_len, self.pred_len)

    def forward(self, x_enc: torch.Tensor, x_mark_enc=None, x_dec=None, x_mark_dec=None) -> torch.Tensor:
        seasonal_init, trend_init = self.decomposition(x_enc)
        seasonal_init = seasonal_init.permute(0, 2, 1)                       # B, C, seq_len
        trend_init = trend_init.permute(0, 2, 1)
        if self.individual:
            seasonal_output = torch.stack(
                [self.Linear_Seasonal[i](seasonal_init[:, i, :]) for i in range(self.channels)], dim=1)
            trend_output = torch.stack(
                [self.Linear_Trend[i](trend_init[:, i, :]) for i in range(self.channels)], dim=1)
        else:
            seasonal_output = self.Linear_Seasonal(seasonal_init)
            trend_output = self.Linear_Trend(trend_init)
        return (seasonal_output + trend_output).permute(0, 2, 1)             # B, pred_len, C
