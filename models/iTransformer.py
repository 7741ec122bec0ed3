"""iTransformer (Liu et al., "iTransformer: Inverted Transformers Are Effective for Time Series
Forecasting", ICLR 2024).

The Transformer is turned on its side: every variate's whole window becomes one token
(``Linear(seq_len -> d_model)``, :class:`layers.TimeEmbed.DataEmbedding_inverted`), the calendar
features of ``--embed timeF`` become extra tokens, and ``e_layers`` post-norm encoder layers
(full attention across variates, kernel-1 feed-forward; :mod:`layers.Transformer_EncDec`) with a
final LayerNorm mix them. ``Linear(d_model -> pred_len)`` reads each variate's forecast; the
calendar tokens are dropped. ``--use_norm 1`` (the authors' default and flag name) normalises
each window per variate (:func:`layers.StandardNorm.window_norm`) and
restores the forecast's scale. Encoder-only: the decoder input is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from layers.SelfAttention_Family import AttentionLayer, FullAttention
from layers.StandardNorm import window_norm
from layers.TimeEmbed import DataEmbedding_inverted
from layers.Transformer_EncDec import Encoder, EncoderLayer
from utils.flags import flag


@dataclass(frozen=True)
class iTransformerFlags:
    """iTransformer's own flags (run_main.py --use_norm)."""

    use_norm: int = flag(1, "iTransformer: 1 normalises each window per variate and restores the "
                            "forecast's scale")


class Model(nn.Module):
    """forward(x_enc (B, seq_len, N), x_mark_enc (B, seq_len, F) or None, ...) -> (B, pred_len, N).

    N is whatever the batch holds (no parameter depends on it; ``enc_in`` is not read); the
    published numbers used all channels of a window in one sample.
    """

    channel_independent = False
    flags = iTransformerFlags

    def __init__(self, configs):
        super().__init__()
        self.pred_len = configs.pred_len
        self.use_norm = bool(configs.use_norm)
        self.enc_embedding = DataEmbedding_inverted(configs.seq_len, configs.d_model, configs.dropout)
        self.encoder = Encoder(
            [EncoderLayer(AttentionLayer(FullAttention(False, configs.factor,
                                                       attention_dropout=configs.dropout),
                                         configs.d_model, configs.n_heads),
                          configs.d_model, configs.d_ff, dropout=configs.dropout,
                          activation=configs.activation)
             for _ in range(configs.e_layers)],
            norm_layer=nn.LayerNorm(configs.d_model))
        self.projector = nn.Linear(configs.d_model, configs.pred_len)

    def forward(self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None = None, x_dec=None,
                x_mark_dec=None) -> torch.Tensor:
        n_vars = x_enc.shape[-1]
        if self.use_norm:
            x_enc, means, stdev = window_norm(x_enc)
        tokens, _ = self.encoder(self.enc_embedding(x_enc, x_mark_enc))     # B, N (+F), d_model
        out = self.projector(tokens).transpose(1, 2)[:, :, :n_vars]          # B, pred_len, N
        if self.use_norm:
            out = out * stdev + means
        return out
