"""What the CPU offers that changes how a run should compute."""
from __future__ import annotations

import functools
from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16() -> bool:
    """Whether the CPU computes bf16 products in hardware (AVX512-BF16 or AMX); without them
    PyTorch emulates bf16 on the CPU and autocast is usually slower than fp32."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)
