"""What Time-LLM's output head reads, on the fast path: only the positions and channels it uses.

Same tensor as :func:`layers.Reprogramming.head_input` (pure data movement, bit-identical):
the last ``patch_nums`` positions and first ``d_ff`` channels are sliced first, so only they
are converted and copied, instead of the channels of every position (prompt included).
"""
from __future__ import annotations

import torch


def head_input(hidden: torch.Tensor, n_vars: int, patch_nums: int, d_ff: int,
               dtype: torch.dtype) -> torch.Tensor:
    """hidden (B*n_vars, S + P, >= d_ff) -> (B, n_vars, d_ff, P) in ``dtype`` (P = patch_nums)."""
    dec = hidden[:, -patch_nums:, :d_ff].to(dtype)
    return dec.reshape(-1, n_vars, patch_nums, d_ff).permute(0, 1, 3, 2).contiguous()
