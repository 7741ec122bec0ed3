"""PatchTST (Nie et al., "A Time Series is Worth 64 Words", ICLR 2023), supervised.

Channel-independent patch Transformer; see :mod:`layers.PatchTST_backbone`. Fixed choices
follow the authors' supervised model: residual attention, BatchNorm, post-norm, attention
dropout 0, learnable 'zeros' positional table, flatten head. PatchTST/42 is ``--seq_len 336``,
PatchTST/64 is ``--seq_len 512`` (patch 16, stride 8, ``--padding_patch end``).
The decomposition variant of the authors' code is not provided.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from layers.PatchTST_backbone import PatchTST_backbone
from utils.flags import flag


@dataclass(frozen=True)
class PatchTSTFlags:
    """PatchTST's own flags (run_main.py --revin ...)."""

    fc_dropout: float = flag(0.05, "PatchTST: pretraining head dropout")
    head_dropout: float = flag(0.0, "PatchTST: head dropout")
    padding_patch: str = flag("end", "PatchTST: None | end")
    revin: int = flag(1, "PatchTST: RevIN on/off")
    affine: int = flag(0, "PatchTST: RevIN affine")
    subtract_last: int = flag(0, "PatchTST: 0 subtract mean, 1 subtract last")


class Model(nn.Module):
    """forward(x_enc (B, seq_len, C), ...) -> (B, pred_len, C) with C = ``enc_in``.

    Channels are processed independently inside the model; the published numbers were produced
    with all C channels of a window in one sample (the multivariate view), hence
    ``channel_independent = False``.
    """

    channel_independent = False
    flags = PatchTSTFlags

    def __init__(self, configs):
        super().__init__()
        padding_patch = configs.padding_patch
        if padding_patch in ("None", "none", ""):
            padding_patch = None
        self.model = PatchTST_backbone(
            c_in=configs.enc_in, context_window=configs.seq_len, target_window=configs.pred_len,
            patch_len=configs.patch_len, stride=configs.stride, n_layers=configs.e_layers,
            d_model=configs.d_model, n_heads=configs.n_heads, d_ff=configs.d_ff, norm="BatchNorm",
            attn_dropout=0.0, dropout=configs.dropout, act=configs.activation,
            res_attention=True, pre_norm=False, pe="zeros", learn_pe=True,
            fc_dropout=configs.fc_dropout, head_dropout=configs.head_dropout,
            padding_patch=padding_patch, pretrain_head=False, head_type="flatten",
            individual=bool(configs.individual), revin=bool(configs.revin),
            affine=bool(configs.affine), subtract_last=bool(configs.subtract_last))

    def forward(self, x_enc: torch.Tensor, x_mark_enc=None, x_dec=None, x_mark_dec=None) -> torch.Tensor:
        return self.model(x_enc.permute(0, 2, 1)).permute(0, 2, 1)
