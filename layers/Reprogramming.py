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
        # the fast path's scores from maps of [x, 1] (fewer FLOPs when d_model + 1 < d_keys)
        self.uses_score_maps = d_model + 1 < d_keys

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

    # ---- the fast path: the same attention weights with fewer FLOPs and no permuted copies ----
    def fast_source(self, source_embedding: torch.Tensor,
                    value_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`attend_fast` needs of the prototypes (S, d_llm): the score maps
        (H, d_model + 1, S) and the values (H, S, E).

        Per head h, with queries q = x Wq_h^T + bq_h and keys k_s = Wk_h p_s + bk_h, the score
        q . k_s / sqrt(E) equals [x, 1] A_h[:, s] with A_h = [Wq_h, bq_h]^T (Wk_h P^T + bk_h 1^T)
        / sqrt(E), computed as ([Wq_h, bq_h]^T Wk_h) P^T + ([Wq_h, bq_h]^T bk_h) 1^T: the same
        numbers up to float rounding (associativity), every parameter in the graph. A_h costs
        (d_model + 1) x d_llm x S per head instead of projecting every prototype and every patch
        to E dims; with d_model + 1 < E, as in Time-LLM's configurations (32 + 1 vs d_ff = 128),
        the scores take about 4x fewer FLOPs, forward and backward. Neither tensor depends on the
        input: evaluation computes them once per pass. When d_model + 1 >= E the maps would
        cost more than the keys, so the keys themselves are returned, as (H, E, S)
        (``uses_score_maps`` False) and :meth:`attend_fast` projects the queries.
        """
        H = self.n_heads
        wq = self.query_projection.weight                        # (H*E, d_model)
        E = wq.shape[0] // H
        value = self.value_projection(value_embedding)             # (S, H*E)
        value = value.view(-1, H, E).transpose(0, 1).contiguous()  # (H, S, E)
        if not self.uses_score_maps:  # d_model + 1 >= E: plain keys, (H, E, S), are cheaper
            keys = self.key_projection(source_embedding).view(-1, H, E).permute(1, 2, 0)
            return keys, value
        wq_aug = torch.cat([wq, self.query_projection.bias.unsqueeze(1)], dim=1)
        wq_aug = wq_aug.view(H, E, -1).transpose(1, 2) * (1.0 / sqrt(E))  # (H, d_model+1, E)
        wk = self.key_projection.weight.view(H, E, -1)           # (H, E, d_llm)
        bk = self.key_projection.bias.view(H, E, 1)
        maps = torch.matmul(torch.matmul(wq_aug, wk), source_embedding.t())  # (H, d_model+1, S)
        maps = maps + torch.matmul(wq_aug, bk)                     # + the key bias, every prototype
        return maps, value

    def attend_fast(self, target_embedding: torch.Tensor, maps: torch.Tensor,
                    value: torch.Tensor) -> torch.Tensor:
        """:meth:`attend` from :meth:`fast_source`'s tensors: (B, L, d_model) -> (B, L, d_llm).

        The scores live as (H, B*L, S), so every product is one batched matmul over the heads and
        nothing large is permuted. Dropout draws its mask over a (B, H, L, S) tensor exactly as
        ``nn.Dropout`` does on the reference's contiguous scores (same generator calls, same
        values), and applies it through a permuted view: the same masks as :meth:`attend`.
        """
        B, L, d_model = target_embedding.shape
        H, _, S = maps.shape
        x = target_embedding.reshape(B * L, d_model)
        if self.uses_score_maps:
            x = torch.cat([x, x.new_ones(B * L, 1)], dim=1)        # (B*L, d_model+1)
            features = x.unsqueeze(0).expand(H, -1, -1)
        else:                                                      # maps are the keys (H, E, S)
            E = maps.shape[1]
            features = self.query_projection(x).view(B * L, H, E).transpose(0, 1) * (1.0 / sqrt(E))
        scores = torch.matmul(features, maps)                      # (H, B*L, S)
        attention = torch.softmax(scores, dim=-1)
        p = self.dropout.p
        if self.training and p > 0:
            if p >= 1:
                attention = attention * 0
            else:
                noise = torch.empty(B, H, L, S, dtype=attention.dtype, device=attention.device)
                noise.bernoulli_(1 - p).div_(1 - p)
                attention = attention.view(H, B, L, S) * noise.permute(1, 0, 2, 3)
                attention = attention.reshape(H, B * L, S)
        out = torch.bmm(attention, value)                           # (H, B*L, E)
        out = out.transpose(0, 1).reshape(B, L, -1)                 # (B, L, H*E)
        return self.out_projection(out)


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
