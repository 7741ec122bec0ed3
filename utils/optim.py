"""Optimiser construction for the trainer (one place for every model)."""
from __future__ import annotations

import torch


def build_optimizer(params, args) -> torch.optim.Optimizer:
    """Adam on the trainable parameters, as the reference; fused kernels where torch has them.

    ``fused`` changes no maths (one kernel per step instead of several per tensor); it is
    used on the fast path only, so ``--fast_path 0`` keeps the reference's plain Adam.
    """
    params = list(params)
    fused = bool(getattr(args, "fast_path", 1)) and not getattr(args, "use_deepspeed", 0)
    kwargs = {"fused": True} if fused and all(p.dtype.is_floating_point for p in params) else {}
    return torch.optim.Adam(params, lr=args.learning_rate, **kwargs)
