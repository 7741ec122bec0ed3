"""Informer (Zhou et al., AAAI 2021): ProbSparse self-attention, self-attention distilling and a
generative-style decoder.

Encoder: ``e_layers`` ProbSparse attention layers with ``e_layers - 1`` distilling ConvLayers
between them (``--distil 1``); decoder: ``d_layers`` layers of masked ProbSparse
self-attention and cross-attention; embeddings with positions (``DataEmbedding``). The decoder
reads ``x_dec`` = [last ``label_len`` observed steps ; zeros for the ``pred_len`` steps] built by
the trainer, and the last ``pred_len`` outputs are the forecast.

Two variants of the authors' code exist; ``variant`` (or ``--informer_variant``) picks one
(default ``"lineage"``):

- ``"lineage"``: the Informer of the Autoformer repository, copied by LTSF-Linear and
  Time-Series-Library, which produced the Informer numbers quoted in the Autoformer, DLinear
  and Time-LLM papers (and the .940/.767 ETTh1-96 re-run of LTSF-Linear's copy). Its
  cross-attention is ProbSparse too, every ProbSparse layer merges heads with the ``mix``
  memory-order read (:class:`layers.SelfAttention_Family.AttentionLayer`), and the distilling
  convolution pads by 2 (96 -> 49 steps).
- ``"informer2020"``: the original repository (zhouhaoyi/Informer2020): full cross-attention,
  ``mix`` only in the decoder's self-attention, distilling padding 1 (96 -> 48).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from layers.SelfAttention_Family import AttentionLayer, FullAttention, ProbAttention
from layers.TimeEmbed import DataEmbedding
from layers.Transformer_EncDec import ConvLayer, Decoder, DecoderLayer, Encoder, EncoderLayer
from utils.errors import unknown_name
from utils.flags import flag

VARIANTS = ("lineage", "informer2020")


@dataclass(frozen=True)
class InformerFlags:
    """Informer's own flags (run_main.py --distil ...)."""

    distil: int = flag(1, "Informer: 1 uses self-attention distilling")
    informer_variant: str = flag(
        "lineage", "Informer: lineage (Autoformer/LTSF-Linear/TSLib copy, the quoted numbers) | "
        "informer2020 (the original repository)")


class Model(nn.Module):
    """forward(x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F) or None,
    x_dec (B, label_len + pred_len, dec_in), x_mark_dec (B, label_len + pred_len, F) or None)
    -> (B, pred_len, c_out).
    """

    channel_independent = False
    flags = InformerFlags

    @staticmethod
    def setting_suffix(args) -> str:
        """Runs of the non-default variant get their own results and checkpoint folders."""
        return "" if args.informer_variant == "lineage" else f"_{args.informer_variant}"

    def __init__(self, configs, variant: str | None = None):
        super().__init__()
        variant = variant or configs.informer_variant
        if variant not in VARIANTS:
            raise unknown_name("Informer variant", variant, VARIANTS)
        self.variant = variant
        lineage = variant == "lineage"
        self.pred_len = configs.pred_len
        self.enc_embedding = DataEmbedding(configs.enc_in, configs.d_model, configs.embed,
                                           configs.freq, configs.dropout)
        self.dec_embedding = DataEmbedding(configs.dec_in, configs.d_model, configs.embed,
                                           configs.freq, configs.dropout)
        d_model, n_heads, factor, dropout = configs.d_model, configs.n_heads, configs.factor, configs.dropout

        def prob(mask_flag: bool, mix: bool) -> AttentionLayer:
            return AttentionLayer(ProbAttention(mask_flag, factor, attention_dropout=dropout),
                                  d_model, n_heads, mix=mix)

        def cross() -> AttentionLayer:
            if lineage:
                return prob(False, mix=True)
            return AttentionLayer(FullAttention(False, factor, attention_dropout=dropout), d_model, n_heads)

        self.encoder = Encoder(
            [EncoderLayer(prob(False, mix=lineage), d_model, configs.d_ff, dropout=dropout,
                          activation=configs.activation)
             for _ in range(configs.e_layers)],
            [ConvLayer(d_model, padding=2 if lineage else 1) for _ in range(configs.e_layers - 1)]
            if configs.distil else None,
            norm_layer=nn.LayerNorm(d_model))
        self.decoder = Decoder(
            [DecoderLayer(prob(True, mix=True), cross(), d_model, configs.d_ff, dropout=dropout,
                          activation=configs.activation)
             for _ in range(configs.d_layers)],
            norm_layer=nn.LayerNorm(d_model),
            projection=nn.Linear(d_model, configs.c_out, bias=True))

    def forward(self, x_enc: torch.Tensor, x_mark_enc, x_dec: torch.Tensor, x_mark_dec) -> torch.Tensor:
        enc_out = self.enc_embedding(x_enc, x_mark_enc)
        enc_out, _ = self.encoder(enc_out)
        dec_out = self.dec_embedding(x_dec, x_mark_dec)
        dec_out = self.decoder(dec_out, enc_out)
        return dec_out[:, -self.pred_len:, :]
