"""Tiny random backbones of many architectures with real tokenizers, saved as Hugging Face folders.

Each folder loads through ``--llm_path`` (the architecture from its config, ``--llm_model auto``
or a shortcut name). :data:`TINY` lists the architectures: llama, mistral, qwen2, qwen3, gemma,
gemma2, gemma3_text, phi3, gpt_neox, gpt2, opt (decoders) and bert, distilbert, roberta
(encoders), each built from a config alone (no downloads). The tokenizers are trained in
milliseconds with the ``tokenizers`` library on Time-LLM prompts, so every prompt character is
covered: byte-level BPE, with a BOS added like LLaMA's where the architecture has one (RoBERTa's
wraps the text in <s> ... </s>, with a '<pad>' of its own); WordPiece for bert and distilbert
([CLS] ... [SEP], no EOS, so the loader pads with '[PAD]'). The session fixtures ``tiny_dirs``
and ``tiny_zoo`` (``tests/conftest.py``) build them once.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from layers.prompt import DEFAULT_DESCRIPTION

_SAMPLE_STATS = [
    ("-1.7320508075688772", "2.1234567165374756", "0.05000000074505806", "upward", "[0, 24, 1, 23, 48]"),
    ("-0.3", "0.98765432", "-0.012345678", "downward", "[0, 12, 11, 13, 2]"),
    ("-2.5e-05", "3.75", "1.0", "upward", "[0, 7, 14, 21, 28]"),
]


def training_texts() -> list[str]:
    """Prompt-like texts covering digits, letters and punctuation."""
    texts = []
    for lo, hi, med, trend, lags in _SAMPLE_STATS:
        texts.append(
            f"<|start_prompt|>Dataset description: {DEFAULT_DESCRIPTION}Task description: forecast "
            f"the next 96 steps given the previous 512 steps information; Input statistics: min "
            f"value {lo}, max value {hi}, median value {med}, the trend of input is {trend}, top 5 "
            f"lags are : {lags}<|<end_prompt>|>")
    texts.append("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()[]{}<>|-+=_/\\*&^%$#@~`")
    return texts


def _bpe_tokenizer(bos: str | None, eos: str, unk: str | None, pad: str | None = None,
                   wrap: bool = False, vocab_size: int = 400):
    """Byte-level BPE: ``bos`` before the text (and ``eos`` after it with ``wrap``, RoBERTa's
    ``<s> ... </s>``); ``pad`` a pad token of its own (else the loader pads with EOS)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # RoBERTa's ids with a pad (<s> 0, <pad> 1, </s> 2, <unk> 3), else unk, bos, eos first
    specials = [t for t in ((bos, pad, eos, unk) if pad else (unk, bos, eos)) if t]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(training_texts(), trainer)
    if bos:
        single = f"{bos} $A {eos}" if wrap else f"{bos} $A"
        ids = [(t, tok.token_to_id(t)) for t in ((bos, eos) if wrap else (bos,))]
        tok.post_processor = processors.TemplateProcessing(single=single, special_tokens=ids)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk,
                                   pad_token=pad)


def _wordpiece_tokenizer(vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials,
                                        show_progress=False)
    tok.train_from_iterator(training_texts(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def _decoder(hidden: int, layers: int, dropout: float, **extra):
    """Config keywords shared by the LLaMA-like decoders (4 heads, 2 key/value heads)."""
    return dict(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                attention_dropout=dropout, **extra)


# model_type -> (tokenizer kind, config keywords (hidden, layers, dropout) -> dict)
TINY: dict[str, tuple[str, object]] = {
    "llama": ("bpe_bos", lambda h, n, d: _decoder(h, n, d)),
    "mistral": ("bpe_bos", lambda h, n, d: _decoder(h, n, d, sliding_window=None)),
    "qwen2": ("bpe", lambda h, n, d: _decoder(h, n, d)),
    # query/key RMSNorms per head (the lean runner has none: it must refuse Qwen3)
    "qwen3": ("bpe", lambda h, n, d: _decoder(h, n, d, head_dim=h // 4)),
    # embeddings scaled by sqrt(hidden), (1 + weight) RMSNorms, GELU MLP
    "gemma": ("bpe_bos", lambda h, n, d: _decoder(h, n, d, head_dim=h // 4)),
    # a sliding window shorter than the prompt, on every other layer (Gemma-2's pattern)
    "gemma2": ("bpe_bos", lambda h, n, d: _decoder(h, n, d, head_dim=h // 4, sliding_window=16,
                                                  query_pre_attn_scalar=h // 4)),
    # Gemma-3: a sliding-window layer (window 16, shorter than the prompt, its own rotary base)
    # then a global one, query/key norms, scaled embeddings
    "gemma3_text": ("bpe_bos", lambda h, n, d: _decoder(
        h, n, d, head_dim=h // 4, query_pre_attn_scalar=h // 4, sliding_window=16,
        layer_types=["sliding_attention", "full_attention"] * (n // 2) + ["sliding_attention"] * (n % 2))),
    "phi3": ("bpe_bos", lambda h, n, d: _decoder(h, n, d, resid_pdrop=d, embd_pdrop=d,
                                                pad_token_id=None)),
    "gpt_neox": ("bpe", lambda h, n, d: dict(hidden_size=h, intermediate_size=2 * h,
                                            num_hidden_layers=n, num_attention_heads=4,
                                            max_position_embeddings=1024, rotary_pct=0.5,
                                            attention_dropout=d, hidden_dropout=d)),
    "gpt2": ("bpe", lambda h, n, d: dict(n_embd=h, n_layer=n, n_head=4, n_positions=1024,
                                        resid_pdrop=d, embd_pdrop=d, attn_pdrop=d)),
    "opt": ("bpe_bos", lambda h, n, d: dict(hidden_size=h, ffn_dim=2 * h, num_hidden_layers=n,
                                           num_attention_heads=4, max_position_embeddings=1024,
                                           word_embed_proj_dim=h, dropout=d,
                                           attention_dropout=d)),
    "bert": ("wordpiece", lambda h, n, d: dict(hidden_size=h, num_hidden_layers=n,
                                              num_attention_heads=4, intermediate_size=2 * h,
                                              max_position_embeddings=1024,
                                              hidden_dropout_prob=d,
                                              attention_probs_dropout_prob=d)),
    "distilbert": ("wordpiece", lambda h, n, d: dict(dim=h, n_layers=n, n_heads=4,
                                                    hidden_dim=2 * h, max_position_embeddings=1024,
                                                    dropout=d, attention_dropout=d)),
    # positions start after the pad id (padding_idx + 1 = 2), so 1024 + 2 position rows
    "roberta": ("bpe_roberta", lambda h, n, d: dict(hidden_size=h, num_hidden_layers=n,
                                                   num_attention_heads=4, intermediate_size=2 * h,
                                                   max_position_embeddings=1024 + 2,
                                                   hidden_dropout_prob=d,
                                                   attention_probs_dropout_prob=d)),
}
CAUSAL = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3",
          "gpt_neox", "gpt2", "opt")
ENCODERS = ("bert", "distilbert", "roberta")


def make_tokenizer(kind: str):
    if kind == "wordpiece":
        return _wordpiece_tokenizer()
    if kind == "bpe_bos":
        return _bpe_tokenizer("<s>", "</s>", "<unk>")
    if kind == "bpe_roberta":
        return _bpe_tokenizer("<s>", "</s>", "<unk>", pad="<pad>", wrap=True)
    return _bpe_tokenizer(None, "<|endoftext|>", None)


def build_tiny(family: str, folder: str | os.PathLike, hidden: int = 32, layers: int = 2,
               dropout: float = 0.0, seed: int = 0) -> str:
    """Save a tiny random model of architecture ``family`` (a key of :data:`TINY`, a
    ``model_type``) with its tokenizer in ``folder``; returns the folder."""
    from transformers import AutoConfig, AutoModel

    if family not in TINY:
        raise ValueError(f"unknown family {family!r}")
    kind, keywords = TINY[family]
    folder = Path(folder)
    torch.manual_seed(seed)
    tok = make_tokenizer(kind)
    special = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id}
    if kind == "wordpiece":
        special = {"pad_token_id": tok.pad_token_id}
    elif kind == "bpe_roberta":
        special["pad_token_id"] = tok.pad_token_id
    elif kind == "bpe":
        special = {"bos_token_id": tok.eos_token_id, "eos_token_id": tok.eos_token_id}
    config = AutoConfig.for_model(family, vocab_size=len(tok),
                                  **{**special, **keywords(hidden, layers, dropout)})
    model = AutoModel.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


# the architectures of the registry's shortcut names (tests/conftest.py's ``tiny_dirs``)
FAMILY_OF = {"LLAMA": "llama", "GPT2": "gpt2", "BERT": "bert"}
