"""RevIN (reversible instance normalisation), as ``Normalize`` in the Time-LLM reference, and the
Non-stationary Transformer's per-window standardisation (``window_norm``: iTransformer, TimesNet)."""
from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """Per-series normalisation over time, undone on the forecast.

    ``forward(x, "norm")`` takes x of shape (B, T, N), stores the per-series statistics over T
    (mean, or the last value with ``subtract_last``; biased std + eps) and returns
    (x - centre) / std, optionally followed by a per-channel affine map. ``forward(y, "denorm")``
    takes y of shape (B, H, N) and inverts that with the stored statistics.
    With ``non_norm`` both directions are the identity.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False,
                 subtract_last: bool = False, non_norm: bool = False):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.affine = affine
        self.subtract_last = subtract_last
        self.non_norm = non_norm
        if affine:
            self.affine_weight = nn.Parameter(torch.ones(num_features))
            self.affine_bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        if mode == "norm":
            self._get_statistics(x)
            return self._normalize(x)
        if mode == "denorm":
            return self._denormalize(x)
        raise ValueError(f"Normalize mode must be 'norm' or 'denorm', got {mode!r}")

    def _get_statistics(self, x: torch.Tensor) -> None:
        dims = tuple(range(1, x.ndim - 1))
        if self.subtract_last:
            self.last = x[:, -1:, :].detach()
        else:
            self.mean = torch.mean(x, dim=dims, keepdim=True).detach()
        self.stdev = torch.sqrt(torch.var(x, dim=dims, keepdim=True, unbiased=False) + self.eps).detach()

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        if self.non_norm:
            return x
        x = x - (self.last if self.subtract_last else self.mean)
        x = x / self.stdev
        if self.affine:
            x = x * self.affine_weight + self.affine_bias
        return x

    def _denormalize(self, x: torch.Tensor) -> torch.Tensor:
        if self.non_norm:
            return x
        if self.affine:
            x = (x - self.affine_bias) / (self.affine_weight + self.eps * self.eps)
        x = x * self.stdev
        return x + (self.last if self.subtract_last else self.mean)


def window_norm(x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Non-stationary Transformer's per-window standardisation (iTransformer, TimesNet):
    x (B, L, N) -> (x_norm, mean (B, 1, N), std (B, 1, N)), ``x = x_norm * std + mean``.

    The mean is detached (the authors' ``.detach()``); the biased std of the centred input is
    not, as in their code.
    """
    means = x.mean(1, keepdim=True).detach()
    x = x - means
    stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + eps)
    return x / stdev, means, stdev
