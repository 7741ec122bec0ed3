"""The run's ``Accelerator``: mixed precision, DeepSpeed ZeRO, processes, trackers.

Everything goes through Accelerate's constructor; nothing here writes Accelerate's shared state.
DeepSpeed is ``Accelerator(deepspeed_plugin=...)`` with the run's DeepSpeed config
(:func:`deepspeed_config`: the file, plus ``gradient_clipping`` from ``--max_grad_norm``, which
Accelerate's ``clip_grad_norm_`` cannot apply under DeepSpeed). On CPU processes (no GPU) started
by ``torchrun``, Accelerate's default would record one process (it picks no backend for DeepSpeed
without a GPU, so every rank would read the whole data set); ``InitProcessGroupKwargs(backend="gloo")``
names the backend, and Accelerate then records the real world size and rank.

A single process started without a launcher (``python run_main.py --use_deepspeed 1``) has no
rendezvous in its environment, and DeepSpeed then falls back to MPI discovery (``import mpi4py``);
:func:`single_process_rendezvous` gives it the one-process rendezvous (the only environment
variables this module writes, and only those absent).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import warnings
from collections.abc import Callable, Mapping

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def single_process_rendezvous(environ: Mapping[str, str],
                              port: Callable[[], int] = free_port) -> dict[str, str]:
    """The rendezvous variables a process started without a launcher lacks: rank 0 of a world of
    1 on 127.0.0.1 at a free port. Only the absent ones; none under ``torchrun`` / ``accelerate
    launch`` (``LOCAL_RANK`` set), which give every process its own."""
    if "LOCAL_RANK" in environ:
        return {}
    wanted = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}
    missing = {k: v for k, v in wanted.items() if k not in environ}
    if "MASTER_PORT" not in environ:
        missing["MASTER_PORT"] = str(port())
    return missing


def deepspeed_config(path: str, max_grad_norm: float) -> dict:
    """The DeepSpeed config of a run: the file at ``path``, with ``gradient_clipping`` set to
    ``--max_grad_norm`` when that is positive. With ``--max_grad_norm 0`` a number in the file is
    kept and an ``"auto"`` becomes 0 (no clipping; Accelerate would fill ``"auto"`` with 1.0)."""
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    if max_grad_norm > 0:
        config["gradient_clipping"] = float(max_grad_norm)
    elif config.get("gradient_clipping", "auto") == "auto":
        config["gradient_clipping"] = 0.0
    return config


def deepspeed_kwargs(cfg) -> dict:
    """``Accelerator`` keywords for ``--use_deepspeed 1`` (none without it). A process started
    without a launcher gets the one-process rendezvous first (:func:`single_process_rendezvous`)."""
    if not cfg.use_deepspeed:
        return {}
    os.environ.update(single_process_rendezvous(os.environ))
    config = deepspeed_config(cfg.deepspeed_config, cfg.max_grad_norm)
    kwargs = {"deepspeed_plugin": DeepSpeedPlugin(hf_ds_config=config)}
    if not torch.cuda.is_available() and launched_distributed():
        kwargs["kwargs_handlers"] = [InitProcessGroupKwargs(backend="gloo")]
    return kwargs


def build_accelerator(cfg) -> Accelerator:
    """The one ``Accelerator`` of a run (all ``--itr`` repetitions share it)."""
    cpu_only = not torch.cuda.is_available() and not cfg.use_deepspeed
    return Accelerator(mixed_precision=mixed_precision(cfg), cpu=cpu_only,
                       gradient_accumulation_steps=cfg.grad_accum,
                       # batches reach a GPU from pinned memory without waiting (the loaders
                       # pin them there: data_provider.data_factory)
                       dataloader_config=DataLoaderConfiguration(
                           use_seedable_sampler=True, non_blocking=torch.cuda.is_available()),
                       **accelerator_kwargs(cfg), **deepspeed_kwargs(cfg))


def distributed_info(acc, model) -> dict:
    """How the run was distributed (recorded in metrics.json)."""
    info = {"type": str(acc.distributed_type).split(".")[-1], "num_processes": acc.num_processes,
            "mixed_precision": acc.mixed_precision, "device": str(acc.device)}
    if model is not None and hasattr(model, "zero_optimization_stage"):  # a DeepSpeed engine
        info.update(zero_stage=model.zero_optimization_stage(), dp_world_size=model.dp_world_size,
                    gradient_clipping=float(model.gradient_clipping()))
    return info
