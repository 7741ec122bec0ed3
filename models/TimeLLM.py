"""Time-LLM (Jin et al., ICLR 2024): forecasting by reprogramming a frozen LLM (REFERENCE.md 3).

RevIN -> prompt statistics and text -> patch embedding -> reprogramming onto text prototypes ->
frozen LLM over [prompt ; patches] -> first d_ff channels of the patch positions -> flatten head
-> de-normalise. Module names follow the reference, so a reference state_dict loads strictly.

Two computations of the same numbers (``configs.fast_path``, ``--fast_path``):

- fast (default), every exact speed-up: vectorised prompt statistics and one cached batch
  tokenisation (``layers.prompt_cache.TokenizerCache``); for causal backbones the prompt runs as a
  no-grad KV cache whose run-wide shared prefix is computed once (``--prompt_cache``,
  ``layers.prompt_cache``), through a lean runner of the same layers for LLaMA-family backbones
  (grouped-query attention without repeated keys/values, oneDNN products with fused epilogues:
  ``layers.llama_lean``, ``layers.onednn``); SDPA attention without attention maps or hidden
  states elsewhere; the mapping layer as one hand-written GEMM forward and one weight-gradient
  GEMM backward over a weight kept in the faster layout (``layers.mapping``); in evaluation the
  prototypes and their reprogramming keys/values computed once per pass.
- plain (``--fast_path 0``), the reference's computation, for honest comparisons: its prompt
  code (per-series loop), a tokenizer call per batch, ``nn.Linear`` on the transposed table every
  batch (also in evaluation), eager attention storing every attention map and hidden state, the
  whole [prompt ; patches] sequence through the LLM, the reference's head slicing.

Outputs and gradients agree to float rounding (tests: 1e-5). ``configs.mapping_vocab`` K > 0 is
a labelled non-exact option (prototypes from the K lowest token ids only). Sections carry
``torch.profiler.record_function`` labels ``timellm.*`` for ``bench/bench_timellm.py``.
``--ablation`` swaps parts (``models.ablations``).
"""
from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.profiler import record_function

from layers.Embed import PatchEmbedding, patch_count
from layers.Reprogramming import FlattenHead, ReprogrammingLayer
from layers.StandardNorm import Normalize
from layers.backbones import backbone_from_configs, fast_path_of
from layers.mapping import MappingLayer
from layers.peft_adapters import apply_peft, peft_identity
from layers.prompt import build_prompts, prompt_statistics, reference_prompts, resolve_description
from layers.prompt_cache import PromptKVCache, TokenizerCache, autocast_key, has_dropout
from models.ablations import get_ablation
from utils.errors import ConfigError

_TASKS = ("long_term_forecast", "short_term_forecast")


def _dtype_of(configs) -> torch.dtype:
    dtype = getattr(configs, "dtype", None) or torch.float32
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.replace("torch.", ""), None)
    if not isinstance(dtype, torch.dtype):
        raise ConfigError(f"dtype {getattr(configs, 'dtype', None)!r} is not a torch dtype name")
    return dtype


class Model(nn.Module):
    """Time-LLM. forward(x_enc (B, T, N), x_mark_enc, x_dec, x_mark_dec) -> (B, pred_len, N).

    Only the marks-free input matters (the reference ignores the marks and the decoder input).
    """

    channel_independent = True
    reference_lr_quirk = True
    # what runs where the LLM sits, per ablation llm kind (models/ablations.py)
    _MIDDLE = {"pretrained": "_run_llm", "random": "_run_llm",
               "attention_layer": "_run_attention_layer", "self_attention": "_run_self_attention",
               "none": "_run_nothing"}

    def __init__(self, configs):
        super().__init__()
        self.task_name = getattr(configs, "task_name", "long_term_forecast")
        if self.task_name not in _TASKS:
            raise ConfigError(f"TimeLLM supports task_name {' | '.join(_TASKS)}, got '{self.task_name}'")
        self.pred_len = configs.pred_len
        self.seq_len = configs.seq_len
        self.d_ff = configs.d_ff
        self.top_k = 5
        self.patch_len = configs.patch_len
        self.stride = configs.stride
        self.ablation = get_ablation(getattr(configs, "ablation", None))
        self.fast_path = fast_path_of(configs)

        backbone = backbone_from_configs(configs, dtype=_dtype_of(configs),
                                         random_init=self.ablation.llm == "random")
        # --peft lora: adapters on the backbone (its base weights stay frozen)
        self.llm_model = apply_peft(backbone.model, backbone.family, configs)
        self.tokenizer = backbone.tokenizer
        self.d_llm = backbone.llm_dim
        self.is_causal = backbone.is_causal
        self.backbone_identity: dict = dict(backbone.identity)
        if self.llm_model is not backbone.model:
            self.backbone_identity["peft"] = peft_identity(configs, self.llm_model)
        if self.d_ff > self.d_llm:
            raise ConfigError(f"d_ff {self.d_ff} exceeds the backbone's hidden size {self.d_llm}: "
                              "Time-LLM keeps the first d_ff hidden channels; lower --d_ff")
        self.description = resolve_description(configs) if self.ablation.prompt else ""

        self.patch_embedding = PatchEmbedding(configs.d_model, self.patch_len, self.stride,
                                              configs.dropout)
        # A registered alias of the frozen embedding table, as in the reference (its state_dict has it).
        self.word_embeddings = self.llm_model.get_input_embeddings().weight
        self.vocab_size = self.word_embeddings.shape[0]
        self.num_tokens = int(getattr(configs, "num_tokens", None) or 1000)
        self.mapping_vocab = int(getattr(configs, "mapping_vocab", 0) or 0)
        if not 0 <= self.mapping_vocab <= self.vocab_size:
            raise ConfigError(f"mapping_vocab {self.mapping_vocab} is outside 0..{self.vocab_size} "
                              "(the backbone's vocabulary); 0 maps the full vocabulary (exact)")
        if self.ablation.reprogramming:
            mapped = self.mapping_vocab or self.vocab_size
            self.mapping_layer = (MappingLayer(mapped, self.num_tokens) if self.fast_path
                                  else nn.Linear(mapped, self.num_tokens))
            self.reprogramming_layer = ReprogrammingLayer(configs.d_model, configs.n_heads,
                                                          self.d_ff, self.d_llm)
        else:
            self.patch_projection = nn.Linear(configs.d_model, self.d_llm)
        if self.ablation.llm == "attention_layer":
            self.attention_layer = nn.TransformerEncoderLayer(
                d_model=self.d_llm, nhead=int(self.llm_model.config.num_attention_heads),
                dim_feedforward=4 * self.d_llm, dropout=configs.dropout, activation="gelu",
                batch_first=True)
        if self.ablation.llm == "self_attention":
            self.self_attention = nn.MultiheadAttention(
                self.d_llm, int(self.llm_model.config.num_attention_heads), dropout=configs.dropout,
                batch_first=True)

        self.patch_nums = patch_count(configs.seq_len, self.patch_len, self.stride)
        self.head_nf = self.d_ff * self.patch_nums
        self.output_projection = FlattenHead(configs.enc_in, self.head_nf, self.pred_len,
                                             head_dropout=configs.dropout)
        self.normalize_layers = Normalize(configs.enc_in, affine=False)

        self.prompt_cache = (self.fast_path and bool(int(getattr(configs, "prompt_cache", 1)))
                             and self.is_causal and self.ablation.prompt
                             and self.ablation.llm in ("pretrained", "random"))
        self._tokens = TokenizerCache(self.tokenizer)
        self._kv_cache = PromptKVCache()
        self._llm_has_dropout = has_dropout(self.llm_model)
        self._adapters = any(p.requires_grad for p in self.llm_model.parameters())
        self._source: tuple | None = None  # (key, (keys, values)) of the prototypes, evaluation only

    # ---- public helpers -------------------------------------------------------------------
    def trainable_parameters(self) -> int:
        """Number of trainable (requires_grad) parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def identity(self) -> dict:
        """What a checkpoint must match besides the trainable weights: backbone and ablation."""
        return {"backbone": dict(self.backbone_identity), "ablation": self.ablation.name}

    def train(self, mode: bool = True):
        if mode:
            self._source = None
        return super().train(mode)

    # ---- forward --------------------------------------------------------------------------
    def forward(self, x_enc: torch.Tensor, x_mark_enc: torch.Tensor | None = None,
                x_dec: torch.Tensor | None = None, x_mark_dec: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.forecast(x_enc)[:, -self.pred_len:, :]

    def forecast(self, x_enc: torch.Tensor) -> torch.Tensor:
        """x_enc (B, T, N) -> (B, pred_len, N)."""
        x = self.normalize_layers(x_enc, "norm")
        B, T, N = x.shape
        series = x.permute(0, 2, 1).contiguous().reshape(B * N, T, 1)
        prompt_ids = None
        if self.ablation.prompt:
            with record_function("timellm.prompt"):
                prompt_ids = self.prompt_ids(series)

        with record_function("timellm.patch_embedding"):
            weight = self.patch_embedding.value_embedding.tokenConv.weight
            patches, n_vars = self.patch_embedding(series.reshape(B, N, T).to(weight.dtype))
        tokens = self._reprogram(patches)                         # (B*N, P, D)
        middle = getattr(self, self._MIDDLE[self.ablation.llm])
        hidden = middle(tokens, prompt_ids)                       # (B*N, >= P, >= d_ff)

        with record_function("timellm.head"):
            head = self.output_projection.linear.weight
            if self.fast_path:
                dec = hidden[:, -self.patch_nums:, :self.d_ff].to(head.dtype)
                dec = dec.reshape(B, n_vars, self.patch_nums, self.d_ff).permute(0, 1, 3, 2).contiguous()
                out = self.output_projection(dec)
            else:  # the reference: slice channels of every position, copy, then keep the patches
                dec = hidden[:, :, :self.d_ff]
                dec = torch.reshape(dec, (-1, n_vars, dec.shape[-2], dec.shape[-1]))
                dec = dec.permute(0, 1, 3, 2).contiguous()
                out = self.output_projection(dec[:, :, :, -self.patch_nums:].to(head.dtype))
            out = out.permute(0, 2, 1).contiguous()               # (B, H, N)
        return self.normalize_layers(out, "denorm")

    def prompt_ids(self, series: torch.Tensor) -> torch.Tensor:
        """Token ids of each series' prompt, (B*N, S), right- or left-padded like the tokenizer."""
        if self.fast_path:
            prompts = build_prompts(self.description, self.pred_len, self.seq_len,
                                    prompt_statistics(series, self.top_k))
            return self._tokens(prompts).to(series.device)
        prompts = reference_prompts(series, self.description, self.pred_len, self.seq_len,
                                    self.top_k)
        return self.tokenizer(prompts, return_tensors="pt", padding=True, truncation=True,
                              max_length=2048).input_ids.to(series.device)

    def mapped_table(self) -> torch.Tensor:
        """The rows of the frozen word-embedding table the mapping layer maps, (V or K, D)."""
        if self.mapping_vocab:
            return self.word_embeddings[:self.mapping_vocab]
        return self.word_embeddings

    def text_prototypes(self) -> torch.Tensor:
        """(num_tokens, D): the mapping layer applied to the transposed word-embedding table.

        ``configs.mapping_vocab`` K > 0 (NOT exact, opt-in): only the first K rows of the table,
        i.e. the K lowest token ids. Byte-level BPE tokenizers (LLaMA/SmolLM2, GPT-2) number their
        merges in the order they were learnt, which is by frequency in the tokenizer's training
        text, so low ids are the frequent tokens (after the special and byte tokens); a tokenizer
        that ships no frequency counts gives no better ranking. WordPiece (BERT) starts with
        ~1000 ``[unusedN]`` placeholders, so pick K well above that there.
        """
        table = self.mapped_table()
        if self.fast_path:
            return self.mapping_layer.prototypes(table)
        weight = self.mapping_layer.weight
        return self.mapping_layer(table.permute(1, 0).to(weight.dtype)).permute(1, 0)

    def _source_kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What the reprogramming layer needs of the prototypes.

        Plain path: keys and values, (S, H, E) each (``ReprogrammingLayer.project_source``).
        Fast path: score maps (H, d_model + 1, S) and values (H, S, E)
        (``ReprogrammingLayer.fast_source``); in evaluation (not training, no grad) they are
        computed once per pass: the cache key holds the versions and storage of every tensor
        they depend on, so an optimiser step, a reload or an in-place edit recomputes them.
        """
        layer = self.reprogramming_layer
        reuse = self.fast_path and not self.training and not torch.is_grad_enabled()
        if reuse:
            tensors = (self.mapping_layer.weight, self.mapping_layer.bias, self.word_embeddings,
                       layer.query_projection.weight, layer.query_projection.bias,
                       layer.key_projection.weight, layer.key_projection.bias,
                       layer.value_projection.weight, layer.value_projection.bias)
            key = (tuple((t._version, t.data_ptr(), t.dtype, t.device) for t in tensors),
                   self.mapping_vocab, autocast_key(self.word_embeddings.device))
            if self._source is not None and self._source[0] == key:
                return self._source[1]
        with record_function("timellm.mapping"):
            source = self.text_prototypes()
        with record_function("timellm.reprogramming"):
            project = layer.fast_source if self.fast_path else layer.project_source
            kv = project(source, source)
        self._source = (key, kv) if reuse else None
        return kv

    def _reprogram(self, patches: torch.Tensor) -> torch.Tensor:
        """(B*N, P, d_model) -> (B*N, P, D)."""
        if not self.ablation.reprogramming:
            with record_function("timellm.reprogramming"):
                return self.patch_projection(patches)
        source = self._source_kv()
        with record_function("timellm.reprogramming"):
            attend = (self.reprogramming_layer.attend_fast if self.fast_path
                      else self.reprogramming_layer.attend)
            return attend(patches, *source)

    def _prompt_embeddings(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        return self.llm_model.get_input_embeddings()(prompt_ids)

    def _run_llm(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """The frozen LLM over [prompt ; tokens]; hidden states of the token positions."""
        tokens = tokens.to(self.word_embeddings.dtype)
        if prompt_ids is not None and self.prompt_cache and self._backbone_trains():
            self._say_cache_off_once()
        if prompt_ids is not None and self.prompt_cache and not self._backbone_trains():
            # the run-wide prefix is reused across batches: only valid while no backbone weight trains
            shared = (self.tokenizer.padding_side == "right" and not self._adapters
                      and not (self.llm_model.training and self._llm_has_dropout))
            return self._kv_cache.hidden_states(self.llm_model, prompt_ids, tokens, shared=shared)
        with record_function("timellm.llm"):
            inputs = tokens
            if prompt_ids is not None:
                inputs = torch.cat([self._prompt_embeddings(prompt_ids), tokens], dim=1)
            if not self.fast_path:  # the reference's call: the config's defaults (maps, states, cache)
                return self.llm_model(inputs_embeds=inputs).last_hidden_state
            extra = {"use_cache": False} if self.is_causal else {}
            return self.llm_model(inputs_embeds=inputs, **extra).last_hidden_state

    def _say_cache_off_once(self) -> None:
        if not getattr(self, "_cache_off_said", False):
            self._cache_off_said = True
            warnings.warn("prompt cache: adapters on the backbone train, so the prompt runs with the "
                          "patches in training (outputs unchanged); evaluation still uses the cache",
                          stacklevel=3)

    def _backbone_trains(self) -> bool:
        """Whether gradients reach backbone weights (adapters such as LoRA): then the prompt
        depends on trained weights and must run with the patches, not as a no-grad cache."""
        return torch.is_grad_enabled() and any(p.requires_grad for p in self.llm_model.parameters())

    def _run_attention_layer(self, tokens: torch.Tensor,
                             prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation: one trainable Transformer encoder layer over [prompt ; tokens]."""
        with record_function("timellm.llm"):
            return self.attention_layer(self._with_prompt(tokens, prompt_ids,
                                                          self.attention_layer.linear1.weight.dtype))

    def _run_self_attention(self, tokens: torch.Tensor,
                            prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation (LLM2Attn): one trainable multi-head self-attention over [prompt ; tokens],
        (B*N, S + P, D) -> (B*N, S + P, D): softmax(Q K^T / sqrt(D / heads)) V, then the output
        projection; no feed-forward, norm or residual."""
        with record_function("timellm.llm"):
            inputs = self._with_prompt(tokens, prompt_ids, self.self_attention.in_proj_weight.dtype)
            return self.self_attention(inputs, inputs, inputs, need_weights=False)[0]

    def _with_prompt(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None,
                     dtype: torch.dtype) -> torch.Tensor:
        """[prompt embeddings ; tokens] in ``dtype``, (B*N, S + P, D); the tokens alone without a prompt."""
        inputs = tokens.to(dtype)
        if prompt_ids is None:
            return inputs
        return torch.cat([self._prompt_embeddings(prompt_ids).to(dtype), inputs], dim=1)

    @staticmethod
    def _run_nothing(tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation: no LLM; the reprogrammed patches go to the head."""
        return tokens
