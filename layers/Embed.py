"""Token and patch embeddings shared by Time-LLM, PatchTST and the Transformer baselines."""
from __future__ import annotations

import torch
from torch import nn


class TokenEmbedding(nn.Module):
    """Circular Conv1d (kernel 3, no bias, Kaiming-normal init) over the time axis.

    forward: (B, L, c_in) -> (B, L, d_model).
    """

    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        self.tokenConv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1,
                                   padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.tokenConv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


def patch_count(seq_len: int, patch_len: int, stride: int) -> int:
    """Number of patches after right replication padding by ``stride`` (reference formula)."""
    return int((seq_len - patch_len) / stride + 2)


class PatchEmbedding(nn.Module):
    """Replication-pad the end by ``stride``, cut patches, embed each with :class:`TokenEmbedding`.

    forward: x (B, N, T) -> ((B*N, P, d_model), N) with P = ``patch_count(T, patch_len, stride)``.
    """

    def __init__(self, d_model: int, patch_len: int, stride: int, dropout: float):
        super().__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch_layer = nn.ReplicationPad1d((0, stride))
        self.value_embedding = TokenEmbedding(patch_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        n_vars = x.shape[1]
        x = self.padding_patch_layer(x)
        x = x.unfold(dimension=-1, size=self.patch_len, step=self.stride)
        x = x.reshape(x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        return self.dropout(self.value_embedding(x)), n_vars
