"""A lean forward of a frozen LLaMA-family backbone over a cached prefix (fast path only).

``transformers``' ``LlamaModel.forward`` is general: it builds a 4-D float mask for every call,
repeats each key/value head for its query heads before attention, routes every layer through
several decorators and a ``Cache`` object, computes the last layer's queries in a prompt pass
although only its keys and values are kept, and runs every product through MKL and every
element-wise step as its own pass. :class:`LeanLlama` runs the same layers from the model's own
weights, norms' epsilons and rotary embedding, and changes only how they are computed:

- grouped-query attention through the SDPA call that reaches a fused kernel on the device
  (:func:`attention_plan`): on a CPU SDPA's grouped-query kernel (``enable_gqa``, no key or value
  repeated) with one boolean causal mask per shape, shared by the batch and kept; on a GPU no
  mask tensor (``is_causal`` / a lower-right ``CausalBias``), so Flash (half precision, with
  ``enable_gqa``) or the memory-efficient kernel (fp32, keys/values repeated) runs;
- keys and values are plain per-layer tensors (B, kv_heads, S, head_dim), a batch-1 prefix's
  expanded along the batch only when concatenated;
- a keys/values pass (:meth:`LeanLlama.keys_values`) stops after the last layer's keys and
  values: that layer's queries, attention, output projection and MLP never run; given the token
  ids, its layer-0 projections are gathered per id (:class:`TokenProjections`);
- the projections run through oneDNN with packed weights, and without a gradient to record the
  SiLU, the gate product and the residual additions are fused into them (``layers.fast.onednn``,
  ``onednn=False``: ordinary PyTorch products);
  RMSNorm is ``F.rms_norm``; the rotary embedding is one multiply and one fused multiply-add.

The numbers are the model's up to float rounding (summation order inside the products; tests:
1e-5). Used by :class:`layers.fast.prompt_cache.PromptKVCache` when :func:`supports` says the backbone
is one of :data:`LEAN_ARCHITECTURES` (LLaMA, Mistral, Qwen2, Gemma: the same layers, Qwen2 with
query/key/value biases; Gemma's (1 + weight) RMSNorm runs as its own module (a norm without
LLaMA's ``variance_epsilon``), its GELU as the MLP's ``act_fn``, and its sqrt(hidden) embedding
scale sits in its embedding module, so the prompt's embeddings arrive scaled and
``inputs_embeds`` are not rescaled, as in the model's forward), plain (no adapter wrapper), with
every layer attending to all earlier positions (no sliding window), no attention dropout and no
tensor-parallel split; anything else (Qwen3's and Gemma-3's per-head query/key norms, Gemma-2's
softcapping and extra norms, sliding windows, other layouts) runs through ``transformers``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention.bias import causal_lower_right
from transformers import GemmaModel, LlamaModel, MistralModel, Qwen2Model

from layers.fast.onednn import WeightPacks, gated_mlp, linear, linear_add
from layers.fast.stamp import Stamp
from layers.fast.transfer import to_device

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (B, kv_heads, S, head_dim)

# the base models whose layers LeanLlama runs (names as docs/BACKBONES.md lists them)
# (exact types: Qwen3Model and Gemma3TextModel share the layout but add query/key norms)
LEAN_ARCHITECTURES: dict[type, str] = {LlamaModel: "llama", MistralModel: "mistral",
                                       Qwen2Model: "qwen2", GemmaModel: "gemma"}


def supports(llm: nn.Module) -> bool:
    """Whether ``llm`` is a plain (not adapter-wrapped) base model of :data:`LEAN_ARCHITECTURES`
    with full causal attention in every layer, no attention dropout and no tensor-parallel
    split, whose forward :class:`LeanLlama` reproduces."""
    if type(llm) not in LEAN_ARCHITECTURES:
        return False
    config = llm.config
    full = all(t == "full_attention" for t in getattr(config, "layer_types", None) or ())
    return (float(getattr(config, "attention_dropout", 0.0) or 0.0) == 0.0
            and int(getattr(config, "pretraining_tp", 1) or 1) == 1
            and getattr(config, "sliding_window", None) is None and full)


@dataclass(frozen=True)
class AttentionPlan:
    """How :meth:`LeanLlama._attend` calls SDPA.

    ``boolean_mask``: one kept (L, S) boolean causal mask (else no mask tensor: ``is_causal``
    when L == S, a lower-right ``CausalBias`` with a cached prefix); ``repeat_kv``: each key/value
    head repeated for its query heads (else SDPA's ``enable_gqa``).
    """

    boolean_mask: bool
    repeat_kv: bool


def attention_plan(device_type: str, dtype: torch.dtype) -> AttentionPlan:
    """The SDPA call that reaches a fused kernel on ``device_type`` for ``dtype``.

    On a CPU: the boolean mask with ``enable_gqa`` (measured fastest there, bench/README.md).
    On a GPU any explicit mask leaves only the math kernel (full score matrix), and SDPA's
    grouped-query support is in its Flash kernel alone (fp16/bf16): so no mask tensor (causal
    alignment from ``is_causal`` / ``causal_lower_right``, which Flash and the memory-efficient
    kernel take), with ``enable_gqa`` in half precision (Flash) and repeated keys/values in fp32
    (the memory-efficient kernel, which takes fp32 but not ``enable_gqa``).
    """
    if device_type == "cpu":
        return AttentionPlan(boolean_mask=True, repeat_kv=False)
    return AttentionPlan(boolean_mask=False,
                         repeat_kv=dtype not in (torch.float16, torch.bfloat16))


def _rotary_tables(cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, L, hd) cos/sin -> (1, L, 1, hd) cos and the signed sin [-sin_1, sin_2] of :func:`_rotate`."""
    half = sin.shape[-1] // 2
    signed = torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)
    return cos.unsqueeze(2), signed.unsqueeze(2)


def _rotate(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x (B, L, heads, hd), as ``transformers``' ``x * cos + rotate_half(x) *
    sin`` with rotate_half(x) = [-x_2, x_1]: the halves swapped, the sign moved into the sine."""
    half = x.shape[-1] // 2
    swapped = x.unflatten(-1, (2, half)).flip(-2).flatten(-2)
    return torch.addcmul(x * cos, swapped, signed_sin)


def _rms_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``LlamaRMSNorm`` (weight * x / sqrt(mean(x^2) + eps)) as one fused op for fp32 input."""
    eps = getattr(norm, "variance_epsilon", None)
    if eps is None or x.dtype != torch.float32 or norm.weight.dtype != torch.float32:
        return norm(x)
    return F.rms_norm(x, norm.weight.shape, norm.weight, eps)


def _with_past(new: torch.Tensor, past: torch.Tensor | None) -> torch.Tensor:
    """[past ; new] along the sequence; a batch-1 past is expanded to new's batch."""
    if past is None:
        return new
    return torch.cat([past.expand(new.shape[0], -1, -1, -1), new], dim=2)


class TokenProjections:
    """Layer 0's query/key/value projections (before the rotary embedding) per token id.

    At layer 0 a prompt token's hidden state is its embedding row, so its normed row and its
    query/key/value projections depend on the token id alone. ``table(ids)`` (B, L) -> (B, L,
    q + k + v dims) computes them once per id (the same norm and products on the same row) and
    gathers them afterwards; the per-sample prompt text (digits, punctuation, a few words) uses
    a few dozen ids. The rows are remade when a weight they depend on changes (their
    :class:`~layers.fast.stamp.Stamp`), or after ``max_rows`` distinct ids.
    """

    def __init__(self, llm: nn.Module, packs: WeightPacks | None = None, max_rows: int = 65536,
                 onednn: bool = True):
        self.llm, self.packs, self.max_rows, self.onednn = llm, packs, max_rows, onednn
        self._stamp: Stamp | None = None
        self._slot = np.empty(0, dtype=np.int64)  # per token id: its row, or -1 (on the host)
        self._rows = torch.empty(0)

    def _depends_on(self) -> Stamp:
        layer = self.llm.layers[0]
        attn = layer.self_attn
        tensors = [self.llm.get_input_embeddings().weight, layer.input_layernorm.weight]
        for proj in (attn.q_proj, attn.k_proj, attn.v_proj):
            tensors += [proj.weight, proj.bias]
        return Stamp(tensors)

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` (B, L) on the host (the bookkeeping never reads the device) -> (B, L, q + k + v
        dims) on the backbone's device."""
        embedding = self.llm.get_input_embeddings()
        device = embedding.weight.device
        stamp = self._depends_on()
        if stamp.stale(self._stamp) or len(self._rows) > self.max_rows:
            self._stamp = stamp
            self._slot = np.full(embedding.weight.shape[0], -1, dtype=np.int64)
            self._rows = torch.empty(0, device=device)
        flat = (ids if ids.device.type == "cpu" else ids.cpu()).reshape(-1).numpy()
        slots = self._slot[flat]
        unseen = slots < 0
        if unseen.any():
            new = np.unique(flat[unseen])
            layer = self.llm.layers[0]
            attn = layer.self_attn
            x = _rms_norm(layer.input_layernorm, embedding(to_device(torch.from_numpy(new), device)))
            rows = torch.cat([linear(proj, x, self.packs, self.onednn)
                              for proj in (attn.q_proj, attn.k_proj, attn.v_proj)], dim=-1)
            self._slot[new] = np.arange(len(self._rows), len(self._rows) + len(new))
            self._rows = torch.cat([self._rows, rows]) if len(self._rows) else rows
            slots = self._slot[flat]
        return self._rows[to_device(torch.from_numpy(slots), device)].view(*ids.shape, -1)


class LeanLlama:
    """The layers of a ``transformers`` LlamaModel run over new positions after a cached prefix.

    ``keys_values(embeds, start, past)`` -> per-layer keys/values of [past ; new] positions;
    ``hidden_states(embeds, start, past)`` -> final-norm hidden states of the new positions,
    (B, L, D). ``embeds`` (B, L, D) sit at positions ``start .. start + L - 1``; ``past`` holds
    per-layer (keys, values) of the first ``start`` positions (batch 1 or B), or None.
    ``onednn`` False computes every product with ordinary PyTorch ops (benchmarks, A/B).
    """

    def __init__(self, llm: nn.Module, onednn: bool = True):
        self.llm = llm
        self.onednn = onednn
        attn = llm.layers[0].self_attn
        self.head_dim = int(attn.head_dim)
        self.scaling = float(attn.scaling)
        self._masks: dict[tuple, torch.Tensor] = {}
        self.packs = WeightPacks()
        self.token_projections = TokenProjections(llm, self.packs, onednn=onednn)

    def keys_values(self, embeds: torch.Tensor, start: int, past: KV | None = None,
                    ids: torch.Tensor | None = None) -> KV:
        """``ids`` (B, L), the token ids ``embeds`` embed (a prompt pass): layer 0's projections
        then come from :class:`TokenProjections` (with no gradient and no autocast)."""
        kv: KV = []
        self._run(embeds, start, past, kv, ids)
        return kv

    def hidden_states(self, embeds: torch.Tensor, start: int, past: KV | None = None) -> torch.Tensor:
        return self._run(embeds, start, past, None)

    # ---- internals --------------------------------------------------------------------------
    def _mask(self, L: int, S: int, device: torch.device) -> torch.Tensor:
        """(L, S) boolean: new position i sees keys 0 .. S - L + i."""
        key = (L, S, device)
        if key not in self._masks:
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = torch.ones(L, S, dtype=torch.bool, device=device).tril(S - L)
        return self._masks[key]

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                plan: AttentionPlan | None = None) -> torch.Tensor:
        """Causal grouped-query attention of the new positions over [past ; new].

        q (B, L, H, hd); k, v (B, kv_heads, S, hd) -> (B, L, H * hd): new position i sees keys
        0 .. S - L + i. How SDPA is called is :func:`attention_plan`'s choice for the device and
        dtype (``plan`` overrides it: tests run every plan on any device).
        """
        B, L, H, hd = q.shape
        S, kv_heads = k.shape[2], k.shape[1]
        plan = plan or attention_plan(q.device.type, q.dtype)
        grouped = kv_heads != H
        if grouped and plan.repeat_kv:
            k = k.repeat_interleave(H // kv_heads, dim=1)
            v = v.repeat_interleave(H // kv_heads, dim=1)
        if plan.boolean_mask:
            causal = {"attn_mask": self._mask(L, S, q.device)}
        elif L == S:
            causal = {"is_causal": True}
        else:
            causal = {"attn_mask": causal_lower_right(L, S)}
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k, v, scale=self.scaling,
                                             enable_gqa=grouped and not plan.repeat_kv, **causal)
        return out.transpose(1, 2).reshape(B, L, H * hd)

    def _projections(self, layer: nn.Module, h: torch.Tensor, ids: torch.Tensor | None,
                     queries: bool = True):
        """Query (None unless ``queries``), key and value projections (B, L, dims) of
        ``layer``'s input ``h``; for layer 0 of a prompt pass (``ids`` given, no gradient, no
        autocast) gathered per token id (:class:`TokenProjections`)."""
        attn = layer.self_attn
        if (ids is not None and not torch.is_grad_enabled()
                and not torch.is_autocast_enabled(h.device.type)):
            q, k, v = self.token_projections(ids).split(
                [attn.q_proj.out_features, attn.k_proj.out_features, attn.v_proj.out_features],
                dim=-1)
            return (q if queries else None), k, v
        x = _rms_norm(layer.input_layernorm, h)
        p, on = self.packs, self.onednn
        q = linear(attn.q_proj, x, p, on) if queries else None
        return q, linear(attn.k_proj, x, p, on), linear(attn.v_proj, x, p, on)

    def _run(self, h: torch.Tensor, start: int, past: KV | None, keep: KV | None,
             ids: torch.Tensor | None = None):
        """Runs every layer; with ``keep`` (a list) stores keys/values and stops after the last."""
        B, L, _ = h.shape
        hd, p, on = self.head_dim, self.packs, self.onednn
        positions = torch.arange(start, start + L, device=h.device).unsqueeze(0)
        cos, sin = _rotary_tables(*self.llm.rotary_emb(h, positions))
        layers = self.llm.layers
        for i, layer in enumerate(layers):
            attn = layer.self_attn
            last_kv = keep is not None and i == len(layers) - 1  # only its keys/values are kept
            q, k, v = self._projections(layer, h, ids if i == 0 else None, queries=not last_kv)
            k = _rotate(k.view(B, L, -1, hd), cos, sin).transpose(1, 2)
            v = v.view(B, L, -1, hd).transpose(1, 2)
            k = _with_past(k, past[i][0] if past else None)
            v = _with_past(v, past[i][1] if past else None)
            if keep is not None:
                keep.append((k, v))
                if last_kv:
                    return None
            q = _rotate(q.view(B, L, -1, hd), cos, sin)
            h = linear_add(attn.o_proj, self._attend(q, k, v), h, p, on)
            h = gated_mlp(layer.mlp, _rms_norm(layer.post_attention_layernorm, h), h, p, on)
        return _rms_norm(self.llm.norm, h)
