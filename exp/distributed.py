"""The run's ``Accelerator``: mixed precision, DeepSpeed ZeRO, processes, trackers.

Everything goes through Accelerate's constructor; nothing here writes environment variables
or Accelerate's shared state. DeepSpeed is ``Accelerator(deepspeed_plugin=...)``. On CPU
processes (no GPU) started by ``torchrun``, Accelerate's default would record one process
(it picks no backend for DeepSpeed without a GPU, so every rank would read the whole data set);
``InitProcessGroupKwargs(backend="gloo")`` names the backend, and Accelerate then records the
real world size and rank.
"""
from __future__ import annotations

import os
import sys
import warnings

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, DeepSpeedPlugin, InitProcessGroupKwargs

from exp.tracking import accelerator_kwargs
from utils import cpu


def mixed_precision(cfg) -> str | None:
    """``--mixed_precision`` wins; ``--use_amp`` means fp16 on a GPU, and bf16 on a CPU that has
    native bf16 (AVX512-BF16 or AMX; elsewhere bf16 is emulated and slower, so fp32 with a note).
    An explicit bf16 on a CPU without it runs as asked, with a warning."""
    on_cpu = not torch.cuda.is_available()
    if cfg.mixed_precision:
        if cfg.mixed_precision == "bf16" and on_cpu and not cpu.native_bf16():
            warnings.warn("--mixed_precision bf16 on a CPU without native bf16 (no avx512_bf16 or "
                          "amx_bf16 flag): PyTorch emulates it, usually slower than fp32",
                          stacklevel=2)
        return cfg.mixed_precision
    if cfg.use_amp:
        if not on_cpu:
            return "fp16"
        if cpu.native_bf16():
            return "bf16"
        print("--use_amp: this CPU has no native bf16 (avx512_bf16 / amx_bf16); training in fp32",
              file=sys.stderr)
        return "no"
    return None  # let `accelerate launch --mixed_precision ...` decide


def launched_distributed() -> bool:
    """True under ``torchrun`` / ``accelerate launch`` with several processes (``LOCAL_RANK`` set),
    the condition under which Accelerate starts DeepSpeed's process group."""
    return int(os.environ.get("LOCAL_RANK", -1)) != -1


def deepspeed_kwargs(cfg) -> dict:
    """``Accelerator`` keywords for ``--use_deepspeed 1`` (none without it)."""
    if not cfg.use_deepspeed:
        return {}
    kwargs = {"deepspeed_plugin": DeepSpeedPlugin(hf_ds_config=cfg.deepspeed_config)}
    if not torch.cuda.is_available() and launched_distributed():
        kwargs["kwargs_handlers"] = [InitProcessGroupKwargs(backend="gloo")]
    return kwargs


def build_accelerator(cfg) -> Accelerator:
    """The one ``Accelerator`` of a run (all ``--itr`` repetitions share it)."""
    cpu_only = not torch.cuda.is_available() and not cfg.use_deepspeed
    return Accelerator(mixed_precision=mixed_precision(cfg), cpu=cpu_only,
                       gradient_accumulation_steps=cfg.grad_accum,
                       dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
                       **accelerator_kwargs(cfg), **deepspeed_kwargs(cfg))


def distributed_info(acc, model) -> dict:
    """How the run was distributed (recorded in metrics.json)."""
    info = {"type": str(acc.distributed_type).split(".")[-1], "num_processes": acc.num_processes,
            "mixed_precision": acc.mixed_precision, "device": str(acc.device)}
    if model is not None and hasattr(model, "zero_optimization_stage"):  # a DeepSpeed engine
        info.update(zero_stage=model.zero_optimization_stage(), dp_world_size=model.dp_world_size)
    return info
