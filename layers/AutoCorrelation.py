"""Autoformer's Auto-Correlation mechanism (Wu et al., NeurIPS 2021).

Period-based dependencies: the auto-correlation of queries and keys over time is computed with
the FFT (Wiener-Khinchin: R(tau) = irfft(rfft(q) * conj(rfft(k)))); the top-k delays
(k = int(factor * ln L)) are chosen from the correlation averaged over heads and channels, and
the values rolled by each delay are summed with softmax weights of their correlations.

Training aggregates with one set of delays for the whole batch (weights per sample); inference
picks the delays per sample and gathers them, as in the authors' code. Unlike the authors'
code (which calls ``.cuda()`` in the inference path) every tensor is made on the input's device,
so evaluation runs on a CPU as well.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from layers.SelfAttention_Family import AttentionLayer


class AutoCorrelation(nn.Module):
    """Inner correlation with the attention contract: queries (B, L, H, E), keys (B, S, H, E),
    values (B, S, H, D) -> ((B, L, H, D), corr (B, L, H, E) or None).

    ``mask_flag`` and ``attention_dropout`` exist for signature parity with the attentions;
    the mechanism uses neither (as in the reference).
    """

    def __init__(self, mask_flag: bool = True, factor: int = 1, scale: float | None = None,
                 attention_dropout: float = 0.1, output_attention: bool = False):
        super().__init__()
        self.factor = factor
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)

    def _top_k(self, length: int) -> int:
        # int(factor * ln L) as in the reference, clamped to [1, L] (the reference fails above L)
        return max(1, min(int(self.factor * math.log(length)), length))

    def time_delay_agg_training(self, values: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        """values, corr (B, H, C, L) -> (B, H, C, L); delays shared by the batch."""
        length = values.shape[3]
        top_k = self._top_k(length)
        mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)                  # B, L
        index = torch.topk(torch.mean(mean_value, dim=0), top_k, dim=-1)[1]      # top_k
        weights = mean_value[:, index]                                           # B, top_k
        tmp_corr = torch.softmax(weights, dim=-1)
        delays_agg = torch.zeros_like(values, dtype=torch.float32)
        for i, delay in enumerate(index.tolist()):
            pattern = torch.roll(values, -delay, -1)
            delays_agg = delays_agg + pattern * tmp_corr[:, i].view(-1, 1, 1, 1)
        return delays_agg

    def time_delay_agg_inference(self, values: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        """values, corr (B, H, C, L) -> (B, H, C, L); delays chosen per sample."""
        batch, head, channel, length = values.shape
        init_index = torch.arange(length, device=values.device).view(1, 1, 1, length)
        init_index = init_index.expand(batch, head, channel, length)
        top_k = self._top_k(length)
        mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)                  # B, L
        weights, delay = torch.topk(mean_value, top_k, dim=-1)                   # B, top_k
        tmp_corr = torch.softmax(weights, dim=-1)
        tmp_values = values.repeat(1, 1, 1, 2)
        delays_agg = torch.zeros_like(values, dtype=torch.float32)
        for i in range(top_k):
            tmp_delay = init_index + delay[:, i].view(-1, 1, 1, 1)
            pattern = torch.gather(tmp_values, dim=-1, index=tmp_delay)
            delays_agg = delays_agg + pattern * tmp_corr[:, i].view(-1, 1, 1, 1)
        return delays_agg

    def forward(self, queries, keys, values, attn_mask=None):
        B, L, H, E = queries.shape
        S = values.shape[1]
        if L > S:
            zeros = torch.zeros_like(queries[:, : (L - S), :]).float()
            values = torch.cat([values, zeros], dim=1)
            keys = torch.cat([keys, zeros], dim=1)
        else:
            values = values[:, :L, :, :]
            keys = keys[:, :L, :, :]

        # period-based dependencies, in fp32 (half-precision cuFFT takes only powers of two);
        # n=L keeps odd lengths intact (the reference's default n drops one)
        q_fft = torch.fft.rfft(queries.permute(0, 2, 3, 1).float(), dim=-1)
        k_fft = torch.fft.rfft(keys.permute(0, 2, 3, 1).float(), dim=-1)
        corr = torch.fft.irfft(q_fft * torch.conj(k_fft), n=L, dim=-1)         # B, H, E, L

        values = values.permute(0, 2, 3, 1).contiguous()
        if self.training:
            V = self.time_delay_agg_training(values, corr)
        else:
            V = self.time_delay_agg_inference(values, corr)
        V = V.permute(0, 3, 1, 2).contiguous()
        return V, (corr.permute(0, 3, 1, 2) if self.output_attention else None)


class AutoCorrelationLayer(AttentionLayer):
    """Multi-head projections around :class:`AutoCorrelation` (the same maths as
    :class:`layers.SelfAttention_Family.AttentionLayer`, which it reuses).

    forward: queries (B, L, d_model), keys/values (B, S, d_model) -> ((B, L, d_model), corr).
    """

    def __init__(self, correlation: nn.Module, d_model: int, n_heads: int,
                 d_keys: int | None = None, d_values: int | None = None):
        super().__init__(correlation, d_model, n_heads, d_keys=d_keys, d_values=d_values, mix=False)
