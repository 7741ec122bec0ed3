"""Autoformer (Wu et al., NeurIPS 2021): decomposition Transformer with Auto-Correlation.

The input is decomposed; the decoder starts from the last ``label_len`` steps of the seasonal
part followed by zeros, and of the trend part followed by the input mean; the encoder sees the
raw input. The forecast is the decoder's seasonal output plus its accumulated trend, last
``pred_len`` steps. Embedding without positions (``DataEmbedding_wo_pos``).
"""
from __future__ import annotations

import torch
from torch import nn

from layers.AutoCorrelation import AutoCorrelation, AutoCorrelationLayer
from layers.Autoformer_EncDec import Decoder, DecoderLayer, Encoder, EncoderLayer, my_Layernorm, series_decomp
from layers.TimeEmbed import DataEmbedding_wo_pos


class Model(nn.Module):
    """forward(x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F) or None,
    x_dec (B, label_len + pred_len, dec_in), x_mark_dec (B, label_len + pred_len, F) or None)
    -> (B, pred_len, c_out).

    Only the shape of ``x_dec`` is used (the decoder input is built from ``x_enc``).
    """

    channel_independent = False

    def __init__(self, configs):
        super().__init__()
        self.seq_len = configs.seq_len
        self.label_len = configs.label_len
        self.pred_len = configs.pred_len
        self.c_out = configs.c_out
        self.decomp = series_decomp(configs.moving_avg)
        self.enc_embedding = DataEmbedding_wo_pos(configs.enc_in, configs.d_model, configs.embed,
                                                  configs.freq, configs.dropout)
        self.dec_embedding = DataEmbedding_wo_pos(configs.dec_in, configs.d_model, configs.embed,
                                                  configs.freq, configs.dropout)

        def correlation(mask_flag: bool) -> AutoCorrelationLayer:
            return AutoCorrelationLayer(
                AutoCorrelation(mask_flag, configs.factor, attention_dropout=configs.dropout),
                configs.d_model, configs.n_heads)

        self.encoder = Encoder(
            [EncoderLayer(correlation(False), configs.d_model, configs.d_ff,
                          moving_avg=configs.moving_avg, dropout=configs.dropout,
                          activation=configs.activation)
             for _ in range(configs.e_layers)],
            norm_layer=my_Layernorm(configs.d_model))
        self.decoder = Decoder(
            [DecoderLayer(correlation(True), correlation(False), configs.d_model, configs.c_out,
                          configs.d_ff, moving_avg=configs.moving_avg, dropout=configs.dropout,
                          activation=configs.activation)
             for _ in range(configs.d_layers)],
            norm_layer=my_Layernorm(configs.d_model),
            projection=nn.Linear(configs.d_model, configs.c_out, bias=True))

    def forward(self, x_enc: torch.Tensor, x_mark_enc, x_dec: torch.Tensor, x_mark_dec) -> torch.Tensor:
        mean = torch.mean(x_enc, dim=1, keepdim=True).repeat(1, self.pred_len, 1)
        zeros = torch.zeros(x_dec.shape[0], self.pred_len, x_dec.shape[2],
                            device=x_enc.device, dtype=x_enc.dtype)
        seasonal_init, trend_init = self.decomp(x_enc)
        start = x_enc.shape[1] - self.label_len          # (a label_len of 0 keeps nothing)
        trend_init = torch.cat([trend_init[:, start:, :], mean], dim=1)
        seasonal_init = torch.cat([seasonal_init[:, start:, :], zeros], dim=1)
        if trend_init.shape[-1] > self.c_out:
            # features MS: the reference broadcasts the c_out-channel trend over all enc_in
            # channels; keeping the last c_out gives exactly its last channel(s)
            trend_init = trend_init[..., -self.c_out:]

        enc_out = self.enc_embedding(x_enc, x_mark_enc)
        enc_out, _ = self.encoder(enc_out)
        dec_out = self.dec_embedding(seasonal_init, x_mark_dec)
        seasonal_part, trend_part = self.decoder(dec_out, enc_out, trend=trend_init)
        return (trend_part + seasonal_part)[:, -self.pred_len:, :]
