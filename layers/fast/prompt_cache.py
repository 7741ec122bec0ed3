"""Exact prompt caching for causal backbones (docs/REFERENCE.md 3.12).

In a decoder-only LLM the prompt positions never attend to the patches, and the prompt depends
on no trained parameter, so the LLM's pass over [prompt ; patches] equals: the prompt alone,
under ``no_grad``, kept as a KV cache, then the patches on top of that cache at positions
S .. S+P-1 (S = padded prompt length). Nothing is masked, exactly like the reference's plain
forward, which passes no attention mask: pad positions are part of the cache and are attended to.

The token prefix every prompt of a run shares (description and task text, and with LLaMA's
tokenizer the BOS) is run once and reused, expanded along the batch; only each batch's
remainder runs per batch. A cached prefix is used only after checking that every row of the
batch starts with its token ids; otherwise a shorter common prefix is computed, so the store
converges to the run-wide shared prefix within a few batches. The shared prefix needs right
padding (left padding shifts the prompts by different amounts) and a deterministic LLM (with
dropout active in training, each sample needs its own draw); otherwise the whole prompt runs per
batch, still under ``no_grad`` and still exact.

In evaluation the keys and values of each batch's prompt remainder are also kept between passes
(:class:`PassStore`, up to a memory budget): the validation batches are the same every epoch and
the backbone is frozen, so from the second validation pass on a stored batch skips its prompt pass.
Stored entries carry the backbone's :class:`~layers.fast.stamp.Stamp` and are dropped when it
changes; a batch is found by its token ids and its shared-prefix length, so it is exact.

A prompt pass is run only for the keys and values it stores, so it stops right after the last
layer stores them (:class:`PromptCache`): that layer's attention, output projection and MLP,
and the final norm, never run for prompt positions.

Two runners do the passes: :class:`layers.fast.llama_lean.LeanLlama` for a plain LLaMA-family
backbone (``llama_lean.LEAN_ARCHITECTURES``: LLaMA and SmolLM2, Mistral, Qwen2, Gemma without
sliding windows; the same layers without ``transformers``' general plumbing, products through oneDNN)
and :class:`TransformersRunner` for every other causal backbone: the model's own forward with
``transformers``' own cache object (a ``DynamicCache`` built from the model's config, so its
sliding-window layers, Gemma-2's for one, keep what the model's attention expects).
docs/BACKBONES.md lists the architectures checked (cache on and off, outputs and gradients).
"""
from __future__ import annotations

import hashlib
import inspect
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.profiler import record_function
from transformers import DynamicCache

from layers.fast import llama_lean
from layers.fast.llama_lean import KV
from layers.fast.stamp import Stamp, autocast_key
from layers.fast.transfer import host_copy


def cache_kwarg(llm: nn.Module) -> str:
    """The name of the forward argument that takes a KV cache (``cache`` since transformers 5.x;
    ``past_key_values`` before). A peft wrapper forwards keyword arguments: its base model decides."""
    base = llm.get_base_model() if hasattr(llm, "get_base_model") else llm
    params = inspect.signature(base.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def has_dropout(llm: nn.Module) -> bool:
    """Whether the backbone has any active dropout probability (used only in training mode)."""
    if any(isinstance(m, nn.Dropout) and m.p > 0 for m in llm.modules()):
        return True
    config = getattr(llm, "config", None)
    return float(getattr(config, "attention_dropout", 0.0) or 0.0) > 0


class _LastKeysStored(Exception):
    """Raised by a prompt cache to end a prompt pass once every layer stored its keys/values."""


class PromptCache(DynamicCache):
    """A ``transformers.DynamicCache`` whose ``fill(llm, kw, **inputs)`` runs only what it needs.

    A prompt pass runs for its keys and values alone: its hidden states are never used. The last
    layer computes its keys and values before attending, so ``fill`` ends the pass right after
    the last layer stores them (the cache raises an internal exception there), skipping that
    layer's attention, output projection and MLP, and the final norm, for the prompt positions.
    Exact: the stored keys and values are the ones a full pass stores. Architectures that store
    keys and values through ``cache.update(key, value, layer_idx)`` (every one in
    docs/BACKBONES.md) get the saving; any other just runs the full pass. Arguments are
    ``DynamicCache``'s.
    """

    stop_at: int | None = None

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        out = super().update(key_states, value_states, layer_idx, *args, **kwargs)
        if layer_idx == self.stop_at:
            raise _LastKeysStored
        return out

    def fill(self, llm: nn.Module, kw: str, **inputs) -> None:
        self.stop_at = int(llm.config.num_hidden_layers) - 1
        try:
            llm(use_cache=True, **{kw: self}, **inputs)
        except _LastKeysStored:
            pass
        finally:
            self.stop_at = None


class TransformersRunner:
    """The LLM's own forward over new positions after a cached prefix (any causal family).

    Same interface as :class:`layers.fast.llama_lean.LeanLlama`: ``keys_values(embeds, start,
    past)`` -> per-layer (keys, values) of [past ; new] (the pass stops after the last layer stores
    them, :class:`PromptCache`); ``hidden_states(embeds, start, past)`` -> last hidden state of
    the new positions. ``embeds`` (B, L, D) sit at positions start .. start + L - 1; ``past``
    holds per-layer (keys, values) of batch 1 or B, or None.
    """

    def __init__(self, llm: nn.Module):
        self.llm = llm
        self.kw = cache_kwarg(llm)

    def _cache(self, past: list | None, batch: int):
        if past is None:
            return PromptCache(config=self.llm.config)
        return PromptCache([(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1))
                            for k, v in past], config=self.llm.config)

    @staticmethod
    def _positions(embeds: torch.Tensor, start: int) -> torch.Tensor:
        return torch.arange(start, start + embeds.shape[1], device=embeds.device).unsqueeze(0)

    def keys_values(self, embeds: torch.Tensor, start: int, past: list | None = None,
                    ids: torch.Tensor | None = None) -> list:
        """``ids`` (the token ids of ``embeds``, on the host) is accepted for the common
        interface, unused."""
        cache = self._cache(past, embeds.shape[0])
        cache.fill(self.llm, self.kw, inputs_embeds=embeds,
                   position_ids=self._positions(embeds, start))
        return [(layer.keys, layer.values) for layer in cache.layers]

    def hidden_states(self, embeds: torch.Tensor, start: int,
                      past: list | None = None) -> torch.Tensor:
        return self.llm(inputs_embeds=embeds, position_ids=self._positions(embeds, start),
                        use_cache=True, **{self.kw: self._cache(past, embeds.shape[0])}
                        ).last_hidden_state


def joined(prefix: KV | None, rest: KV) -> KV:
    """Per layer, ``prefix``'s keys/values (batch 1 or B) followed by ``rest``'s (batch B) along
    the positions: what a pass over [prefix ; rest] stores (``llama_lean._with_past`` per tensor)."""
    if prefix is None:
        return rest
    return [tuple(llama_lean._with_past(b, a) for a, b in zip(pa, pb)) for pa, pb in zip(prefix, rest)]


class PassStore:
    """Keys/values of evaluation batches' prompts past their shared prefix, kept across passes.

    ``get(context, key)`` -> the stored per-layer (keys, values) or None; ``put(context, key,
    kv)`` keeps copies while the total stays within ``max_bytes``. An evaluation pass visits
    the same batches in the same order every epoch, a cycle that an LRU larger than the budget
    would miss entirely; so the store fills up and then keeps what it holds (a stored batch
    hits in every later pass). Any entry whose ``context`` (the backbone's Stamp) is stale
    empties the store. ``key`` is :func:`batch_key` of the batch's ids and prefix length.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self._context: Stamp | None = None
        self._entries: dict[tuple, KV] = {}

    def _check(self, context: Stamp) -> None:
        if self._context is not None and context.stale(self._context):
            self.clear()
        self._context = context

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def get(self, context: Stamp, key: tuple) -> KV | None:
        self._check(context)
        return self._entries.get(key)

    def put(self, context: Stamp, key: tuple, kv: KV) -> bool:
        """Keep a copy of ``kv`` under ``key`` if it fits; returns whether it was kept."""
        self._check(context)
        size = sum(t.numel() * t.element_size() for pair in kv for t in pair)
        if key in self._entries or self.bytes + size > self.max_bytes:
            return False
        self._entries[key] = [tuple(t.clone() for t in pair) for pair in kv]
        self.bytes += size
        return True


def batch_key(host: np.ndarray, start: int) -> tuple:
    """What identifies a batch's prompt pass: the (B, S) token ids (a digest of their bytes)
    and the length of the prefix computed apart."""
    ids = np.ascontiguousarray(host)
    return ids.shape, str(ids.dtype), start, hashlib.blake2b(ids.tobytes(), digest_size=20).digest()


class PromptKVCache:
    """Runs a causal LLM over [prompt ; patches] with the prompt as a no-grad KV cache.

    ``hidden_states(llm, prompt_ids, patch_embeds, shared)`` returns the last hidden state at the
    patch positions, (B, P, D), equal to ``llm(inputs_embeds=cat([embed(prompt_ids),
    patch_embeds], 1)).last_hidden_state[:, -P:]``. ``shared`` allows the run-wide prefix store.
    A plain LLaMA-family backbone runs through :class:`layers.fast.llama_lean.LeanLlama`
    (``lean``, default on; its products through oneDNN unless ``onednn`` is False), any other
    through :class:`TransformersRunner`. A stored prefix is keyed by the token ids and the
    :class:`~layers.fast.stamp.Stamp` of every backbone parameter. ``stats`` counts prefix hits,
    misses, tokens computed and passes per runner, for tests and benchmarks.
    """

    def __init__(self, max_prefixes: int = 4, lean: bool = True, onednn: bool = True,
                 store_bytes: int = 0):
        self.max_prefixes = max_prefixes
        self.lean = lean
        self.onednn = onednn
        self._runner = None
        self._runner_key: tuple | None = None
        self._prefixes: OrderedDict[tuple, tuple[torch.Tensor, list]] = OrderedDict()
        self.store = PassStore(store_bytes)
        self.stats = {"hits": 0, "misses": 0, "prefix_tokens": 0, "prompt_tokens": 0,
                      "lean": 0, "transformers": 0, "stored_hits": 0, "stored_misses": 0}

    def clear(self) -> None:
        self._prefixes.clear()
        self.store.clear()

    @property
    def shared_length(self) -> int:
        """Tokens in the most recently used shared prefix (0 before any)."""
        return next(reversed(self._prefixes.values()))[0].shape[0] if self._prefixes else 0

    def runner(self, llm: nn.Module):
        """The runner for ``llm`` (kept while the model and the ``lean``/``onednn`` choices stay)."""
        lean = self.lean and llama_lean.supports(llm)
        key = (lean, self.onednn)
        if self._runner is None or self._runner.llm is not llm or self._runner_key != key:
            self._runner = llama_lean.LeanLlama(llm, self.onednn) if lean else TransformersRunner(llm)
            self._runner_key = key
        return self._runner

    def hidden_states(self, llm: nn.Module, prompt_ids: torch.Tensor, patch_embeds: torch.Tensor,
                      shared: bool = True, store: bool = False) -> torch.Tensor:
        """``store``: an evaluation batch, whose prompt's keys/values past the shared prefix are
        looked up in and kept in :attr:`store` (with ``shared`` only)."""
        runner = self.runner(llm)
        self.stats["lean" if isinstance(runner, llama_lean.LeanLlama) else "transformers"] += 1
        embed: Callable = llm.get_input_embeddings()
        dtype = embed.weight.dtype
        B, S = prompt_ids.shape
        host = host_copy(prompt_ids)  # the bookkeeping reads ids on the host, never the GPU
        with torch.no_grad(), record_function("timellm.llm_prompt"):
            start, kv = (self._shared_prefix(llm, runner, prompt_ids, host.numpy()) if shared
                         else (0, None))
            if start < S:
                kv = self._remainder(llm, runner, prompt_ids, host, start, kv,
                                     store and shared and self.store.max_bytes > 0)
        with record_function("timellm.llm_patches"):
            return runner.hidden_states(patch_embeds.to(dtype), S, kv)

    def _remainder(self, llm: nn.Module, runner, prompt_ids: torch.Tensor, host: torch.Tensor,
                   start: int, prefix: KV | None, store: bool) -> KV:
        """Keys/values of [prefix ; ids from ``start`` on] for the batch: computed, or with
        ``store`` read from (or kept in) the pass store."""
        if store:
            context, key = self._context(llm), batch_key(host.numpy(), start)
            kept = self.store.get(context, key)
            if kept is not None:
                self.stats["stored_hits"] += 1
                return joined(prefix, kept)
            self.stats["stored_misses"] += 1
        self.stats["prompt_tokens"] += prompt_ids.shape[0] * (prompt_ids.shape[1] - start)
        embed = llm.get_input_embeddings()
        ids = prompt_ids[:, start:]
        kv = runner.keys_values(embed(ids).to(embed.weight.dtype), start, prefix,
                                ids=host[:, start:])
        if store:
            self.store.put(context, key, [(k[:, :, start:], v[:, :, start:]) for k, v in kv])
        return kv

    @staticmethod
    def _context(llm: nn.Module) -> Stamp:
        """What the cached keys/values depend on besides the token ids."""
        device = llm.get_input_embeddings().weight.device
        return Stamp(llm.parameters(), id(llm), autocast_key(device))

    def _shared_prefix(self, llm: nn.Module, runner, ids: torch.Tensor, host: np.ndarray):
        """(prefix length, per-layer [(k, v)] with batch 1) for the batch, or (0, None).

        ``ids`` (B, S) on the model's device, ``host`` the same ids on the host: every check
        reads ``host``, so none waits for a GPU.
        """
        context = self._context(llm)
        S = host.shape[1]
        latest = None
        for key in reversed(self._prefixes):
            if context.stale(key[0]):
                continue
            prefix, kv = self._prefixes[key]
            latest = latest if latest is not None else prefix
            n = prefix.shape[0]
            if n <= S and bool((host[:, :n] == prefix).all()):
                self._prefixes.move_to_end(key)
                self.stats["hits"] += 1
                return n, kv
        self.stats["misses"] += 1
        n = self._common_length(host)
        if latest is not None:  # shrink towards the prefix shared by the whole run
            m = min(n, latest.shape[0])
            n = _leading_true(host[0, :m] == latest[:m])
        if n == 0:
            return 0, None
        prefix = host[0, :n].copy()
        embed = llm.get_input_embeddings()
        kv = runner.keys_values(embed(ids[:1, :n]).to(embed.weight.dtype), 0,
                                ids=torch.from_numpy(prefix).unsqueeze(0))
        self.stats["prefix_tokens"] += n
        self._prefixes[(context, tuple(prefix.tolist()))] = (prefix, kv)
        while len(self._prefixes) > self.max_prefixes:
            self._prefixes.popitem(last=False)
        return n, kv

    @staticmethod
    def _common_length(host: np.ndarray) -> int:
        """Length of the longest token prefix shared by every row of ``host`` (B, S)."""
        return _leading_true((host == host[:1]).all(axis=0))


def _leading_true(flags: np.ndarray) -> int:
    """How many entries of the 1-D boolean ``flags`` are True before the first False."""
    false = np.flatnonzero(~flags)
    return int(false[0]) if len(false) else int(flags.shape[0])
