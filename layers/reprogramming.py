"""Time-LLM's reprogramming attention and output head (docs/REFERENCE.md 3.6, 3.7 and 3.9).

The reference's computation (the plain path): :class:`ReprogrammingLayer`, the text prototypes
through :class:`PrototypeSource` (an ``nn.Linear`` on the transposed word-embedding table every
batch), and :func:`head_input`, the reference's slicing of the LLM's output for
:class:`FlattenHead`. ``layers.fast.reprogramming`` computes the same
numbers faster.
"""
from __future__ import annotations

from math import sqrt

import torch
from torch import nn
from torch.profiler import record_function


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

        They depend on no input, so evaluation could compute them once per pass (the fast path
        does: ``layers.fast.reprogramming``).
        """
        S = source_embedding.shape[0]
        key = self.key_projection(source_embedding).view(S, self.n_heads, -1)
        value = self.value_projection(value_embedding).view(S, self.n_heads, -1)
        return key, value

    def attend(self, target_embedding: torch.Tensor, key: torch.Tensor,
               value: torch.Tensor) -> torch.Tensor:
        """Patches (B, L, d_model) attend to projected prototypes (S, H, E) -> (B, L, d_llm)."""
        B, L, _ = target_embedding.shape
        query = self.query_projection(target_embedding).view(B, L, self.n_heads, -1)
        out = self.reprogramming(query, key, value)  # (B, L, H, E)
        return self.out_projection(out.reshape(B, L, -1))

    def reprogramming(self, target_embedding: torch.Tensor, source_embedding: torch.Tensor,
                      value_embedding: torch.Tensor) -> torch.Tensor:
        """(B, L, H, E), (S, H, E), (S, H, E) -> (B, L, H, E)."""
        scale = 1.0 / sqrt(target_embedding.shape[-1])
        scores = torch.einsum("blhe,she->bhls", target_embedding, source_embedding)
        attention = self.dropout(torch.softmax(scale * scores, dim=-1))
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


def head_input(hidden: torch.Tensor, n_vars: int, patch_nums: int, d_ff: int,
               dtype: torch.dtype) -> torch.Tensor:
    """What :class:`FlattenHead` reads of the LLM's output, sliced the reference's way.

    hidden (B*n_vars, S + P, >= d_ff) -> (B, n_vars, d_ff, P) in ``dtype``: the first ``d_ff``
    channels of every position, per series, transposed and copied, then the last ``patch_nums``
    (P) positions (the patches; S prompt positions before them, or none).
    """
    dec = hidden[:, :, :d_ff]
    dec = torch.reshape(dec, (-1, n_vars, dec.shape[-2], dec.shape[-1]))
    dec = dec.permute(0, 1, 3, 2).contiguous()
    return dec[:, :, :, -patch_nums:].to(dtype)


class PrototypeSource:
    """The text prototypes and what :class:`ReprogrammingLayer` needs of them, the reference's
    way: recomputed every batch, in training and evaluation alike.

    - ``prototypes(mapping, table)``: the mapping layer ``nn.Linear(V, M)`` on the transposed
      frozen table (V, D) -> (M, D);
    - ``keys_values(mapping, layer, table)``: the prototypes' keys and values, (M, H, E) each
      (:meth:`ReprogrammingLayer.project_source`);
    - ``attend(layer, patches, kv)``: patches (B, L, d_model) -> (B, L, D)
      (:meth:`ReprogrammingLayer.attend`).

    ``layers.fast.reprogramming.FastPrototypeSource`` has the same interface.
    """

    @property
    def cached(self) -> tuple | None:
        """What is kept between calls: nothing."""
        return None

    def clear(self) -> None:
        """Forget anything kept between calls (a new evaluation pass)."""

    def prototypes(self, mapping: nn.Module, table: torch.Tensor) -> torch.Tensor:
        return mapping(table.permute(1, 0).to(mapping.weight.dtype)).permute(1, 0)

    def project(self, layer: ReprogrammingLayer, source: torch.Tensor) -> tuple:
        return layer.project_source(source, source)

    def keys_values(self, mapping: nn.Module, layer: ReprogrammingLayer,
                    table: torch.Tensor) -> tuple:
        with record_function("timellm.mapping"):
            source = self.prototypes(mapping, table)
        with record_function("timellm.reprogramming"):
            return self.project(layer, source)

    def attend(self, layer: ReprogrammingLayer, patches: torch.Tensor, kv: tuple) -> torch.Tensor:
        return layer.attend(patches, *kv)
