"""Host <-> device transfers of the fast path that never make the CPU wait for a GPU.

Prompt token ids are made on the host (tokeniser) and used on both sides: on the device for the
embeddings, on the host for the prompt cache's bookkeeping (which stored prefix a batch starts
with, which token ids already have projections). Reading them back from a GPU would wait for
every queued kernel (a device-to-host sync per check); instead the host tensor they were copied
from travels with them:

- :func:`to_device` copies a host tensor to ``device``: on a GPU from pinned memory without
  blocking (the copy is ordered on the stream; PyTorch keeps the pinned block until it is done);
  a no-op on a CPU;
- :func:`with_host_copy` / :func:`host_copy` attach and find that host tensor (a tensor made
  elsewhere is read back once, which on a GPU is a sync; on a CPU it is the tensor itself).
"""
from __future__ import annotations

import torch

_HOST = "_timellm_host_copy"


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` (on the host) on ``device``; asynchronous from pinned memory on CUDA."""
    device = torch.device(device)
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def with_host_copy(on_device: torch.Tensor, host: torch.Tensor) -> torch.Tensor:
    """Mark ``on_device`` as a copy of the host tensor ``host``; returns ``on_device``."""
    setattr(on_device, _HOST, host)
    return on_device


def host_copy(t: torch.Tensor) -> torch.Tensor:
    """The host tensor ``t`` was copied from (:func:`with_host_copy`), else ``t`` on the CPU."""
    host = getattr(t, _HOST, None)
    return host if host is not None else t.cpu()
