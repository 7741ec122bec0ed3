"""The frozen backbone over [prompt ; tokens] on the fast path: the same hidden states, less work.

:class:`FastBackboneRunner` has :class:`layers.backbones.BackboneRunner`'s interface. The
backbone was loaded without stored attention maps or hidden states (SDPA attention), a causal
one is asked for no KV cache of its output (``use_cache=False``), and with ``prompt_cache``
the prompt runs as a no-grad KV cache (``layers.fast.prompt_cache``, docs/REFERENCE.md 3.12) while
no backbone weight trains: adapters such as LoRA make the prompt depend on trained weights, so
then it runs with the tokens in training (a warning says so once); evaluation keeps the cache.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from layers.backbones import BackboneRunner
from layers.fast.prompt_cache import PromptKVCache, has_dropout


def backbone_trains(llm: nn.Module) -> bool:
    """Whether gradients reach backbone weights now (grad mode on and a weight that trains)."""
    return torch.is_grad_enabled() and any(p.requires_grad for p in llm.parameters())


class FastBackboneRunner(BackboneRunner):
    """``runner(tokens (B, P, D), prompt_ids (B, S) or None)`` -> hidden states (B, >= P, D) whose
    last P positions are the tokens'; with the prompt cache only those P are returned.

    ``kv_cache`` (:class:`layers.fast.prompt_cache.PromptKVCache`, with the ``lean`` LLaMA
    runner and ``onednn`` products) keeps the run-wide shared prompt prefix while the tokenizer
    pads on the right, no adapter was built into the backbone and no backbone dropout is active;
    otherwise the whole prompt runs per batch, still under no_grad and still exact. Then, in
    evaluation (backbone in eval mode, no grad), it also keeps up to ``store_bytes`` of the
    batches' prompt keys/values between passes (``--prompt_store_mb``).
    ``prompt_cache`` may be switched at any time (tests compare the two ways).
    """

    def __init__(self, llm: nn.Module, tokenizer, is_causal: bool, prompt_cache: bool,
                 lean: bool = True, onednn: bool = True, store_bytes: int = 0):
        super().__init__(llm)
        self.call_kwargs = {"use_cache": False} if is_causal else {}
        self.tokenizer = tokenizer
        self.prompt_cache = prompt_cache
        self.kv_cache = PromptKVCache(lean=lean, onednn=onednn, store_bytes=store_bytes)
        self._has_dropout = has_dropout(llm)
        self._adapters = any(p.requires_grad for p in llm.parameters())
        self._cache_off_said = False

    def __call__(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        if prompt_ids is None or not self.prompt_cache:
            return super().__call__(tokens, prompt_ids)
        if backbone_trains(self.llm):
            self._say_cache_off_once()
            return super().__call__(tokens, prompt_ids)
        shared = (self.tokenizer.padding_side == "right" and not self._adapters
                  and not (self.llm.training and self._has_dropout))
        tokens = tokens.to(self.llm.get_input_embeddings().weight.dtype)
        evaluating = not self.llm.training and not torch.is_grad_enabled()
        return self.kv_cache.hidden_states(self.llm, prompt_ids, tokens, shared=shared,
                                           store=evaluating)

    def _say_cache_off_once(self) -> None:
        if not self._cache_off_said:
            self._cache_off_said = True
            warnings.warn("prompt cache: adapters on the backbone train, so the prompt runs with the "
                          "patches in training (outputs unchanged); evaluation still uses the cache",
                          stacklevel=4)
