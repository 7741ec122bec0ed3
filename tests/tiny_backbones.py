"""Tiny random LLaMA / GPT-2 / BERT backbones with real tokenizers, saved as Hugging Face folders.

Each folder loads through ``--llm_path`` with ``--llm_model LLAMA | GPT2 | BERT``. The tokenizers
are trained in milliseconds with the ``tokenizers`` library on Time-LLM prompts, so every prompt
character is covered: byte-level BPE for LLaMA (adds a BOS like LLaMA's) and GPT-2, WordPiece for
BERT ([CLS] ... [SEP], no EOS, so the loader pads with '[PAD]').
"""
from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import torch

from layers.prompt import DEFAULT_DESCRIPTION
from tests.data_fixtures import make_args

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


def _bpe_tokenizer(bos: str | None, eos: str, unk: str | None, vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = [t for t in (unk, bos, eos) if t]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(training_texts(), trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk)


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


def build_tiny(family: str, folder: str | os.PathLike, hidden: int = 32, layers: int = 2,
               dropout: float = 0.0, seed: int = 0) -> str:
    """Save a tiny random ``family`` ('llama' | 'gpt2' | 'bert') model + tokenizer in ``folder``."""
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model, LlamaConfig, LlamaModel

    folder = Path(folder)
    torch.manual_seed(seed)
    if family == "llama":
        tok = _bpe_tokenizer("<s>", "</s>", "<unk>")
        config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                             num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=1024, attention_dropout=dropout,
                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                             pad_token_id=None)
        model = LlamaModel(config)
    elif family == "gpt2":
        tok = _bpe_tokenizer(None, "<|endoftext|>", None)
        config = GPT2Config(vocab_size=len(tok), n_embd=hidden, n_layer=layers, n_head=4,
                            n_positions=1024, resid_pdrop=dropout, embd_pdrop=dropout,
                            attn_pdrop=dropout, bos_token_id=tok.eos_token_id,
                            eos_token_id=tok.eos_token_id)
        model = GPT2Model(config)
    elif family == "bert":
        tok = _wordpiece_tokenizer()
        config = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=4, intermediate_size=2 * hidden,
                            max_position_embeddings=1024, hidden_dropout_prob=dropout,
                            attention_probs_dropout_prob=dropout, pad_token_id=tok.pad_token_id)
        model = BertModel(config)
    else:
        raise ValueError(f"unknown family {family!r}")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


FAMILY_OF = {"LLAMA": "llama", "GPT2": "gpt2", "BERT": "bert"}


def parser_args(**overrides) -> Namespace:
    """Every flag at the parser's default (as ``run_main.py`` builds them), then ``overrides``."""
    return Namespace(**{**vars(make_args()), **overrides})


def tiny_configs(llm_model: str, llm_path: str, **overrides) -> Namespace:
    """A Time-LLM ``configs`` for a tiny backbone (every other flag at the parser's default):
    short series, few prototypes, fast."""
    base = dict(
        task_name="long_term_forecast", model="TimeLLM", data="ETTh1", seq_len=32, label_len=8,
        pred_len=8, enc_in=1, dec_in=1, c_out=1, d_model=8, n_heads=2, d_ff=16, patch_len=8,
        stride=4, dropout=0.0, llm_model=llm_model, llm_path=llm_path, llm_layers=2, llm_dim=None,
        num_tokens=20, prompt_domain=0, prompt_cache=1, ablation="none", seed=2021,
    )
    base.update(overrides)
    return parser_args(**base)


try:
    import pytest
except ImportError:  # the builders work without pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="session")
    def tiny_dirs(tmp_path_factory) -> dict[str, str]:
        """{'LLAMA': folder, 'GPT2': folder, 'BERT': folder, 'GPT2_dropout': folder}, built once."""
        root = tmp_path_factory.mktemp("tiny_backbones")
        dirs = {name: build_tiny(family, root / family) for name, family in FAMILY_OF.items()}
        dirs["GPT2_dropout"] = build_tiny("gpt2", root / "gpt2_dropout", dropout=0.1)
        return dirs
