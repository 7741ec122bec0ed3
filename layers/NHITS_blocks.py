"""N-HiTS blocks (Challu et al., "N-HiTS: Neural Hierarchical Interpolation for Time Series
Forecasting", AAAI 2023): an N-BEATS block that reads a max- (or average-) pooled residual and
emits a few forecast knots, interpolated to the horizon.

The blocks are stacked doubly residual exactly as N-BEATS's
(:func:`layers.NBEATS_blocks.doubly_residual`: newest-first residual, forecast started at the
last observed value), which is what the authors' ``_NHITS.forecast`` does. As in their code
(``src/models/nhits/nhits.py``, cchallu/n-hits) the backcast is not interpolated: the block emits
all ``L`` backcast values and ``max(H // n_freq_downsample, 1)`` forecast knots.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from utils.errors import unknown_name

# --pooling_mode: the authors' names; ceil_mode keeps a partial window at the oldest end
POOLING: dict[str, type[nn.Module]] = {"max": nn.MaxPool1d, "average": nn.AvgPool1d}
# --interpolation_mode: F.interpolate modes (align_corners left False, as theirs)
INTERPOLATION: tuple[str, ...] = ("linear", "nearest")


def pooled_length(seq_len: int, kernel: int) -> int:
    """Length of a window of ``seq_len`` steps after pooling with kernel = stride ``kernel``
    (ceil mode: a shorter last window counts)."""
    return math.ceil(seq_len / kernel)


def n_knots(pred_len: int, downsample: int) -> int:
    """Forecast knots of a block whose output is ``downsample`` times coarser than the horizon."""
    return max(pred_len // downsample, 1)


def check_modes(pooling_mode: str, interpolation_mode: str) -> None:
    """ConfigError listing the valid names for an unknown pooling or interpolation mode."""
    if pooling_mode not in POOLING:
        raise unknown_name("pooling_mode", pooling_mode, POOLING)
    if interpolation_mode not in INTERPOLATION:
        raise unknown_name("interpolation_mode", interpolation_mode, INTERPOLATION)


class InterpolatedBasis(nn.Module):
    """theta (B, L + K) -> (backcast theta[:, :L] (B, L), forecast (B, H)): the K knots
    ``theta[:, L:]`` interpolated to H points."""

    def __init__(self, backcast_size: int, forecast_size: int, interpolation_mode: str):
        super().__init__()
        self.backcast_size = backcast_size
        self.forecast_size = forecast_size
        self.interpolation_mode = interpolation_mode

    def forward(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        knots = theta[:, None, self.backcast_size:]                               # B, 1, K
        forecast = F.interpolate(knots, size=self.forecast_size, mode=self.interpolation_mode)
        return theta[:, :self.backcast_size], forecast[:, 0]


class NHitsBlock(nn.Module):
    """Pooling (kernel = stride ``pool_kernel``, ceil mode), ``layers`` ReLU Linear layers of
    width ``layer_size``, a Linear to L + K coefficients, the interpolated basis.

    ``layers`` is one ``nn.Sequential`` (Linear, ReLU, ..., Linear) as in the authors' block, so
    the parameter names are theirs (``layers.0``, ``layers.2``, ...).

    forward: x (B, L) -> (backcast (B, L), forecast (B, H)).
    """

    def __init__(self, seq_len: int, pred_len: int, pool_kernel: int, downsample: int,
                 layers: int, layer_size: int, pooling_mode: str = "max",
                 interpolation_mode: str = "linear"):
        super().__init__()
        check_modes(pooling_mode, interpolation_mode)
        self.pooling = POOLING[pooling_mode](kernel_size=pool_kernel, stride=pool_kernel,
                                             ceil_mode=True)
        widths = [pooled_length(seq_len, pool_kernel)] + [layer_size] * layers
        hidden = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            hidden += [nn.Linear(w_in, w_out), nn.ReLU()]
        self.layers = nn.Sequential(*hidden,
                                    nn.Linear(widths[-1], seq_len + n_knots(pred_len, downsample)))
        self.basis = InterpolatedBasis(seq_len, pred_len, interpolation_mode)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.pooling(x[:, None, :])[:, 0]                                 # B, ceil(L / k)
        return self.basis(self.layers(pooled))
