"""Time-LLM (Jin et al., ICLR 2024): forecasting by reprogramming a frozen LLM (REFERENCE.md 3).

RevIN -> prompt statistics and text -> patch embedding -> reprogramming onto text prototypes ->
frozen LLM over [prompt ; patches] -> first d_ff channels of the patch positions -> flatten head
-> de-normalise. Module names follow the reference, so a reference state_dict loads strictly.

Beyond the reference: the backbone comes from ``layers.backbones`` (llm_dim derived, depth
checked, SDPA attention, the run's dtype); for causal backbones the prompt runs as an exact
no-grad KV cache (``--prompt_cache``, ``layers.prompt_cache``); the text prototypes are computed
once per evaluation pass; ``--ablation`` swaps parts (``models.ablations``).
"""
from __future__ import annotations

import torch
from torch import nn

from layers.Embed import PatchEmbedding, patch_count
from layers.Reprogramming import FlattenHead, ReprogrammingLayer
from layers.StandardNorm import Normalize
from layers.backbones import backbone_from_configs
from layers.prompt import build_prompts, prompt_statistics, resolve_description
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
               "attention_layer": "_run_attention_layer", "none": "_run_nothing"}

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

        backbone = backbone_from_configs(configs, dtype=_dtype_of(configs),
                                         random_init=self.ablation.llm == "random")
        self.llm_model = backbone.model
        self.tokenizer = backbone.tokenizer
        self.d_llm = backbone.llm_dim
        self.is_causal = backbone.is_causal
        self.backbone_identity: dict = dict(backbone.identity)
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
        if self.ablation.reprogramming:
            self.mapping_layer = nn.Linear(self.vocab_size, self.num_tokens)
            self.reprogramming_layer = ReprogrammingLayer(configs.d_model, configs.n_heads,
                                                          self.d_ff, self.d_llm)
        else:
            self.patch_projection = nn.Linear(configs.d_model, self.d_llm)
        if self.ablation.llm == "attention_layer":
            self.attention_layer = nn.TransformerEncoderLayer(
                d_model=self.d_llm, nhead=int(self.llm_model.config.num_attention_heads),
                dim_feedforward=4 * self.d_llm, dropout=configs.dropout, activation="gelu",
                batch_first=True)

        self.patch_nums = patch_count(configs.seq_len, self.patch_len, self.stride)
        self.head_nf = self.d_ff * self.patch_nums
        self.output_projection = FlattenHead(configs.enc_in, self.head_nf, self.pred_len,
                                             head_dropout=configs.dropout)
        self.normalize_layers = Normalize(configs.enc_in, affine=False)

        self.prompt_cache = (bool(int(getattr(configs, "prompt_cache", 1)))
                             and self.is_causal and self.ablation.prompt
                             and self.ablation.llm in ("pretrained", "random"))
        self._tokens = TokenizerCache(self.tokenizer)
        self._kv_cache = PromptKVCache()
        self._llm_has_dropout = has_dropout(self.llm_model)
        self._prototypes: tuple | None = None

    # ---- public helpers -------------------------------------------------------------------
    def trainable_parameters(self) -> int:
        """Number of trainable (requires_grad) parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def identity(self) -> dict:
        """What a checkpoint must match besides the trainable weights: backbone and ablation."""
        return {"backbone": dict(self.backbone_identity), "ablation": self.ablation.name}

    def train(self, mode: bool = True):
        if mode:
            self._prototypes = None
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
        prompt_ids = self.prompt_ids(series) if self.ablation.prompt else None

        weight = self.patch_embedding.value_embedding.tokenConv.weight
        patches, n_vars = self.patch_embedding(series.reshape(B, N, T).to(weight.dtype))
        tokens = self._reprogram(patches)                         # (B*N, P, D)
        middle = getattr(self, self._MIDDLE[self.ablation.llm])
        hidden = middle(tokens, prompt_ids)                       # (B*N, >= P, >= d_ff)

        head = self.output_projection.linear.weight
        dec = hidden[:, -self.patch_nums:, :self.d_ff].to(head.dtype)
        dec = dec.reshape(B, n_vars, self.patch_nums, self.d_ff).permute(0, 1, 3, 2).contiguous()
        out = self.output_projection(dec).permute(0, 2, 1).contiguous()   # (B, H, N)
        return self.normalize_layers(out, "denorm")

    def prompt_ids(self, series: torch.Tensor) -> torch.Tensor:
        """Token ids of each series' prompt, (B*N, S), right- or left-padded like the tokenizer."""
        prompts = build_prompts(self.description, self.pred_len, self.seq_len,
                                prompt_statistics(series, self.top_k))
        return self._tokens(prompts).to(series.device)

    def text_prototypes(self) -> torch.Tensor:
        """(num_tokens, D): the mapping layer applied to the transposed word-embedding table.

        Computed once per evaluation pass (not training and no grad), keyed on the weights'
        versions and storage, so any update or reload recomputes it.
        """
        weight, bias, table = self.mapping_layer.weight, self.mapping_layer.bias, self.word_embeddings
        reuse = not self.training and not torch.is_grad_enabled()
        if reuse:
            key = (weight._version, bias._version, table._version, weight.data_ptr(),
                   bias.data_ptr(), table.data_ptr(), weight.dtype, table.dtype, weight.device,
                   autocast_key(weight.device))
            if self._prototypes is not None and self._prototypes[0] == key:
                return self._prototypes[1]
        prototypes = self.mapping_layer(table.permute(1, 0).to(weight.dtype)).permute(1, 0)
        self._prototypes = (key, prototypes) if reuse else None
        return prototypes

    def _reprogram(self, patches: torch.Tensor) -> torch.Tensor:
        """(B*N, P, d_model) -> (B*N, P, D)."""
        if not self.ablation.reprogramming:
            return self.patch_projection(patches)
        source = self.text_prototypes()
        return self.reprogramming_layer(patches, source, source)

    def _prompt_embeddings(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        return self.llm_model.get_input_embeddings()(prompt_ids)

    def _run_llm(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """The frozen LLM over [prompt ; tokens]; hidden states of the token positions."""
        tokens = tokens.to(self.word_embeddings.dtype)
        if prompt_ids is None:
            inputs = tokens
        elif self.prompt_cache:
            shared = (self.tokenizer.padding_side == "right"
                      and not (self.llm_model.training and self._llm_has_dropout))
            return self._kv_cache.hidden_states(self.llm_model, prompt_ids, tokens, shared=shared)
        else:
            inputs = torch.cat([self._prompt_embeddings(prompt_ids), tokens], dim=1)
        extra = {"use_cache": False} if self.is_causal else {}
        return self.llm_model(inputs_embeds=inputs, **extra).last_hidden_state

    def _run_attention_layer(self, tokens: torch.Tensor,
                             prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation: one trainable Transformer encoder layer over [prompt ; tokens]."""
        dtype = self.attention_layer.linear1.weight.dtype
        inputs = tokens.to(dtype)
        if prompt_ids is not None:
            inputs = torch.cat([self._prompt_embeddings(prompt_ids).to(dtype), inputs], dim=1)
        return self.attention_layer(inputs)

    @staticmethod
    def _run_nothing(tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation: no LLM; the reprogrammed patches go to the head."""
        return tokens
