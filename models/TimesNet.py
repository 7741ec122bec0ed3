"""TimesNet (Wu et al., "TimesNet: Temporal 2D-Variation Modeling for General Time Series
Analysis", ICLR 2023), long- and short-term forecasting.

The window is normalised per variate (:func:`layers.StandardNorm.window_norm`), embedded
(:class:`layers.TimeEmbed.DataEmbedding`: values, calendar, positions), stretched along time
from ``seq_len`` to ``seq_len + pred_len`` by a Linear, then passed through ``e_layers``
TimesBlocks, each followed by one shared LayerNorm. A TimesBlock finds the ``--top_k``
strongest periods of the batch (FFT amplitudes averaged over the batch and channels, the
constant term excluded), folds the series into a (cycles x period) grid per period, runs two
Inception blocks (``--num_kernels`` kernels, GELU between; :mod:`layers.Conv_Blocks`; each one
merged convolution under ``--fast_path 1``) over the grid, unfolds, and sums the k results
weighted by a softmax of each sample's amplitudes at those periods, plus the input. A Linear
projects ``d_model`` to ``c_out``; the last ``pred_len`` steps, de-normalised, are the forecast.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from layers.Conv_Blocks import Inception_Block_V1
from layers.StandardNorm import window_norm
from layers.TimeEmbed import DataEmbedding
from utils.flags import flag


@dataclass(frozen=True)
class TimesNetFlags:
    """TimesNet's own flags (run_main.py --top_k ...)."""

    top_k: int = flag(5, "TimesNet: periods per TimesBlock")
    num_kernels: int = flag(6, "TimesNet: kernels per Inception block")


def fft_periods(x: torch.Tensor, k: int) -> tuple[list[int], torch.Tensor]:
    """The ``k`` dominant periods of x (B, T, N) and their amplitudes per sample (B, k).

    A frequency's strength is its rFFT amplitude averaged over the batch and the channels (the
    zero frequency excluded); period = T // frequency index (the authors' integer division).
    """
    amplitude = torch.fft.rfft(x, dim=1).abs()                   # B, T//2 + 1, N
    strength = amplitude.mean(0).mean(-1)
    strength[0] = 0
    top = torch.topk(strength, k).indices
    periods = [x.shape[1] // int(f) for f in top.tolist()]
    return periods, amplitude.mean(-1)[:, top]


class TimesBlock(nn.Module):
    """forward: x (B, seq_len + pred_len, d_model) -> same shape."""

    def __init__(self, configs):
        super().__init__()
        self.length = configs.seq_len + configs.pred_len
        self.k = configs.top_k
        merged = bool(getattr(configs, "fast_path", 1))
        self.conv = nn.Sequential(
            Inception_Block_V1(configs.d_model, configs.d_ff, configs.num_kernels, merged),
            nn.GELU(),
            Inception_Block_V1(configs.d_ff, configs.d_model, configs.num_kernels, merged))

    def fold(self, x: torch.Tensor, period: int) -> torch.Tensor:
        """x (B, T, N) zero-padded to whole periods -> (B, N, cycles, period); then the 2-D
        convolutions, and back to (B, T, N)."""
        B, T, N = x.shape
        cycles = -(-T // period)
        grid = F.pad(x, (0, 0, 0, cycles * period - T))
        grid = grid.reshape(B, cycles, period, N).permute(0, 3, 1, 2)
        out = self.conv(grid)
        return out.permute(0, 2, 3, 1).reshape(B, cycles * period, N)[:, :T]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        periods, amplitudes = fft_periods(x, self.k)
        res = torch.stack([self.fold(x, p) for p in periods], dim=-1)          # B, T, N, k
        weights = F.softmax(amplitudes, dim=1)[:, None, None, :]
        return (res * weights).sum(-1) + x


class Model(nn.Module):
    """forward(x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F) or None, ...) -> (B, pred_len, c_out)."""

    channel_independent = False
    flags = TimesNetFlags

    def __init__(self, configs):
        super().__init__()
        self.seq_len, self.pred_len = configs.seq_len, configs.pred_len
        self.model = nn.ModuleList(TimesBlock(configs) for _ in range(configs.e_layers))
        self.enc_embedding = DataEmbedding(configs.enc_in, configs.d_model, configs.embed, configs.freq,
                                           configs.dropout)
        self.layer_norm = nn.LayerNorm(configs.d_model)
        self.predict_linear = nn.Linear(self.seq_len, self.pred_len + self.seq_len)
        self.projection = nn.Linear(configs.d_model, configs.c_out)

    def forward(self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None = None, x_dec=None,
                x_mark_dec=None) -> torch.Tensor:
        x, means, stdev = window_norm(x_enc)
        out = self.enc_embedding(x, x_mark_enc)                                 # B, L, d_model
        out = self.predict_linear(out.transpose(1, 2)).transpose(1, 2)          # B, L + H, d_model
        for block in self.model:
            out = self.layer_norm(block(out))
        out = self.projection(out)[:, -self.pred_len:]                           # B, H, c_out
        return out * stdev[:, :, -out.shape[-1]:] + means[:, :, -out.shape[-1]:]
