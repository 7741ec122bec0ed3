"""Optimiser construction for the trainer (one place for every model): ``--optimizer``."""
from __future__ import annotations

from typing import Callable

import torch

from utils.errors import unknown_name


def _adam(params, args, fused):
    return torch.optim.Adam(params, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                            weight_decay=args.weight_decay, **fused)


def _adamw(params, args, fused):
    return torch.optim.AdamW(params, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                             weight_decay=args.weight_decay, **fused)


def _sgd(params, args, fused):
    return torch.optim.SGD(params, lr=args.learning_rate, momentum=args.momentum,
                           weight_decay=args.weight_decay, **fused)


def _rmsprop(params, args, fused):
    return torch.optim.RMSprop(params, lr=args.learning_rate, momentum=args.momentum,
                               weight_decay=args.weight_decay)


OPTIMIZERS: dict[str, Callable] = {"adam": _adam, "adamw": _adamw, "sgd": _sgd, "rmsprop": _rmsprop}


def build_optimizer(params, args) -> torch.optim.Optimizer:
    """The ``--optimizer`` (Adam by default, as the reference) over the trainable parameters.

    ``args`` has the parser's optimiser flags (``optimizer``, ``learning_rate``, ``adam_beta1``,
    ``adam_beta2``, ``weight_decay``, ``momentum``) and ``fast_path``/``use_deepspeed``: with
    ``--fast_path 1`` and no DeepSpeed, fused kernels where torch has them (one kernel per step
    instead of several per tensor; the same update); ``--fast_path 0`` keeps the reference's
    plain Adam.
    """
    params = list(params)
    name = str(args.optimizer).lower()
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", args.optimizer, OPTIMIZERS)
    fused = (bool(args.fast_path) and not args.use_deepspeed
             and all(p.dtype.is_floating_point for p in params))
    return OPTIMIZERS[name](params, args, {"fused": True} if fused else {})
