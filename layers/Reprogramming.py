"""Time-LLM's reprogramming attention and output head (REFERENCE.md 3.7 and 3.9)."""
from __future__ import annotations

from math import sqrt

import torch
from torch import nn


class ReprogrammingLayer(nn.Module):
    """Cross-attention from patch embeddings (queries) to text prototypes (keys and values).

    ``n_heads`` heads of size ``d_keys`` (Time-LLM passes ``d_ff``); scores are scaled by
    1/sqrt(d_keys), softmaxed over the prototypes and dropped out; the heads are concatenated
    and projected to the LLM width ``d_llm``.

    forward: target (B, L, d_model), source (S, d_llm), value (S, d_llm) -> (B, L, d_llm).
    """

    def __init__(self, d_model: int, n_heads: int, d_keys: int | None = None,
                 d_llm: int | None = None, attention_dropout: float = 0.1):
        super().__init__()
        d_keys = d_keys or (d_model // n_heads)
        if d_llm is None:
            raise ValueError("ReprogrammingLayer needs d_llm (the LLM hidden size)")
        self.query_projection = nn.Linear(d_model, d_keys * n_heads)
        self.key_projection = nn.Linear(d_llm, d_keys * n_heads)
        self.value_projection = nn.Linear(d_llm, d_keys * n_heads)
        self.out_projection = nn.Linear(d_keys * n_heads, d_llm)
        self.n_heads = n_heads
        self.dropout = nn.Dropout(attention_dropout)

    def forward(self, target_embedding: torch.Tensor, source_embedding: torch.Tensor,
                value_embedding: torch.Tensor) -> torch.Tensor:
        key, value = self.project_source(source_embedding, value_embedding)
        return self.attend(target_embedding, key, value)

    def project_source(self, source_embedding: torch.Tensor,
                       value_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of the prototypes: (S, d_llm), (S, d_llm) -> (S, H, E) each.

        They depend on no input, so evaluation can compute them once per pass (``models/TimeLLM``).
        """
        S = source_embedding.shape[0]
        key = self.key_projection(source_embedding).view(S, self.n_heads, -1)
        value = self.value_projection(value_embedding).view(S, self.n_heads, -1)
        return key, value

    def attend(self, target_embedding: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
               fast: bool = False) -> torch.Tensor:
        """Patches (B, L, d_model) attend to projected prototypes (S, H, E) -> (B, L, d_llm).

        ``fast`` uses :meth:`reprogramming_fast` (same numbers, same dropout masks).
        """
        B, L, _ = target_embedding.shape
        query = self.query_projection(target_embedding).view(B, L, self.n_heads, -1)
        attend = self.reprogramming_fast if fast else self.reprogramming
        out = attend(query, key, value)  # (B, L, H, E)
        return self.out_projection(out.reshape(B, L, -1))

    def reprogramming(self, target_embedding: torch.Tensor, source_embedding: torch.Tensor,
                      value_embedding: torch.Tensor) -> torch.Tensor:
        """(B, L, H, E), (S, H, E), (S, H, E) -> (B, L, H, E)."""
        scale = 1.0 / sqrt(target_embedding.shape[-1])
        scores = torch.einsum("blhe,she->bhls", target_embedding, source_embedding)
        attention = self.dropout(torch.softmax(scale * scores, dim=-1))
        return torch.einsum("bhls,she->blhe", attention, value_embedding)


    def reprogramming_fast(self, target_embedding: torch.Tensor, source_embedding: torch.Tensor,
                           value_embedding: torch.Tensor) -> torch.Tensor:
        """:meth:`reprogramming` with two passes over the (B, H, L, S) scores fewer.

        The 1/sqrt(E) scale multiplies the small query instead of the scores (equal up to
        rounding), and the scores come from one batched matmul per head. The softmax output that
        dropout sees is the same contiguous (B, H, L, S) tensor as in :meth:`reprogramming`, so
        the dropout masks are the same draws.
        """
        B, L, H, E = target_embedding.shape
        S = source_embedding.shape[0]
        query = (target_embedding.permute(2, 0, 1, 3) * (1.0 / sqrt(E))).reshape(H, B * L, E)
        scores = torch.bmm(query, source_embedding.permute(1, 2, 0))        # (H, B*L, S)
        scores = scores.view(H, B, L, S).permute(1, 0, 2, 3)
        attention = self.dropout(torch.softmax(scores, dim=-1))              # (B, H, L, S)
        return torch.einsum("bhls,she->blhe", attention, value_embedding)


class FlattenHead(nn.Module):
    """Flatten the last two dims and map them linearly to the horizon, then dropout.

    forward: (B, n_vars, d_ff, P) -> (B, n_vars, target_window), with nf = d_ff * P.
    ``n_vars`` is kept for the reference's signature; the head is shared by all channels.
    """

    def __init__(self, n_vars: int, nf: int, target_window: int, head_dropout: float = 0.0):
        super().__init__()
        self.n_vars = n_vars
        self.flatten = nn.Flatten(start_dim=-2)
        self.linear = nn.Linear(nf, target_window)
        self.dropout = nn.Dropout(head_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(self.flatten(x)))
