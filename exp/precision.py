"""The run's number formats beyond mixed precision: the frozen backbone's dtype and TF32.

:func:`backbone_dtype` decides what ``--dtype auto`` (the default) means once the run's mixed
precision is known: under ``bf16`` / ``fp16`` autocast every product of the frozen backbone runs
in that format anyway, so its weights are stored in it (no fp32 copy per rank, no re-cast of every
frozen weight on every call, no half-precision copies kept for backward); otherwise fp32. An
explicit ``--dtype`` always wins. Trainable layers stay fp32 either way.

:func:`set_tf32` is ``--tf32 0|1``: TensorFloat-32 for fp32 products and cuDNN convolutions on
GPUs that have it (Ampere and later). Off by default, so fp32 runs compute in IEEE fp32 and the
fast/plain exactness checks hold on a GPU too. PyTorch 2.9 added per-backend ``fp32_precision``
settings (``"tf32"`` / ``"ieee"``) and deprecates the ``allow_tf32`` switches; the newer API is
used where it exists, the older one otherwise (never both: PyTorch refuses mixing them).
"""
from __future__ import annotations

from types import ModuleType

import torch

AUTO = "auto"
MIXED_TO_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}  # Accelerate's names -> torch's


def backbone_dtype(flag: str | None, mixed_precision: str | None) -> str:
    """The frozen backbone's dtype name for ``--dtype flag`` under ``mixed_precision``
    (Accelerate's ``"no"``, ``"fp16"``, ``"bf16"`` or None): the flag unless it is ``auto``
    (or None), else the mixed-precision format, else ``float32``."""
    if flag not in (None, AUTO):
        return str(flag)
    return MIXED_TO_DTYPE.get(str(mixed_precision), "float32")


def set_tf32(enabled: bool, backends: ModuleType = torch.backends) -> dict[str, object]:
    """Allow (or forbid) TF32 in fp32 matrix products and cuDNN; returns the settings written.

    ``backends`` is ``torch.backends`` (a stand-in in tests). No effect on a CPU.
    """
    if hasattr(backends.cuda.matmul, "fp32_precision"):  # PyTorch >= 2.9
        mode = "tf32" if enabled else "ieee"
        backends.cuda.matmul.fp32_precision = mode
        backends.cudnn.conv.fp32_precision = mode
        return {"cuda.matmul.fp32_precision": mode, "cudnn.conv.fp32_precision": mode}
    backends.cuda.matmul.allow_tf32 = bool(enabled)
    backends.cudnn.allow_tf32 = bool(enabled)
    return {"cuda.matmul.allow_tf32": bool(enabled), "cudnn.allow_tf32": bool(enabled)}
