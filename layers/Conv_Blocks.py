"""TimesNet's Inception block (Wu et al., ICLR 2023): parallel 2-D convolutions of square
kernels 1, 3, 5, ... (``num_kernels`` of them, 'same' padding), averaged.

Initialisation as the authors': Kaiming-normal weights (fan_out, ReLU gain), zero biases.
"""
from __future__ import annotations

import torch
from torch import nn


class Inception_Block_V1(nn.Module):
    """forward: (B, in_channels, H, W) -> (B, out_channels, H, W), the mean of the kernels' outputs."""

    def __init__(self, in_channels: int, out_channels: int, num_kernels: int = 6):
        super().__init__()
        self.kernels = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, kernel_size=2 * i + 1, padding=i)
            for i in range(num_kernels))
        for conv in self.kernels:
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([conv(x) for conv in self.kernels], dim=-1).mean(-1)
