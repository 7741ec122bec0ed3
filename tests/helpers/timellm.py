"""Time-LLM's test configurations (tiny and real backbones) and input batches."""
from __future__ import annotations

from argparse import Namespace

import torch

from tests.helpers.args import parser_args


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


def real_configs(llm_model: str, llm_layers: int, **overrides) -> Namespace:
    """A Time-LLM ``configs`` for a real embedded backbone at the paper's ETTh1 sizes (512 in, 96 out)."""
    return tiny_configs(llm_model, None, seq_len=512, pred_len=96, d_model=32, d_ff=128,
                        n_heads=8, patch_len=16, stride=8, llm_layers=llm_layers, num_tokens=1000,
                        dropout=0.1, **overrides)


def series_batch(B=3, T=32, N=1, seed=0) -> torch.Tensor:
    """(B, T, N) random walks around 10, from their own generator (the global seed is untouched)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, N, generator=g).cumsum(dim=1) * 3 + 10
