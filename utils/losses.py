"""Training losses and their registry.

Every registered loss is an ``nn.Module`` with one call signature, so the trainer never
branches on the loss::

    loss(forecast, target, insample=None, mask=None, freq=None) -> scalar tensor

- ``forecast``, ``target``: (B, H, C) (any equal shapes).
- ``mask``: 0/1 weights broadcastable to ``target`` (M4 ``outsample_mask``); ``None`` = all 1.
  Masked terms count as zeros in the mean (TSLib's convention: ``mean(term * mask)``).
- ``insample``: (B, T) or (B, T, C) model input, used only by MASE for its scale.
- ``freq``: the seasonality ``m`` of MASE's scale (M4 table); ignored by the others.

The functional forms :func:`smape_loss`, :func:`mase_loss` and :func:`mape_loss` keep
Time-Series-Library's argument order ``(insample, freq, forecast, target, mask)``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from utils.errors import unknown_name


def divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b`` with NaN and +-inf results set to 0 (TSLib's ``divide_no_nan``).

    Zero denominators are replaced before dividing so the gradient stays finite too
    (TSLib's in-place version gives NaN gradients where ``a == b == 0``).
    """
    a, b = torch.broadcast_tensors(a, b)
    zero = b == 0
    out = a / torch.where(zero, torch.ones_like(b), b)
    return torch.where(zero | ~torch.isfinite(out), torch.zeros_like(out), out)


def _ones_if_none(mask, like: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(like) if mask is None else mask.to(like.dtype)


def smape_loss(insample, freq, forecast: torch.Tensor, target: torch.Tensor,
               mask: torch.Tensor | None) -> torch.Tensor:
    """200 * mean(|f - t| / (|f| + |t|) * mask), denominator detached (TSLib / N-BEATS)."""
    mask = _ones_if_none(mask, forecast)
    ratio = divide_no_nan(torch.abs(forecast - target),
                          torch.abs(forecast.detach()) + torch.abs(target.detach()))
    return 200 * torch.mean(ratio * mask)


def mape_loss(insample, freq, forecast: torch.Tensor, target: torch.Tensor,
              mask: torch.Tensor | None) -> torch.Tensor:
    """mean(|f - t| * mask / t) with zero targets contributing 0 (TSLib)."""
    mask = _ones_if_none(mask, forecast)
    return torch.mean(torch.abs((forecast - target) * divide_no_nan(mask, target)))


def mase_loss(insample: torch.Tensor, freq: int, forecast: torch.Tensor, target: torch.Tensor,
              mask: torch.Tensor | None) -> torch.Tensor:
    """mean(|t - f| * mask / scale), scale = mean_t |x_t - x_{t-freq}| of each sample's input.

    Like TSLib, the scale uses the whole (possibly zero-padded) input window; a zero scale
    makes the sample's terms 0.
    """
    if insample is None or freq is None:
        raise ValueError("MASE loss needs insample and freq")
    freq = int(freq)
    mask = _ones_if_none(mask, forecast)
    scale = torch.mean(torch.abs(insample[:, freq:] - insample[:, :-freq]), dim=1)  # (B,) or (B, C)
    scale = scale.reshape(scale.shape[:1] + (1,) * (forecast.dim() - scale.dim()) + scale.shape[1:])
    return torch.mean(torch.abs(target - forecast) * divide_no_nan(mask, scale))


class _MaskedLoss(nn.Module):
    """Base class: ``forward(forecast, target, insample=None, mask=None, freq=None)``."""

    def __call__(self, forecast, target, *args, **kwargs):
        if not isinstance(target, torch.Tensor):
            # TSLib's order (insample, freq, forecast, target, mask) would silently misbehave.
            raise TypeError(f"{type(self).__name__} is called as loss(forecast, target, insample=None, "
                            f"mask=None, freq=None); got a {type(target).__name__} as target")
        return super().__call__(forecast, target, *args, **kwargs)

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        raise NotImplementedError


class MSELoss(_MaskedLoss):
    """Mean squared error; with a mask: mean((f - t)^2 * mask)."""

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        if mask is None:
            return nn.functional.mse_loss(forecast, target)
        return torch.mean((forecast - target) ** 2 * mask.to(forecast.dtype))


class MAELoss(_MaskedLoss):
    """Mean absolute error; with a mask: mean(|f - t| * mask)."""

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        if mask is None:
            return nn.functional.l1_loss(forecast, target)
        return torch.mean(torch.abs(forecast - target) * mask.to(forecast.dtype))


class SMAPELoss(_MaskedLoss):
    """M4 training loss: :func:`smape_loss`."""

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        return smape_loss(insample, freq, forecast, target, mask)


class MAPELoss(_MaskedLoss):
    """:func:`mape_loss`."""

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        return mape_loss(insample, freq, forecast, target, mask)


class MASELoss(_MaskedLoss):
    """:func:`mase_loss` (needs ``insample`` and ``freq``)."""

    def forward(self, forecast, target, insample=None, mask=None, freq=None):
        return mase_loss(insample, freq, forecast, target, mask)


LOSS_REGISTRY: dict[str, type[nn.Module]] = {
    "MSE": MSELoss,
    "MAE": MAELoss,
    "SMAPE": SMAPELoss,
    "MAPE": MAPELoss,
    "MASE": MASELoss,
}


def get_loss(name: str) -> nn.Module:
    """A new loss module for ``name`` (case-insensitive); unknown names raise ConfigError."""
    key = str(name).upper()
    if key not in LOSS_REGISTRY:
        raise unknown_name("loss", name, LOSS_REGISTRY)
    return LOSS_REGISTRY[key]()
