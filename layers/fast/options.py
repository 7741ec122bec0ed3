"""Which implementation of each part of Time-LLM a model runs: the one options object.

:func:`options_from_configs` reads ``--fast_path`` and ``--prompt_cache`` once. ``--fast_path 0``
gives :class:`PlainPath`, the reference's computation (the runnable specification, for honest
comparisons); the default gives :class:`FastPath`, every exact speed-up of this package. Both are
frozen dataclasses with the same methods, one per part, so ``models/TimeLLM.py`` builds every
part through them and runs it without knowing which it got:

| part | plain (``layers/``) | fast (``layers/fast/``) |
|---|---|---|
| backbone loading | eager attention, maps and states stored | SDPA, nothing stored |
| prompt ids | ``prompt.PromptIds`` | ``fast.prompt.FastPromptIds`` |
| mapping layer | ``nn.Linear(V, M)`` | ``fast.mapping.MappingLayer`` |
| reprogramming | ``reprogramming.ReprogrammingLayer`` | ``fast.reprogramming.FastReprogrammingLayer`` |
| prototype keys/values | ``reprogramming.PrototypeSource`` | ``fast.reprogramming.FastPrototypeSource`` |
| the backbone's pass | ``backbones.BackboneRunner`` | ``fast.backbones.FastBackboneRunner`` |
| head input | ``reprogramming.head_input`` | ``fast.reprogramming.head_input`` |

Both compute the same numbers up to float rounding (tests: 1e-5); parameter names, initial
values and checkpoints are the same, so a checkpoint moves between them.

Three modules outside this package read ``--fast_path`` themselves, for parts that are not
Time-LLM's; :data:`FAST_PATH_ELSEWHERE` lists them with what they choose, and a test
(``tests/test_imports.py``) fails when another module starts reading the flag without an entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from layers.backbones import BackboneRunner
from layers.fast.backbones import FastBackboneRunner
from layers.fast.mapping import MappingLayer
from layers.fast.prompt import FastPromptIds
from layers.fast.reprogramming import FastPrototypeSource, FastReprogrammingLayer
from layers.fast.reprogramming import head_input as fast_head_input
from layers.prompt import PromptIds
from layers.reprogramming import PrototypeSource, ReprogrammingLayer
from layers.reprogramming import head_input as plain_head_input


# module (from the repository root) -> what it decides from --fast_path
FAST_PATH_ELSEWHERE: dict[str, str] = {
    "models/TimesNet.py": "TimesNet's Inception blocks as one merged convolution "
                          "(layers/Conv_Blocks.py) instead of one per kernel size",
    "models/TimeLLM.py": "Model.fast_path: whether its options object is FastPath (read by callers)",
    "utils/optim.py": "fused optimiser kernels (one per step instead of several per tensor) when "
                      "DeepSpeed does not own the optimiser",
}


@dataclass(frozen=True)
class PlainPath:
    """The reference's computation (``--fast_path 0``)."""

    enabled: ClassVar[bool] = False
    reference_outputs: ClassVar[bool] = True  # the backbone stores attention maps and states

    def prompt_ids(self, tokenizer, description: str, pred_len: int, seq_len: int) -> PromptIds:
        return PromptIds(tokenizer, description, pred_len, seq_len)

    def mapping_layer(self, vocab: int, num_tokens: int) -> nn.Module:
        return nn.Linear(vocab, num_tokens)

    def reprogramming_layer(self, d_model: int, n_heads: int, d_keys: int,
                            d_llm: int) -> ReprogrammingLayer:
        return ReprogrammingLayer(d_model, n_heads, d_keys, d_llm)

    def prototype_source(self) -> PrototypeSource:
        return PrototypeSource()

    def llm_runner(self, llm: nn.Module, tokenizer, is_causal: bool,
                   cacheable: bool) -> BackboneRunner:
        """``cacheable``: whether the model's prompt could run as a KV cache (it has a prompt,
        and an LLM follows it); the plain path never caches."""
        return BackboneRunner(llm)

    def head_input(self, hidden: torch.Tensor, n_vars: int, patch_nums: int, d_ff: int,
                   dtype: torch.dtype) -> torch.Tensor:
        return plain_head_input(hidden, n_vars, patch_nums, d_ff, dtype)


@dataclass(frozen=True)
class FastPath(PlainPath):
    """Every exact speed-up (the default). ``prompt_cache`` (``--prompt_cache``): the prompt as a
    no-grad KV cache on causal backbones; ``lean_llama``: LLaMA-family cached passes through
    ``layers.fast.llama_lean``; ``onednn``: its products through ``layers.fast.onednn``;
    ``prompt_store_mb`` (``--prompt_store_mb``): evaluation batches' prompt keys/values kept
    between passes (``layers.fast.prompt_cache.PassStore``)."""

    enabled: ClassVar[bool] = True
    reference_outputs: ClassVar[bool] = False
    prompt_cache: bool = True
    lean_llama: bool = True
    onednn: bool = True
    prompt_store_mb: int = 0

    def prompt_ids(self, tokenizer, description: str, pred_len: int, seq_len: int) -> PromptIds:
        return FastPromptIds(tokenizer, description, pred_len, seq_len)

    def mapping_layer(self, vocab: int, num_tokens: int) -> nn.Module:
        return MappingLayer(vocab, num_tokens)

    def reprogramming_layer(self, d_model: int, n_heads: int, d_keys: int,
                            d_llm: int) -> ReprogrammingLayer:
        return FastReprogrammingLayer(d_model, n_heads, d_keys, d_llm)

    def prototype_source(self) -> PrototypeSource:
        return FastPrototypeSource()

    def llm_runner(self, llm: nn.Module, tokenizer, is_causal: bool,
                   cacheable: bool) -> BackboneRunner:
        return FastBackboneRunner(llm, tokenizer, is_causal,
                                  prompt_cache=self.prompt_cache and is_causal and cacheable,
                                  lean=self.lean_llama, onednn=self.onednn,
                                  store_bytes=self.prompt_store_mb * 2**20)

    def head_input(self, hidden: torch.Tensor, n_vars: int, patch_nums: int, d_ff: int,
                   dtype: torch.dtype) -> torch.Tensor:
        return fast_head_input(hidden, n_vars, patch_nums, d_ff, dtype)


def options_from_configs(configs) -> PlainPath:
    """:class:`FastPath` (with ``configs.prompt_cache`` and ``configs.prompt_store_mb``) unless
    ``configs.fast_path`` is 0."""
    if not int(configs.fast_path):
        return PlainPath()
    return FastPath(prompt_cache=bool(int(configs.prompt_cache)),
                    prompt_store_mb=int(configs.prompt_store_mb))
