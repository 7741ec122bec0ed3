"""Attention mechanisms of the Transformer baselines and the projection layer around them.

Inner attentions share one contract: ``forward(queries (B, L, H, E), keys (B, S, H, E),
values (B, S, H, D), attn_mask) -> (out (B, L, H, D), attn or None)``. :class:`AttentionLayer`
adds the Q/K/V/out projections and the head split.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def triangular_causal_mask(B: int, L: int, device=None) -> torch.Tensor:
    """(B, 1, L, L) bool mask, True above the diagonal (future positions to hide)."""
    return torch.ones(B, 1, L, L, dtype=torch.bool, device=device).triu(1)


def prob_mask(L: int, index: torch.Tensor, S: int) -> torch.Tensor:
    """Causal mask restricted to the selected query rows (Informer's ProbMask).

    index (B, H, u) holds the query positions kept by ProbAttention; returns (B, H, u, S) bool,
    True where key position > query position.
    """
    causal = torch.ones(L, S, dtype=torch.bool, device=index.device).triu(1)
    return causal[index]


class FullAttention(nn.Module):
    """Scaled dot-product attention over all query/key pairs (optionally causal).

    softmax(scale * Q K^T) V with scale = 1/sqrt(E) unless given, dropout on the weights.
    """

    def __init__(self, mask_flag: bool = True, factor: int = 5, scale: float | None = None,
                 attention_dropout: float = 0.1, output_attention: bool = False):
        super().__init__()
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)

    def forward(self, queries, keys, values, attn_mask=None):
        B, L, H, E = queries.shape
        scale = self.scale or 1.0 / math.sqrt(E)
        scores = torch.einsum("blhe,bshe->bhls", queries, keys)
        if self.mask_flag:
            if attn_mask is None:
                attn_mask = triangular_causal_mask(B, L, device=queries.device)
            scores = scores.masked_fill(attn_mask, float("-inf"))
        A = self.dropout(torch.softmax(scale * scores, dim=-1))
        V = torch.einsum("bhls,bshd->blhd", A, values)
        return V.contiguous(), (A if self.output_attention else None)


class ProbAttention(nn.Module):
    """Informer's ProbSparse self-attention (Zhou et al., AAAI 2021).

    For each head: sample U_part = factor * ceil(ln S) keys per query, score every query by the
    sparsity measure M = max_j(q k_j^T) - sum_j(q k_j^T) / S over its sampled keys (the reference
    divides by S, not by the sample size), keep the top u = factor * ceil(ln L) queries and give
    them full attention; the other queries output mean(V) (no mask) or cumsum(V) (causal mask).
    With u >= L every query is kept and the result equals :class:`FullAttention` (no dropout:
    the reference defines ``attention_dropout`` here but never applies it).

    Output layout (B, L, H, D) like FullAttention; the reference hands (B, H, L, D) to its
    AttentionLayer instead, which :class:`AttentionLayer` reproduces with ``mix=True``.
    """

    def __init__(self, mask_flag: bool = True, factor: int = 5, scale: float | None = None,
                 attention_dropout: float = 0.1, output_attention: bool = False):
        super().__init__()
        self.factor = factor
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)  # kept for parity; unused, as in the reference

    def _prob_QK(self, Q: torch.Tensor, K: torch.Tensor, sample_k: int, n_top: int):
        """Q (B, H, L, E), K (B, H, S, E) -> (scores of the top queries (B, H, n_top, S), index (B, H, n_top))."""
        B, H, S, E = K.shape
        L = Q.shape[2]
        # sample on the CPU generator like the reference (same random stream), then move
        index_sample = torch.randint(S, (L, sample_k)).to(K.device)
        K_sample = K[:, :, index_sample, :]                                   # B, H, L, sample_k, E
        QK_sample = torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)
        M = QK_sample.max(-1)[0] - torch.div(QK_sample.sum(-1), S)            # B, H, L
        M_top = M.topk(n_top, sorted=False)[1]                                # B, H, n_top
        Q_reduce = torch.gather(Q, 2, M_top.unsqueeze(-1).expand(-1, -1, -1, E))
        return torch.matmul(Q_reduce, K.transpose(-2, -1)), M_top

    def _initial_context(self, V: torch.Tensor, L_Q: int) -> torch.Tensor:
        B, H, S, D = V.shape
        if not self.mask_flag:
            return V.mean(dim=-2, keepdim=True).expand(B, H, L_Q, D)
        if L_Q != S:
            raise ValueError("masked ProbAttention needs as many queries as keys (self-attention)")
        return V.cumsum(dim=-2)

    def forward(self, queries, keys, values, attn_mask=None):
        B, L_Q, H, D = queries.shape
        L_K = keys.shape[1]
        queries = queries.transpose(2, 1)
        keys = keys.transpose(2, 1)
        values = values.transpose(2, 1)

        U_part = min(self.factor * int(math.ceil(math.log(L_K))), L_K)  # c * ln(L_k)
        u = min(self.factor * int(math.ceil(math.log(L_Q))), L_Q)       # c * ln(L_q)
        scores_top, index = self._prob_QK(queries, keys, sample_k=U_part, n_top=u)
        scale = self.scale or 1.0 / math.sqrt(D)
        scores_top = scores_top * scale

        context = self._initial_context(values, L_Q)
        if self.mask_flag:
            scores_top = scores_top.masked_fill(prob_mask(L_Q, index, L_K), float("-inf"))
        attn = torch.softmax(scores_top, dim=-1)                              # B, H, u, S
        top_context = torch.matmul(attn, values).to(context.dtype)
        context = context.scatter(2, index.unsqueeze(-1).expand(-1, -1, -1, context.shape[-1]), top_context)

        attns = None
        if self.output_attention:
            attns = torch.full((B, H, L_Q, L_K), 1.0 / L_K, dtype=attn.dtype, device=attn.device)
            attns = attns.scatter(2, index.unsqueeze(-1).expand(-1, -1, -1, L_K), attn)
        return context.transpose(2, 1).contiguous(), attns


class AttentionLayer(nn.Module):
    """Multi-head wrapper: project Q/K/V to ``n_heads`` heads, run the inner attention, merge heads,
    project back.

    forward: queries (B, L, d_model), keys/values (B, S, d_model) -> ((B, L, d_model), attn).
    ``mix=True`` merges heads the way Informer's decoder does (and the Autoformer /
    Time-Series-Library copies of Informer do for every ProbAttention): the (B, H, L, D) result
    is read as (B, L, H*D) in memory order, so each output row gathers H consecutive time steps
    of one head. Kept on purpose: the published Informer numbers come from that code.
    """

    def __init__(self, attention: nn.Module, d_model: int, n_heads: int, d_keys: int | None = None,
                 d_values: int | None = None, mix: bool = False):
        super().__init__()
        d_keys = d_keys or (d_model // n_heads)
        d_values = d_values or (d_model // n_heads)
        self.inner_attention = attention
        self.query_projection = nn.Linear(d_model, d_keys * n_heads)
        self.key_projection = nn.Linear(d_model, d_keys * n_heads)
        self.value_projection = nn.Linear(d_model, d_values * n_heads)
        self.out_projection = nn.Linear(d_values * n_heads, d_model)
        self.n_heads = n_heads
        self.mix = mix

    def forward(self, queries, keys, values, attn_mask=None):
        B, L, _ = queries.shape
        S = keys.shape[1]
        H = self.n_heads
        queries = self.query_projection(queries).view(B, L, H, -1)
        keys = self.key_projection(keys).view(B, S, H, -1)
        values = self.value_projection(values).view(B, S, H, -1)
        out, attn = self.inner_attention(queries, keys, values, attn_mask)
        if self.mix:
            out = out.transpose(2, 1).contiguous()
        out = out.reshape(B, L, -1)
        return self.out_projection(out), attn
