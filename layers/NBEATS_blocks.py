"""N-BEATS blocks (Oreshkin et al., ICLR 2020): a fully connected stack that reads the
residual window and emits the coefficients of a basis, split into a backcast (removed from the
residual) and a forecast (added to the output).

Only the generic basis (N-BEATS-G) is provided: the coefficients are the backcast and the
forecast themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from utils.flags import flag


@dataclass(frozen=True)
class BlockFlags:
    """The flags of the fully connected stack N-BEATS and N-HiTS share."""

    layers: int = flag(4, "N-BEATS / N-HiTS: fully connected layers per block (N-HiTS authors: 2)")
    layer_size: int = flag(512, "N-BEATS / N-HiTS: width of those layers")


class GenericBasis(nn.Module):
    """theta (B, L + H) -> (backcast theta[:, :L], forecast theta[:, -H:])."""

    def __init__(self, backcast_size: int, forecast_size: int):
        super().__init__()
        self.backcast_size = backcast_size
        self.forecast_size = forecast_size

    def forward(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return theta[:, :self.backcast_size], theta[:, -self.forecast_size:]


class NBeatsBlock(nn.Module):
    """``layers`` ReLU Linear layers of width ``layer_size``, then a Linear to ``theta_size``
    basis coefficients and the basis.

    forward: x (B, input_size) -> (backcast (B, input_size), forecast (B, H)).
    """

    def __init__(self, input_size: int, theta_size: int, basis_function: nn.Module, layers: int,
                 layer_size: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(input_size, layer_size)]
                                    + [nn.Linear(layer_size, layer_size) for _ in range(layers - 1)])
        self.basis_parameters = nn.Linear(layer_size, theta_size)
        self.basis_function = basis_function

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.basis_function(self.basis_parameters(x))


def channel_rows(x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """x_enc (B, L, C) -> (rows (B*C, L), mask (B*C, L)): one univariate row per channel.

    The mask (1 = observed) is ``x_mark_enc`` when it has the window's shape (a padded short
    series), else all ones (calendar marks, or none: the trainer's M4 path).
    """
    B, L, C = x_enc.shape
    x = x_enc.permute(0, 2, 1).reshape(B * C, L)
    if x_mark_enc is None or x_mark_enc.shape != x_enc.shape:
        return x, torch.ones_like(x)
    return x, x_mark_enc.permute(0, 2, 1).reshape(B * C, L).to(x.dtype)


def forecast_channels(blocks: nn.ModuleList, x_enc: torch.Tensor,
                      x_mark_enc: torch.Tensor | None) -> torch.Tensor:
    """Each channel of x_enc (B, L, C) forecast on its own by the stack -> (B, H, C)."""
    B, _, C = x_enc.shape
    forecast = doubly_residual(blocks, *channel_rows(x_enc, x_mark_enc))     # B*C, H
    return forecast.reshape(B, C, -1).permute(0, 2, 1)


def doubly_residual(blocks: nn.ModuleList, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The N-BEATS stack: x (B, L) oldest first, mask (B, L) 1 where observed -> forecast (B, H).

    Blocks read the window newest first (the authors' flip); each block's backcast is removed
    from the residual (padded steps kept at 0 by the mask) and its forecast added to a start at
    the last observed value (the authors' level, ``x[:, -1:]``).
    """
    residuals = x.flip(dims=(1,))
    mask = mask.flip(dims=(1,))
    forecast = x[:, -1:]
    for block in blocks:
        backcast, block_forecast = block(residuals)
        residuals = (residuals - backcast) * mask
        forecast = forecast + block_forecast
    return forecast
