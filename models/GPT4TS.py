"""GPT4TS, "One Fits All" (Zhou et al., NeurIPS 2023): a frozen pretrained language model over
RevIN-normalised patches, with a linear head. Time-LLM's closest peer.

Per channel (channel independent): instance normalisation (mean, biased std + 1e-5, no affine)
-> replication-pad the end by ``stride`` and cut ``patch_count`` patches of ``patch_len`` ->
a linear patch embedding into the backbone's width -> the backbone (its first ``--llm_layers``
layers) over the patch embeddings as ``inputs_embeds`` -> flatten -> a linear head to
``pred_len`` -> de-normalise.

What trains (the paper's "frozen pretrained transformer"): the patch embedding, the head, and in
the backbone its layer norms and its learned positional embeddings; attention and feed-forward
weights and the token embeddings stay frozen. :func:`trainable_backbone_parameters` finds them
in any backbone of the registry (``layers.backbones``): parameters of normalisation modules
(``LayerNorm``, ``RMSNorm``, ...) and of learned position tables (an ``nn.Embedding`` other than
the token embeddings whose name says position: GPT-2's ``wpe``, OPT's ``embed_positions``). For
GPT-2 that is exactly the authors' rule (a name containing ``ln`` or ``wpe``). A LLaMA-family
backbone (SmolLM2) has RMSNorm (a scale, no bias) and rotary positions without parameters, so
only the RMSNorm scales train there: fewer trainable backbone parameters than the paper's.
The backbone's dropout is active in training, as in the authors' code (their GPT-2 in train mode).

Defaults follow the authors' ETTh1 script (``Long-term_Forecasting/scripts/ETTh1.sh``,
github.com/DAMO-DI-ML/NeurIPS2023-One-Fits-All): GPT-2 with 6 layers, patch 16, stride 8,
seq_len 336; scripts/recipes.sh has the recipe and its source.
"""
from __future__ import annotations

import torch
from torch import nn

from layers.backbones import backbone_from_configs
from layers.Embed import patch_count
from layers.StandardNorm import Normalize


def trainable_backbone_parameters(llm: nn.Module) -> dict[str, nn.Parameter]:
    """The backbone parameters GPT4TS trains, by name: every parameter of a normalisation module
    (a class name with ``Norm``: ``LayerNorm``, ``LlamaRMSNorm``, ...) and of a learned position
    table (an ``nn.Embedding`` other than the token embeddings, named with ``pos`` or ``wpe``)."""
    tokens = llm.get_input_embeddings()
    chosen: dict[str, nn.Parameter] = {}
    for name, module in llm.named_modules():
        leaf = name.rsplit(".", 1)[-1].lower()
        norm = "norm" in type(module).__name__.lower()
        position = (isinstance(module, nn.Embedding) and module is not tokens
                    and ("pos" in leaf or leaf == "wpe"))
        if norm or position:
            for pname, p in module.named_parameters(recurse=False):
                chosen[f"{name}.{pname}" if name else pname] = p
    return chosen


class Model(nn.Module):
    """GPT4TS: ``forward(x_enc (B, seq_len, N), ...) -> (B, pred_len, N)``; each of the N channels
    runs as its own sequence of patches through the backbone."""

    channel_independent = True   # one channel per sample, as the authors' data loader gives
    default_backbone = "GPT2"    # the paper's; scripts pass SmolLM2 offline

    def __init__(self, configs):
        super().__init__()
        self.pred_len = int(configs.pred_len)
        self.patch_len, self.stride = int(configs.patch_len), int(configs.stride)
        self.patch_nums = patch_count(int(configs.seq_len), self.patch_len, self.stride)
        backbone = backbone_from_configs(configs)
        self.llm_model = backbone.model
        self.backbone_identity: dict = dict(backbone.identity)
        for p in trainable_backbone_parameters(self.llm_model).values():
            p.requires_grad_(True)
        self.d_llm = backbone.llm_dim
        self.normalize = Normalize(int(configs.enc_in), affine=False)
        self.padding = nn.ReplicationPad1d((0, self.stride))
        self.in_layer = nn.Linear(self.patch_len, self.d_llm)
        self.out_layer = nn.Linear(self.d_llm * self.patch_nums, self.pred_len)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, N) normalised series -> (B * N, patch_nums, patch_len)."""
        x = self.padding(x.permute(0, 2, 1))                           # (B, N, T + stride)
        x = x.unfold(-1, self.patch_len, self.stride)                  # (B, N, P, patch_len)
        return x.flatten(0, 1)

    def forward(self, x_enc: torch.Tensor, x_mark_enc=None, x_dec=None,
                x_mark_dec=None) -> torch.Tensor:
        B, _, N = x_enc.shape
        x = self.normalize(x_enc, "norm")
        tokens = self.in_layer(self.patches(x))                        # (B*N, P, d_llm)
        dtype = self.llm_model.get_input_embeddings().weight.dtype
        hidden = self.llm_model(inputs_embeds=tokens.to(dtype)).last_hidden_state
        y = self.out_layer(hidden.float().flatten(1))                  # (B*N, pred_len)
        y = y.view(B, N, self.pred_len).permute(0, 2, 1)               # (B, pred_len, N)
        return self.normalize(y, "denorm")
