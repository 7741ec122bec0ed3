"""Time-LLM's reprogramming on the fast path: the same attention, fewer FLOPs, kept in evaluation.

:class:`FastReprogrammingLayer` is :class:`layers.reprogramming.ReprogrammingLayer` (same
parameters, names and plain methods) plus :meth:`~FastReprogrammingLayer.fast_source` and
:meth:`~FastReprogrammingLayer.attend_fast`, the same attention weights from score maps in an
(H, B*L, S) layout. :class:`FastPrototypeSource` drives them with the mapping layer's exact
GEMM (``layers.fast.mapping``) and, in evaluation, computes the prototypes' tensors once per pass.
:func:`head_input` is the output head's input, sliced before it is copied.
"""
from __future__ import annotations

from math import sqrt

import torch
import torch.nn.functional as F

from layers.fast.mapping import MappingLayer
from layers.fast.stamp import Stamp, autocast_key
from layers.reprogramming import PrototypeSource, ReprogrammingLayer


def dropout_mask(shape: tuple[int, ...], p: float, like: torch.Tensor) -> torch.Tensor:
    """The mask (0 or 1/(1-p)) that ``nn.Dropout`` multiplies a contiguous tensor of ``shape``
    with ``like``'s dtype and device by, drawn with the same generator calls, so the fast path
    drops exactly what the reference's scores drop.

    That is ``F.dropout`` applied to ones: on a GPU its fused kernel, on a CPU a Bernoulli draw
    divided by 1 - p, which this draws directly there, sparing the ones and the product with
    them (two passes over the (B, H, L, S) mask, ~0.7 GB at the campaign's batch); a test checks
    the two are equal and leave the generator alike.
    """
    if like.device.type == "cpu":
        return torch.empty(shape, dtype=like.dtype).bernoulli_(1 - p).div_(1 - p)
    return F.dropout(like.new_ones(shape), p, training=True)


CHUNK_BYTES = 8 * 2**20  # a slice of the (H, rows, S) scores: about the size of a last-level cache


class DroppedAttention(torch.autograd.Function):
    """softmax(features @ maps) with the reference's dropout, times the values, in slices.

    apply(features (H, B*L, q), maps (H, q, S), value (H, S, E), keep (B, H, L, S) bool, scale
    0-dim) -> (H, B*L, E): per head, ``(softmax(f m) * keep * scale) v`` with ``keep`` read
    through the (H, B, L, S) view, i.e. the reference's (B, H, L, S) dropout mask. Equal to the
    unsliced products to float rounding (tests: 1e-5, outputs and every gradient).

    The whole (H, B*L, S) score, attention and mask tensors (~0.4 GB each at the campaign's
    batch of 192) are never formed: the rows go through in slices of whole samples that fit
    :data:`CHUNK_BYTES`, and the backward recomputes each slice's scores and softmax instead of
    keeping them, so its element-wise passes stay in cache. Saved for the backward: the inputs
    and the mask as booleans (a quarter of the float mask).
    """

    @staticmethod
    def _slices(keep: torch.Tensor, S: int, H: int):
        B, _, L, _ = keep.shape
        per = max(1, CHUNK_BYTES // (H * L * S * 4))
        mask = keep.permute(1, 0, 2, 3)                            # (H, B, L, S) view
        for b0 in range(0, B, per):
            b1 = min(B, b0 + per)
            yield slice(b0 * L, b1 * L), mask[:, b0:b1].reshape(H, (b1 - b0) * L, S)

    @staticmethod
    def forward(ctx, features, maps, value, keep, scale):
        H, N, _ = features.shape
        out = value.new_empty(H, N, value.shape[-1])
        for rows, kept in DroppedAttention._slices(keep, maps.shape[-1], H):
            attention = torch.softmax(torch.bmm(features[:, rows], maps), dim=-1)
            torch.bmm(attention.mul_(kept).mul_(scale), value, out=out[:, rows])
        ctx.save_for_backward(features, maps, value, keep, scale)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        features, maps, value, keep, scale = ctx.saved_tensors
        grad_features = torch.empty_like(features) if ctx.needs_input_grad[0] else None
        grad_maps, grad_value = torch.zeros_like(maps), torch.zeros_like(value)
        for rows, kept in DroppedAttention._slices(keep, maps.shape[-1], features.shape[0]):
            f, g = features[:, rows], grad_out[:, rows]
            attention = torch.softmax(torch.bmm(f, maps), dim=-1)
            factor = kept * scale                                  # the mask's values, 0 or 1/(1-p)
            grad_value.baddbmm_(attention.mul(factor).transpose(1, 2), g)
            grad_attention = torch.bmm(g, value.transpose(1, 2)).mul_(factor)
            grad_scores = torch._softmax_backward_data(grad_attention, attention, -1,
                                                       attention.dtype)
            grad_maps.baddbmm_(f.transpose(1, 2), grad_scores)
            if grad_features is not None:
                torch.bmm(grad_scores, maps.transpose(1, 2), out=grad_features[:, rows])
        return grad_features, grad_maps, grad_value, None, None


class FastReprogrammingLayer(ReprogrammingLayer):
    """:class:`ReprogrammingLayer` with the fast path's computation of the same attention.

    ``uses_score_maps``: the scores come from maps of [x, 1] when that costs fewer FLOPs than
    keys (d_model + 1 < d_keys).
    """

    def __init__(self, d_model: int, n_heads: int, d_keys: int | None = None,
                 d_llm: int | None = None, attention_dropout: float = 0.1):
        super().__init__(d_model, n_heads, d_keys, d_llm, attention_dropout)
        self.uses_score_maps = d_model + 1 < self.query_projection.out_features // n_heads
        self.chunked = True  # training with dropout through DroppedAttention (tests switch it)

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
        """``attend`` from :meth:`fast_source`'s tensors: (B, L, d_model) -> (B, L, d_llm).

        The scores live as (H, B*L, S), so every product is one batched matmul over the heads and
        nothing large is permuted. In training with dropout, the mask is the reference's
        (:func:`dropout_mask` of its contiguous (B, H, L, S) scores' shape and dtype, the same
        generator calls on a CPU and on a GPU), applied through a permuted view: the same masks
        as :meth:`attend`. Without dropout (evaluation) the attention is one fused kernel
        (:meth:`_attend_fused`).
        """
        B, L, d_model = target_embedding.shape
        H, _, S = maps.shape
        x = target_embedding.reshape(B * L, d_model)
        p = self.dropout.p
        if not (self.training and p > 0):
            return self.out_projection(self._attend_fused(x, maps, value).reshape(B, L, -1))
        if self.uses_score_maps:
            x = torch.cat([x, x.new_ones(B * L, 1)], dim=1)        # (B*L, d_model+1)
            features = x.unsqueeze(0).expand(H, -1, -1)
        else:                                                      # maps are the keys (H, E, S)
            E = maps.shape[1]
            features = self.query_projection(x).view(B * L, H, E).transpose(0, 1) * (1.0 / sqrt(E))
        if self.chunked and not torch.is_autocast_enabled(features.device.type):
            # the same mask, kept as booleans; the attention in cache-sized slices
            keep = dropout_mask((B, H, L, S), p, maps) != 0
            scale = maps.new_ones(()).div_(1 - p)                  # the mask's 1/(1-p), as drawn
            out = DroppedAttention.apply(features, maps, value, keep, scale)
        else:
            scores = torch.matmul(features, maps)                  # (H, B*L, S)
            attention = torch.softmax(scores, dim=-1)
            keep = dropout_mask((B, H, L, S), p, attention)
            attention = attention.view(H, B, L, S) * keep.permute(1, 0, 2, 3)
            out = torch.bmm(attention.reshape(H, B * L, S), value)  # (H, B*L, E)
        out = out.transpose(0, 1).reshape(B, L, -1)                 # (B, L, H*E)
        return self.out_projection(out)

    def _attend_fused(self, x: torch.Tensor, maps: torch.Tensor,
                      value: torch.Tensor) -> torch.Tensor:
        """The attention without dropout as one fused kernel: (B*L, d_model) -> (B*L, H*E).

        ``F.scaled_dot_product_attention`` over the heads with every patch of the batch as a
        query of one sequence (the prototypes are the same keys for all of them), scale 1 (the
        maps or queries are scaled already). The CPU's flash kernel, which never stores the
        (H, B*L, S) scores, needs queries, keys and values of one width, so the score-map
        features [x, 1] (H, B*L, d_model + 1) and maps are padded with zeros to E: the scores are
        unchanged and the kernel still beats the three unfused passes (bench/README.md).
        """
        H, _, S = maps.shape
        E = value.shape[-1]
        if self.uses_score_maps:
            width = x.shape[1] + 1
            features = torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)
            query = F.pad(features, (0, E - width)).unsqueeze(0).expand(H, -1, -1)
            keys = F.pad(maps.transpose(1, 2), (0, E - width))     # (H, S, E)
        else:                                                      # maps are the keys (H, E, S)
            query = self.query_projection(x).view(-1, H, E).transpose(0, 1) * (1.0 / sqrt(E))
            keys = maps.transpose(1, 2)
        out = F.scaled_dot_product_attention(query.contiguous().unsqueeze(0),
                                             keys.contiguous().unsqueeze(0),
                                             value.contiguous().unsqueeze(0), scale=1.0)[0]
        return out.transpose(0, 1).reshape(x.shape[0], H * E)      # (B*L, H*E)


class FastPrototypeSource(PrototypeSource):
    """:class:`layers.reprogramming.PrototypeSource` on the fast path, same interface.

    Prototypes from :meth:`MappingLayer.prototypes` (one GEMM forward, one weight-gradient GEMM
    backward); score maps and values from :meth:`FastReprogrammingLayer.fast_source`, attended
    by :meth:`FastReprogrammingLayer.attend_fast`. In evaluation (the layer not training, no
    grad) they are computed once per pass: kept under the :class:`~layers.fast.stamp.Stamp` of
    every tensor they depend on and the autocast state, so an optimiser step, a reload or an
    in-place edit recomputes them; :meth:`clear` (the model's ``train()``) starts a new pass.
    """

    def __init__(self):
        self._entry: tuple[Stamp, tuple] | None = None

    @property
    def cached(self) -> tuple | None:
        """The kept (score maps, values), or None."""
        return None if self._entry is None else self._entry[1]

    def clear(self) -> None:
        self._entry = None

    def prototypes(self, mapping: MappingLayer, table: torch.Tensor) -> torch.Tensor:
        return mapping.prototypes(table)

    def project(self, layer: FastReprogrammingLayer, source: torch.Tensor) -> tuple:
        return layer.fast_source(source, source)

    def keys_values(self, mapping: MappingLayer, layer: FastReprogrammingLayer,
                    table: torch.Tensor) -> tuple:
        if layer.training or torch.is_grad_enabled():
            self._entry = None
            return super().keys_values(mapping, layer, table)
        stamp = Stamp([mapping.weight, mapping.bias, table,
                       layer.query_projection.weight, layer.query_projection.bias,
                       layer.key_projection.weight, layer.key_projection.bias,
                       layer.value_projection.weight, layer.value_projection.bias],
                      autocast_key(table.device))
        if self._entry is None or stamp.stale(self._entry[0]):
            self._entry = (stamp, super().keys_values(mapping, layer, table))
        return self._entry[1]

    def attend(self, layer: FastReprogrammingLayer, patches: torch.Tensor,
               kv: tuple) -> torch.Tensor:
        return layer.attend_fast(patches, *kv)


def head_input(hidden: torch.Tensor, n_vars: int, patch_nums: int, d_ff: int,
               dtype: torch.dtype) -> torch.Tensor:
    """hidden (B*n_vars, S + P, >= d_ff) -> (B, n_vars, d_ff, P) in ``dtype`` (P = patch_nums).

    The same tensor as :func:`layers.reprogramming.head_input` (pure data movement, bit-identical):
    the last ``patch_nums`` positions and first ``d_ff`` channels are sliced first, so only they
    are converted and copied, instead of the channels of every position (prompt included)."""
    dec = hidden[:, -patch_nums:, :d_ff].to(dtype)
    return dec.reshape(-1, n_vars, patch_nums, d_ff).permute(0, 1, 3, 2).contiguous()
