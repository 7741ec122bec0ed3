"""N-BEATS-G (Oreshkin et al., "N-BEATS: Neural basis expansion analysis for interpretable time
series forecasting", ICLR 2020), one model of the paper's ensemble.

``--stacks`` blocks (the authors' generic M4 configuration: 30 stacks of one block) of
``--layers`` ReLU layers of width ``--layer_size`` (4 x 512), generic basis, doubly residual
(:mod:`layers.NBEATS_blocks`). Univariate: each channel of the window is forecast on its own
with the same weights. The input mask (1 = observed) is the calendar-marks argument when a
caller gives one; the trainer's M4 path gives none, so zero padding before a short series'
start would be read as values (never on M4 Hourly with seq_len 2H: every window lies inside
its series).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from layers.NBEATS_blocks import BlockFlags, GenericBasis, NBeatsBlock, forecast_channels
from utils.flags import flag


@dataclass(frozen=True)
class NBEATSFlags(BlockFlags):
    """N-BEATS's own flags (run_main.py --stacks ...)."""

    stacks: int = flag(30, "N-BEATS: blocks (the authors' generic M4 model: 30)")


class Model(nn.Module):
    """forward(x_enc (B, seq_len, C), x_mark_enc: mask (B, seq_len, C) or None, ...) -> (B, pred_len, C)."""

    channel_independent = True
    flags = NBEATSFlags

    def __init__(self, configs):
        super().__init__()
        L, H = configs.seq_len, configs.pred_len
        self.pred_len = H
        self.blocks = nn.ModuleList(
            NBeatsBlock(L, L + H, GenericBasis(L, H), configs.layers, configs.layer_size)
            for _ in range(configs.stacks))

    def forward(self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None = None, x_dec=None,
                x_mark_dec=None) -> torch.Tensor:
        return forecast_channels(self.blocks, x_enc, x_mark_enc)
