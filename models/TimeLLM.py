"""Time-LLM (Jin et al., ICLR 2024): forecasting by reprogramming a frozen LLM (docs/REFERENCE.md 3).

RevIN -> prompt statistics and text -> patch embedding -> reprogramming onto text prototypes ->
frozen LLM over [prompt ; patches] -> first d_ff channels of the patch positions -> flatten head
-> de-normalise. Module names follow the reference, so a reference state_dict loads strictly.

The computation is written once, here. Each part comes from the run's options object
(``layers.fast.options``): the reference's implementations in ``layers/`` (the plain path, the
runnable specification) or the faster exact ones in ``layers/fast/`` (the default; its package
docstring lists them). Outputs and gradients agree to float rounding (tests: 1e-5).
``configs.mapping_vocab`` K > 0 is a labelled non-exact option (prototypes from the K lowest
token ids only). Sections carry ``torch.profiler.record_function`` labels ``timellm.*`` for
``bench/bench_timellm.py``. ``--ablation`` swaps parts (``models.ablations``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.profiler import record_function

from layers.Embed import PatchEmbedding, patch_count
from layers.StandardNorm import Normalize
from layers.backbones import backbone_from_configs, with_prompt
from layers.fast.options import options_from_configs
from layers.peft_adapters import apply_peft, peft_identity
from layers.prompt import fit_description, resolve_description
from layers.reprogramming import FlattenHead
from models.ablations import get_ablation
from utils.errors import ConfigError

_TASKS = ("long_term_forecast", "short_term_forecast")


def _no_llm(tokens: torch.Tensor, prompt_ids: torch.Tensor | None) -> torch.Tensor:
    """Ablation: no LLM; the reprogrammed patches go to the head."""
    return tokens


class Model(nn.Module):
    """Time-LLM. forward(x_enc (B, T, N), x_mark_enc, x_dec, x_mark_dec) -> (B, pred_len, N).

    Only the marks-free input matters (the reference ignores the marks and the decoder input).
    """

    channel_independent = True
    reference_lr_quirk = True

    @staticmethod
    def setting_suffix(args) -> str:
        """An ablation gets its own results and checkpoint folders (``_no_llm``, ...)."""
        return "" if args.ablation == "none" else f"_{args.ablation}"

    def __init__(self, configs):
        super().__init__()
        self.task_name = configs.task_name
        if self.task_name not in _TASKS:
            raise ConfigError(f"TimeLLM supports task_name {' | '.join(_TASKS)}, got '{self.task_name}'")
        self.pred_len = configs.pred_len
        self.seq_len = configs.seq_len
        self.d_ff = configs.d_ff
        self.patch_len = configs.patch_len
        self.stride = configs.stride
        self.ablation = get_ablation(configs.ablation)
        self.options = options_from_configs(configs)
        self.fast_path = self.options.enabled

        backbone = backbone_from_configs(configs, random_init=self.ablation.llm == "random",
                                         reference_outputs=self.options.reference_outputs)
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
        self.description = fit_description(self.tokenizer, resolve_description(configs), self.pred_len,
                                           self.seq_len) if self.ablation.prompt else ""
        self.prompter = self.options.prompt_ids(self.tokenizer, self.description, self.pred_len,
                                                self.seq_len)

        # the modules in the reference's order (the same random draws for the same seed)
        self.patch_embedding = PatchEmbedding(configs.d_model, self.patch_len, self.stride,
                                              configs.dropout)
        # A registered alias of the frozen embedding table, as in the reference (its state_dict has it).
        self.word_embeddings = self.llm_model.get_input_embeddings().weight
        self.vocab_size = self.word_embeddings.shape[0]
        self.num_tokens = int(configs.num_tokens)
        self.mapping_vocab = int(configs.mapping_vocab)
        if not 0 <= self.mapping_vocab <= self.vocab_size:
            raise ConfigError(f"mapping_vocab {self.mapping_vocab} is outside 0..{self.vocab_size} "
                              "(the backbone's vocabulary); 0 maps the full vocabulary (exact)")
        if self.ablation.reprogramming:
            self.mapping_layer = self.options.mapping_layer(self.mapping_vocab or self.vocab_size,
                                                            self.num_tokens)
            self.reprogramming_layer = self.options.reprogramming_layer(
                configs.d_model, configs.n_heads, self.d_ff, self.d_llm)
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
            # the final norm that every backbone it stands in for ends with (docs/ABLATIONS.md)
            self.self_attention_norm = nn.LayerNorm(self.d_llm)

        self.patch_nums = patch_count(configs.seq_len, self.patch_len, self.stride)
        self.head_nf = self.d_ff * self.patch_nums
        self.output_projection = FlattenHead(configs.enc_in, self.head_nf, self.pred_len,
                                             head_dropout=configs.dropout)
        self.normalize_layers = Normalize(configs.enc_in, affine=False)

        self.prototype_source = self.options.prototype_source()
        self.llm_runner = self.options.llm_runner(
            self.llm_model, self.tokenizer, self.is_causal,
            cacheable=self.ablation.prompt and self.ablation.uses_backbone)
        # what runs where the LLM sits, per ablation llm kind (models/ablations.py)
        self._middle = {"pretrained": self.llm_runner, "random": self.llm_runner,
                        "attention_layer": self._run_attention_layer,
                        "self_attention": self._run_self_attention,
                        "none": _no_llm}[self.ablation.llm]

    # ---- public helpers -------------------------------------------------------------------
    def trainable_parameters(self) -> int:
        """Number of trainable (requires_grad) parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def identity(self) -> dict:
        """What a checkpoint must match besides the trainable weights: backbone and ablation."""
        return {"backbone": dict(self.backbone_identity), "ablation": self.ablation.name}

    def train(self, mode: bool = True):
        if mode:  # a later evaluation is a new pass: nothing computed in this one is reused
            self.prototype_source.clear()
        return super().train(mode)

    @property
    def prompt_cache(self) -> bool:
        """Whether the prompt runs as a no-grad KV cache (fast path, causal backbone, a prompt
        and an LLM after it); may be switched off and on (tests compare the two ways)."""
        return self.llm_runner.prompt_cache

    @prompt_cache.setter
    def prompt_cache(self, on: bool) -> None:
        self.llm_runner.prompt_cache = bool(on)

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
        hidden = self._middle(tokens, prompt_ids)                 # (B*N, >= P, >= d_ff)

        with record_function("timellm.head"):
            head = self.output_projection.linear.weight
            dec = self.options.head_input(hidden, n_vars, self.patch_nums, self.d_ff, head.dtype)
            out = self.output_projection(dec).permute(0, 2, 1).contiguous()  # (B, H, N)
        return self.normalize_layers(out, "denorm")

    def prompt_ids(self, series: torch.Tensor) -> torch.Tensor:
        """Token ids of each series' prompt, (B*N, S), right- or left-padded like the tokenizer."""
        return self.prompter(series)

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
        return self.prototype_source.prototypes(self.mapping_layer, self.mapped_table())

    def _source_kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What the reprogramming layer needs of the prototypes (the prototype source's
        ``keys_values``; the fast path keeps them for an evaluation pass)."""
        return self.prototype_source.keys_values(self.mapping_layer, self.reprogramming_layer,
                                                 self.mapped_table())

    @property
    def _source(self) -> tuple | None:
        """The prototype tensors kept for the current evaluation pass, or None (tests read it;
        assigning None forgets them)."""
        return self.prototype_source.cached

    @_source.setter
    def _source(self, value: None) -> None:
        if value is not None:
            raise ValueError("only None can be assigned: the kept prototype tensors are forgotten")
        self.prototype_source.clear()

    @property
    def _kv_cache(self):
        """The fast runner's prompt KV cache (``layers.fast.prompt_cache.PromptKVCache``; tests
        and benchmarks read its statistics)."""
        return self.llm_runner.kv_cache

    def _reprogram(self, patches: torch.Tensor) -> torch.Tensor:
        """(B*N, P, d_model) -> (B*N, P, D)."""
        if not self.ablation.reprogramming:
            with record_function("timellm.reprogramming"):
                return self.patch_projection(patches)
        source = self._source_kv()
        with record_function("timellm.reprogramming"):
            return self.prototype_source.attend(self.reprogramming_layer, patches, source)

    def _with_prompt(self, tokens: torch.Tensor, prompt_ids: torch.Tensor | None,
                     dtype: torch.dtype) -> torch.Tensor:
        """[prompt embeddings ; tokens] in ``dtype``, (B*N, S + P, D); the tokens alone without a prompt."""
        return with_prompt(self.llm_model.get_input_embeddings(), prompt_ids, tokens, dtype)

    def _run_attention_layer(self, tokens: torch.Tensor,
                             prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation: one trainable Transformer encoder layer over [prompt ; tokens]."""
        with record_function("timellm.llm"):
            return self.attention_layer(self._with_prompt(tokens, prompt_ids,
                                                          self.attention_layer.linear1.weight.dtype))

    def _run_self_attention(self, tokens: torch.Tensor,
                            prompt_ids: torch.Tensor | None) -> torch.Tensor:
        """Ablation (LLM2Attn): one trainable multi-head self-attention over [prompt ; tokens],
        (B*N, S + P, D) -> (B*N, S + P, D): softmax(Q K^T / sqrt(D / heads)) V, the output
        projection, then a LayerNorm (the backbone's final norm); no feed-forward or residual."""
        with record_function("timellm.llm"):
            inputs = self._with_prompt(tokens, prompt_ids, self.self_attention.in_proj_weight.dtype)
            mixed = self.self_attention(inputs, inputs, inputs, need_weights=False)[0]
            return self.self_attention_norm(mixed)
