"""N-HiTS (Challu et al., "N-HiTS: Neural Hierarchical Interpolation for Time Series
Forecasting", AAAI 2023), the authors' identity-basis model (``_NHITS`` in cchallu/n-hits).

One stack per entry of ``--n_pool_kernel_size`` / ``--n_freq_downsample`` / ``--n_blocks``
(equal lengths; the authors' defaults 2,2,1 / 4,2,1 / 1,1,1: three stacks of one block). Every
block of stack i max-pools the residual window (kernel = stride ``n_pool_kernel_size[i]``, ceil
mode; ``--pooling_mode average``: average pooling), runs ``--layers`` ReLU layers of width
``--layer_size`` (theirs: 2 x 512) and emits the L backcast values and ``max(H //
n_freq_downsample[i], 1)`` forecast knots, linearly interpolated to H (``--interpolation_mode
linear``, the authors' choice in every configuration they publish; ``nearest`` also offered,
their ``cubic`` is not). Blocks are doubly residual (:func:`layers.NBEATS_blocks.doubly_residual`):
the forecast starts at the last observed value, as the authors' ``forecast`` (their "Level with
Naive1"). Their other options are fixed at the values of all their configurations: ReLU, no
batch normalisation, no dropout, unshared weights, PyTorch's default Linear initialisation
(their ``lecun_normal`` leaves it unchanged). No exogenous or static inputs (theirs takes
``n_x = n_s = 0`` for M4 and the long-horizon benchmarks).

Univariate, like :mod:`models.NBEATS`: each channel of the window is forecast on its own with
the same weights. The input mask (1 = observed) is the calendar-marks argument when a caller
gives one of the window's shape; the trainer's M4 path gives none.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from layers.NBEATS_blocks import BlockFlags, forecast_channels
from layers.NHITS_blocks import NHitsBlock, check_modes
from utils.errors import ConfigError
from utils.flags import flag

STACK_FLAGS = ("n_pool_kernel_size", "n_freq_downsample", "n_blocks")


@dataclass(frozen=True)
class NHITSFlags(BlockFlags):
    """N-HiTS's own flags (run_main.py --n_blocks ...)."""

    n_pool_kernel_size: list[int] = flag(
        [2, 2, 1], "N-HiTS: input pooling kernel of each stack (one value per stack)")
    n_freq_downsample: list[int] = flag(
        [4, 2, 1], "N-HiTS: each stack forecasts max(pred_len // value, 1) knots (one value per stack)")
    n_blocks: list[int] = flag([1, 1, 1], "N-HiTS: blocks of each stack (one value per stack)")
    pooling_mode: str = flag("max", "N-HiTS: max | average input pooling")
    interpolation_mode: str = flag("linear", "N-HiTS: linear | nearest knot interpolation")


class Model(nn.Module):
    """forward(x_enc (B, seq_len, C), x_mark_enc: mask (B, seq_len, C) or None, ...) -> (B, pred_len, C)."""

    channel_independent = True
    flags = NHITSFlags

    @staticmethod
    def check_config(cfg) -> None:
        """One ConfigError line for flags this model cannot be built from (before any data)."""
        lengths = {flag: len(getattr(cfg, flag)) for flag in STACK_FLAGS}
        if len(set(lengths.values())) != 1:
            raise ConfigError("N-HiTS takes one value per stack in each of --n_pool_kernel_size, "
                              "--n_freq_downsample and --n_blocks; got "
                              + ", ".join(f"{n} in --{flag}" for flag, n in lengths.items()))
        for flag in STACK_FLAGS + ("layers", "layer_size"):
            values = getattr(cfg, flag)
            if min(values if isinstance(values, (list, tuple)) else [values]) < 1:
                raise ConfigError(f"--{flag} must be at least 1, got {values}")
        if max(cfg.n_pool_kernel_size) > cfg.seq_len:
            raise ConfigError(f"--n_pool_kernel_size {max(cfg.n_pool_kernel_size)} is longer "
                              f"than the input window (seq_len {cfg.seq_len})")
        check_modes(cfg.pooling_mode, cfg.interpolation_mode)

    def __init__(self, configs):
        super().__init__()
        self.check_config(configs)
        L, H = configs.seq_len, configs.pred_len
        self.pred_len = H
        self.blocks = nn.ModuleList(
            NHitsBlock(L, H, pool, downsample, configs.layers, configs.layer_size,
                       configs.pooling_mode, configs.interpolation_mode)
            for pool, downsample, n in zip(configs.n_pool_kernel_size, configs.n_freq_downsample,
                                           configs.n_blocks)
            for _ in range(n))

    def forward(self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None = None, x_dec=None,
                x_mark_dec=None) -> torch.Tensor:
        return forecast_channels(self.blocks, x_enc, x_mark_enc)
