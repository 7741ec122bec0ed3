"""Series decomposition (shared by DLinear and Autoformer) and Autoformer's encoder / decoder.

Autoformer (Wu et al., NeurIPS 2021) splits every intermediate series into a trend (moving
average) and a seasonal remainder; the encoder keeps only the seasonal part, the decoder
accumulates the trend parts through a projection into the forecast's trend.
"""
from __future__ import annotations

import torch
from torch import nn

from layers.Transformer_EncDec import Encoder, activation_fn, feed_forward

__all__ = ["moving_avg", "series_decomp", "my_Layernorm", "EncoderLayer", "Encoder",
           "DecoderLayer", "Decoder"]


class moving_avg(nn.Module):
    """Moving average over time with edge replication.

    forward: (B, L, C) -> (B, L', C): the first and last steps are repeated (kernel_size - 1) // 2
    times on each side, then AvgPool1d(kernel_size, stride). For odd kernels and stride 1,
    L' = L.
    """

    def __init__(self, kernel_size: int, stride: int = 1):
        super().__init__()
        self.kernel_size = kernel_size
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (self.kernel_size - 1) // 2
        front = x[:, 0:1, :].repeat(1, pad, 1)
        end = x[:, -1:, :].repeat(1, pad, 1)
        x = torch.cat([front, x, end], dim=1)
        return self.avg(x.permute(0, 2, 1)).permute(0, 2, 1)


class series_decomp(nn.Module):
    """x -> (seasonal = x - trend, trend = moving_avg(x)); shapes (B, L, C) each (odd kernel)."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.moving_avg = moving_avg(kernel_size, stride=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        moving_mean = self.moving_avg(x)
        return x - moving_mean, moving_mean


class my_Layernorm(nn.Module):
    """LayerNorm for the seasonal part: normalise, then subtract the mean over time.

    forward: (B, L, C) -> (B, L, C).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.layernorm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_hat = self.layernorm(x)
        return x_hat - torch.mean(x_hat, dim=1, keepdim=True)


class EncoderLayer(nn.Module):
    """Auto-correlation + decomposition, FFN (bias-free convolutions) + decomposition; the trend
    parts are dropped.

    forward: (B, L, d_model) -> ((B, L, d_model), attn).
    """

    def __init__(self, attention: nn.Module, d_model: int, d_ff: int | None = None,
                 moving_avg: int = 25, dropout: float = 0.1, activation: str = "relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.attention = attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1, bias=False)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1, bias=False)
        self.decomp1 = series_decomp(moving_avg)
        self.decomp2 = series_decomp(moving_avg)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)

    def forward(self, x: torch.Tensor, attn_mask=None):
        new_x, attn = self.attention(x, x, x, attn_mask=attn_mask)
        x, _ = self.decomp1(x + self.dropout(new_x))
        y = feed_forward(x, self.conv1, self.conv2, self.activation, self.dropout)
        res, _ = self.decomp2(x + y)
        return res, attn


class DecoderLayer(nn.Module):
    """Self auto-correlation, cross auto-correlation and FFN, each followed by a decomposition;
    the three trends are summed and projected to ``c_out`` channels by a circular Conv1d
    (kernel 3, no bias).

    forward: x (B, L, d_model), cross (B, S, d_model) -> (seasonal (B, L, d_model),
    residual trend (B, L, c_out)).
    """

    def __init__(self, self_attention: nn.Module, cross_attention: nn.Module, d_model: int,
                 c_out: int, d_ff: int | None = None, moving_avg: int = 25, dropout: float = 0.1,
                 activation: str = "relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.self_attention = self_attention
        self.cross_attention = cross_attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1, bias=False)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1, bias=False)
        self.decomp1 = series_decomp(moving_avg)
        self.decomp2 = series_decomp(moving_avg)
        self.decomp3 = series_decomp(moving_avg)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Conv1d(d_model, c_out, kernel_size=3, stride=1, padding=1,
                                    padding_mode="circular", bias=False)
        self.activation = activation_fn(activation)

    def forward(self, x: torch.Tensor, cross: torch.Tensor, x_mask=None, cross_mask=None):
        x = x + self.dropout(self.self_attention(x, x, x, attn_mask=x_mask)[0])
        x, trend1 = self.decomp1(x)
        x = x + self.dropout(self.cross_attention(x, cross, cross, attn_mask=cross_mask)[0])
        x, trend2 = self.decomp2(x)
        y = feed_forward(x, self.conv1, self.conv2, self.activation, self.dropout)
        x, trend3 = self.decomp3(x + y)
        residual_trend = trend1 + trend2 + trend3
        residual_trend = self.projection(residual_trend.permute(0, 2, 1)).transpose(1, 2)
        return x, residual_trend


class Decoder(nn.Module):
    """Decoder layers accumulating the trend, then norm and projection of the seasonal part.

    forward: x (B, L, d_model), cross (B, S, d_model), trend (B, L, c_out) ->
    (seasonal (B, L, c_out), trend (B, L, c_out)).
    """

    def __init__(self, layers, norm_layer: nn.Module | None = None, projection: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm_layer
        self.projection = projection

    def forward(self, x: torch.Tensor, cross: torch.Tensor, x_mask=None, cross_mask=None,
                trend: torch.Tensor | None = None):
        for layer in self.layers:
            x, residual_trend = layer(x, cross, x_mask=x_mask, cross_mask=cross_mask)
            trend = residual_trend if trend is None else trend + residual_trend
        if self.norm is not None:
            x = self.norm(x)
        if self.projection is not None:
            x = self.projection(x)
        return x, trend
