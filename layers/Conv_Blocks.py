"""TimesNet's Inception block (Wu et al., ICLR 2023): parallel 2-D convolutions of square
kernels 1, 3, 5, ... (``num_kernels`` of them, 'same' padding), averaged.

Initialisation as the authors': Kaiming-normal weights (fan_out, ReLU gain), zero biases.

The mean of 'same' convolutions is itself one convolution: each kernel zero-padded to the
largest size and centred, the kernels and biases averaged. ``merged=True`` (the default, and
``--fast_path 1``) runs that single convolution, built from the same parameters on every call
so gradients reach each kernel exactly; with 6 kernels it does 121 instead of 1+9+...+121 = 286
multiply-adds per position and channel pair. ``merged=False`` runs the kernels one by one, as
the authors' code does; the two agree to float rounding (tests/test_timesnet.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Inception_Block_V1(nn.Module):
    """forward: (B, in_channels, H, W) -> (B, out_channels, H, W), the mean of the kernels' outputs."""

    def __init__(self, in_channels: int, out_channels: int, num_kernels: int = 6,
                 merged: bool = True):
        super().__init__()
        self.merged = merged
        self.kernels = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, kernel_size=2 * i + 1, padding=i)
            for i in range(num_kernels))
        for conv in self.kernels:
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def merged_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The one equivalent convolution: weight (out, in, 2n-1, 2n-1) and bias (out,)."""
        n = len(self.kernels)
        weight = sum(F.pad(conv.weight, (n - 1 - i,) * 4) for i, conv in enumerate(self.kernels))
        bias = sum(conv.bias for conv in self.kernels)
        return weight / n, bias / n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            weight, bias = self.merged_kernel()
            return F.conv2d(x, weight, bias, padding=len(self.kernels) - 1)
        return torch.stack([conv(x) for conv in self.kernels], dim=-1).mean(-1)
