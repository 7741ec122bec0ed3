"""Encoder / decoder blocks of the vanilla-Transformer family (Informer), and the encoder stack
that Autoformer shares.

Post-norm layers as in the Informer / Time-Series-Library lineage: attention, residual,
LayerNorm, then a position-wise feed-forward of two kernel-1 Conv1d with dropout, residual,
LayerNorm.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``relu`` -> F.relu, anything else -> F.gelu (the reference's rule)."""
    return F.relu if name == "relu" else F.gelu


def feed_forward(x: torch.Tensor, conv1: nn.Conv1d, conv2: nn.Conv1d,
                 activation: Callable, dropout: nn.Dropout) -> torch.Tensor:
    """Position-wise FFN: (B, L, d_model) -> (B, L, d_model) through kernel-1 convolutions.

    The convolutions keep the authors' modules and parameters (``conv1.weight`` (d_ff, d_model,
    1)), but a kernel-1 convolution is a matrix product over channels, and it is computed as one,
    without the two transposes: the same numbers up to float rounding (the step time on a 2-core
    CPU was within noise of the convolution's). Dropout draws its mask in the (B, L, d_ff) layout
    instead of (B, d_ff, L): the same distribution, other draws for a seed. The Autoformer and
    Informer figures in docs/BASELINES.md were trained with this form.
    """
    y = dropout(activation(F.linear(x, conv1.weight.squeeze(-1), conv1.bias)))
    return dropout(F.linear(y, conv2.weight.squeeze(-1), conv2.bias))


class ConvLayer(nn.Module):
    """Informer's self-attention distilling: Conv1d (kernel 3, circular padding), BatchNorm,
    ELU, MaxPool (kernel 3, stride 2, padding 1).

    forward: (B, L, C) -> (B, L', C). With the default ``padding=2`` of the Autoformer /
    Time-Series-Library copies the convolution adds two steps, so 96 -> 49; the original
    Informer code pads by 1 (96 -> 48).
    """

    def __init__(self, c_in: int, padding: int = 2):
        super().__init__()
        self.downConv = nn.Conv1d(c_in, c_in, kernel_size=3, padding=padding, padding_mode="circular")
        self.norm = nn.BatchNorm1d(c_in)
        self.activation = nn.ELU()
        self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downConv(x.permute(0, 2, 1))
        x = self.maxPool(self.activation(self.norm(x)))
        return x.transpose(1, 2)


class EncoderLayer(nn.Module):
    """Self-attention + FFN, post-norm. forward: (B, L, d_model) -> ((B, L, d_model), attn)."""

    def __init__(self, attention: nn.Module, d_model: int, d_ff: int | None = None,
                 dropout: float = 0.1, activation: str = "relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.attention = attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)

    def forward(self, x: torch.Tensor, attn_mask=None):
        new_x, attn = self.attention(x, x, x, attn_mask=attn_mask)
        x = self.norm1(x + self.dropout(new_x))
        y = feed_forward(x, self.conv1, self.conv2, self.activation, self.dropout)
        return self.norm2(x + y), attn


class Encoder(nn.Module):
    """A stack of encoder layers, optionally interleaved with distilling ConvLayers (one fewer
    than attention layers; the last attention layer runs without a mask), then a final norm.

    forward: (B, L, d_model) -> ((B, L', d_model), [attn per layer]).
    Shared by Informer (LayerNorm) and Autoformer (its seasonal ``my_Layernorm``).
    """

    def __init__(self, attn_layers, conv_layers=None, norm_layer: nn.Module | None = None):
        super().__init__()
        self.attn_layers = nn.ModuleList(attn_layers)
        self.conv_layers = nn.ModuleList(conv_layers) if conv_layers is not None else None
        self.norm = norm_layer

    def forward(self, x: torch.Tensor, attn_mask=None):
        attns = []
        if self.conv_layers is not None:
            for attn_layer, conv_layer in zip(self.attn_layers, self.conv_layers):
                x, attn = attn_layer(x, attn_mask=attn_mask)
                x = conv_layer(x)
                attns.append(attn)
            x, attn = self.attn_layers[-1](x)
            attns.append(attn)
        else:
            for attn_layer in self.attn_layers:
                x, attn = attn_layer(x, attn_mask=attn_mask)
                attns.append(attn)
        if self.norm is not None:
            x = self.norm(x)
        return x, attns


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention to the encoder output, FFN; post-norm.

    forward: x (B, L, d_model), cross (B, S, d_model) -> (B, L, d_model).
    """

    def __init__(self, self_attention: nn.Module, cross_attention: nn.Module, d_model: int,
                 d_ff: int | None = None, dropout: float = 0.1, activation: str = "relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.self_attention = self_attention
        self.cross_attention = cross_attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)

    def forward(self, x: torch.Tensor, cross: torch.Tensor, x_mask=None, cross_mask=None):
        x = self.norm1(x + self.dropout(self.self_attention(x, x, x, attn_mask=x_mask)[0]))
        x = self.norm2(x + self.dropout(self.cross_attention(x, cross, cross, attn_mask=cross_mask)[0]))
        y = feed_forward(x, self.conv1, self.conv2, self.activation, self.dropout)
        return self.norm3(x + y)


class Decoder(nn.Module):
    """Decoder layers, final norm, output projection. forward: (B, L, d_model) -> (B, L, c_out)."""

    def __init__(self, layers, norm_layer: nn.Module | None = None, projection: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm_layer
        self.projection = projection

    def forward(self, x: torch.Tensor, cross: torch.Tensor, x_mask=None, cross_mask=None):
        for layer in self.layers:
            x = layer(x, cross, x_mask=x_mask, cross_mask=cross_mask)
        if self.norm is not None:
            x = self.norm(x)
        if self.projection is not None:
            x = self.projection(x)
        return x
